/**
 * npm run bench:fetch — fetch+verify throughput against a raw HTTP read, on a 1 GiB model.
 *
 * Publishes a 1 GiB random model to a local Azurite, then times (a) one raw single-stream GET of
 * the blob, bytes discarded, and (b) our fetch: resolve, stream to disk with sha256, verify,
 * rename — in a child process so its peak RSS is its own, running the store code exactly as the
 * Dagger step ships it (transpiled JavaScript on plain Node, production packages only). Each is
 * run twice, best kept. (b) fetches without the content cache; a third fetch then fills the cache
 * (each cache entry is an independent copy, so a fetched file can never damage it), and a fourth
 * fetch of the unchanged model counts the model bytes it moves.
 *
 * Prints exactly four lines on stdout (details go to stderr):
 *   ratio: <(a) time / (b) time>                      goal >= 0.8
 *   ratio_filling_cache: <(a) time / third fetch>     the same, while also writing the cache copy
 *   peak_rss_mb: <peak RSS of every fetch>            goal < 200
 *   refetch_bytes: <model bytes>                      goal 0
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { BlobBackend } from "../dagger/src/model-store/blob-backend.js";
import { CLI_LABELS } from "../dagger/src/model-store/cli-args.js";
import { connect } from "../dagger/src/model-store/connect.js";
import { publishModel, readLocalModel } from "../dagger/src/model-store/publish.js";
import { ModelStore } from "../dagger/src/model-store/store.js";
import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "../test/support/azure.js";
import { startAzurite } from "../test/support/azurite.js";
import { buildCliLayout } from "../test/support/model-cli.js";
import { tempDir } from "../test/support/model-fixtures.js";
import { MODEL_JSON_FIELDS } from "../test/support/model-json.js";

/** Model size: 1 GiB unless BENCH_FETCH_MB says otherwise (the test suite runs it small, as a smoke check). */
const SIZE_MB = Number(process.env.BENCH_FETCH_MB ?? 1024);
if (!Number.isInteger(SIZE_MB) || SIZE_MB < 1)
  throw new Error(`BENCH_FETCH_MB must be a whole number of MiB >= 1, got ${process.env.BENCH_FETCH_MB}`);
const SIZE = SIZE_MB * 1024 * 1024;
const NAME = "bench-model";
const VERSION = "1.0.0";

interface ChildConfig {
  accountUrl: string;
  key: string;
  target: string;
  cacheDir?: string;
}

interface ChildResult {
  seconds: number;
  peakRssMb: number;
  downloadedBytes: number;
}

/** (b), as plain JavaScript beside the transpiled store: prints its timing and peak RSS as JSON. */
const CHILD = `
import { BlobBackend } from "./dist/model-store/blob-backend.js";
import { CLI_LABELS } from "./dist/model-store/cli-args.js";
import { connect } from "./dist/model-store/connect.js";
import { fetchModel } from "./dist/model-store/fetch.js";
import { ModelStore } from "./dist/model-store/store.js";
import { parseSelector } from "./dist/model-store/versions.js";
const config = JSON.parse(process.argv[2]);
const started = performance.now();
const store = new ModelStore(new BlobBackend(connect({ container: "models", auth: { accountUrl: config.accountUrl, accountKey: config.key } }, CLI_LABELS, "read")));
const r = await fetchModel(store, await store.resolve(${JSON.stringify(NAME)}, parseSelector(${JSON.stringify(VERSION)})), config.target, { cacheDir: config.cacheDir });
process.stdout.write(JSON.stringify({
  seconds: (performance.now() - started) / 1000,
  peakRssMb: process.resourceUsage().maxRSS / 1024,
  downloadedBytes: r.downloadedBytes,
}) + "\\n");
`;

function runChild(layout: string, config: ChildConfig): Promise<ChildResult> {
  const p = spawn(process.execPath, [join(layout, "bench-child.mjs"), JSON.stringify(config)], {
    cwd: layout,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d));
  return new Promise((res, rej) =>
    p.on("close", (code) => (code === 0 ? res(JSON.parse(out) as ChildResult) : rej(new Error(`fetch child exited with ${code}`)))),
  );
}

/** A 1 GiB random model written in 1 MiB chunks (never held in memory), with its manifest. */
async function writeBigModel(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(join(dir, "model.onnx"));
  const hash = createHash("sha256");
  for (let written = 0; written < SIZE; written += 1024 * 1024) {
    const chunk = randomBytes(1024 * 1024);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
  const manifest = {
    name: NAME,
    version: VERSION,
    files: [{ path: "model.onnx", sha256: hash.digest("hex"), size: SIZE }],
    ...MODEL_JSON_FIELDS,
  };
  writeFileSync(join(dir, "model.json"), JSON.stringify(manifest, null, 2));
}

/** (a): one plain GET, bytes discarded. */
function rawGet(url: string): Promise<number> {
  const started = performance.now();
  return new Promise((res, rej) => {
    get(url, (r) => {
      if (r.statusCode !== 200) return rej(new Error(`raw GET: HTTP ${r.statusCode}`));
      let n = 0;
      r.on("data", (d: Buffer) => (n += d.length));
      r.on("end", () => (n === SIZE ? res((performance.now() - started) / 1000) : rej(new Error(`raw GET: ${n} bytes`))));
      r.on("error", rej);
    }).on("error", rej);
  });
}

/** Dirty pages from the previous step would otherwise be flushed during the next timing. */
function settle(): void {
  execFileSync("sync");
}

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const az = await startAzurite();
  const work = tempDir("bench-fetch-");
  try {
    await az.admin.getContainerClient("models").create();
    log(`writing a ${SIZE_MB} MiB random model...`);
    const modelDir = join(work, "model");
    await writeBigModel(modelDir);
    const store = new ModelStore(
      new BlobBackend(connect({ container: "models", auth: { accountUrl: az.accountUrl, accountKey: az.key } }, CLI_LABELS, "write")),
    );
    const t = performance.now();
    await publishModel(store, await readLocalModel(modelDir));
    log(`published in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    rmSync(modelDir, { recursive: true });
    settle();

    const sas = generateBlobSASQueryParameters(
      {
        containerName: "models",
        blobName: `${NAME}/${VERSION}/model.onnx`,
        permissions: BlobSASPermissions.parse("r"),
        expiresOn: new Date(Date.now() + 3600_000),
      },
      new StorageSharedKeyCredential(az.account, az.key),
    ).toString();
    const blobUrl = `${az.accountUrl}/models/${NAME}/${VERSION}/model.onnx?${sas}`;
    await rawGet(blobUrl); // warm-up: both contenders then read from the same cache state

    const layout = join(work, "cli");
    buildCliLayout(layout);
    writeFileSync(join(layout, "bench-child.mjs"), CHILD);

    const raw: number[] = [];
    const ours: ChildResult[] = [];
    for (let round = 0; round < 2; round++) {
      rmSync(join(work, "fetch"), { recursive: true, force: true });
      settle();
      raw.push(await rawGet(blobUrl));
      ours.push(await runChild(layout, { accountUrl: az.accountUrl, key: az.key, target: join(work, "fetch", "model") }));
      log(
        `round ${round + 1}: raw ${raw.at(-1)!.toFixed(2)} s, fetch+verify ${ours.at(-1)!.seconds.toFixed(2)} s, peak RSS ${ours.at(-1)!.peakRssMb.toFixed(0)} MB`,
      );
    }
    rmSync(join(work, "fetch"), { recursive: true, force: true });
    settle();
    const filling = await runChild(layout, {
      accountUrl: az.accountUrl,
      key: az.key,
      target: join(work, "fetch", "model"),
      cacheDir: join(work, "fetch", "cache"),
    });
    log(`fetch+verify filling the cache: ${filling.seconds.toFixed(2)} s`);
    const refetch = await runChild(layout, {
      accountUrl: az.accountUrl,
      key: az.key,
      target: join(work, "fetch", "model"),
      cacheDir: join(work, "fetch", "cache"),
    });
    log(`refetch: ${refetch.seconds.toFixed(2)} s (local re-verification only)`);

    const bestRaw = Math.min(...raw);
    const best = ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
    log(`raw ${(SIZE / 2 ** 20 / bestRaw).toFixed(0)} MiB/s, fetch+verify ${(SIZE / 2 ** 20 / best.seconds).toFixed(0)} MiB/s`);
    process.stdout.write(`ratio: ${(bestRaw / best.seconds).toFixed(2)}\n`);
    process.stdout.write(`ratio_filling_cache: ${(bestRaw / filling.seconds).toFixed(2)}\n`);
    process.stdout.write(`peak_rss_mb: ${Math.max(...[...ours, filling, refetch].map((o) => o.peakRssMb)).toFixed(0)}\n`);
    process.stdout.write(`refetch_bytes: ${refetch.downloadedBytes}\n`);
  } finally {
    await az.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
