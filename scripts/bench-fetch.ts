/**
 * npm run bench:fetch — fetch+verify throughput against a raw HTTP read, on a 1 GiB model, on each
 * backend in one run: Blob Storage (a local Azurite) and S3 (a local versitygw).
 *
 * Publishes a 1 GiB random model to the server, then times (a) one raw single-stream GET of the
 * object from the same server (SAS-signed on Blob, SigV4-signed on S3), bytes discarded, and
 * (b) our fetch: resolve, stream to disk with sha256, verify,
 * rename — in a child process so its peak RSS is its own, running the store code exactly as the
 * Dagger step ships it (transpiled JavaScript on plain Node, production packages only). Each is
 * run twice, best kept. (b) fetches without the content cache; a third fetch then fills the cache
 * (each cache entry is an independent copy, so a fetched file can never damage it), and a fourth
 * fetch of the unchanged model counts the model bytes it moves.
 *
 * Prints four lines per backend on stdout, Blob's unprefixed, S3's prefixed s3_ (details go to stderr):
 *   ratio: <(a) time / (b) time>                      goal >= 0.8
 *   ratio_filling_cache: <(a) time / third fetch>     the same, while also writing the cache copy
 *   peak_rss_mb: <peak RSS of every fetch>            goal < 200
 *   refetch_bytes: <model bytes>                      goal 0
 * BENCH_FETCH_BACKENDS=s3 (or blob) runs one of them.
 */
import { execFileSync, spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { get } from "node:http";
import { join } from "node:path";
import { BlobBackend } from "../dagger/src/model-store/blob-backend.js";
import { CLI_LABELS, S3_CLI_LABELS } from "../dagger/src/model-store/cli-args.js";
import { connect } from "../dagger/src/model-store/connect.js";
import { publishModel, readLocalModel } from "../dagger/src/model-store/publish.js";
import { ModelStore } from "../dagger/src/model-store/store.js";
import { connectS3 } from "../dagger/src/model-store/s3-connect.js";
import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "../test/support/azure.js";
import { startAzurite } from "../test/support/azurite.js";
import { startS3Server } from "../test/support/s3-server.js";
import { signS3Request } from "../test/support/sigv4.js";
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

/** How the child reaches the store: Blob (account URL and key) or S3 (endpoint, region, keys). */
type Reach =
  | { kind: "blob"; accountUrl: string; key: string }
  | { kind: "s3"; endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };

interface ChildConfig {
  reach: Reach;
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
import { fetchModel } from "./dist/model-store/fetch.js";
import { ModelStore } from "./dist/model-store/store.js";
import { parseSelector } from "./dist/model-store/versions.js";
import { CLI_LABELS, S3_CLI_LABELS } from "./dist/model-store/cli-args.js";
const config = JSON.parse(process.argv[2]);
const started = performance.now();
const r0 = config.reach;
let backend;
if (r0.kind === "blob") {
  const { BlobBackend } = await import("./dist/model-store/blob-backend.js");
  const { connect } = await import("./dist/model-store/connect.js");
  backend = new BlobBackend(connect({ container: "models", auth: { accountUrl: r0.accountUrl, accountKey: r0.key } }, CLI_LABELS, "read"));
} else {
  const { connectS3 } = await import("./dist/model-store/s3-connect.js");
  backend = connectS3({ bucket: "models", region: r0.region, endpoint: r0.endpoint, auth: { accessKeyId: r0.accessKeyId, secretAccessKey: r0.secretAccessKey } }, S3_CLI_LABELS).backend;
}
const store = new ModelStore(backend);
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
function rawGet(url: string, headers: () => Record<string, string> = () => ({})): Promise<number> {
  const started = performance.now();
  return new Promise((res, rej) => {
    get(url, { headers: headers() }, (r) => {
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

/** A server holding the published model, what the raw GET reads, and how the child reaches it. */
interface Bench {
  store: ModelStore;
  rawUrl: string;
  rawHeaders: () => Record<string, string>;
  reach: Reach;
  stop(): Promise<void>;
}

async function blobBench(): Promise<Bench> {
  const az = await startAzurite();
  await az.admin.getContainerClient("models").create();
  const sas = generateBlobSASQueryParameters(
    {
      containerName: "models",
      blobName: `${NAME}/${VERSION}/model.onnx`,
      permissions: BlobSASPermissions.parse("r"),
      expiresOn: new Date(Date.now() + 3600_000),
    },
    new StorageSharedKeyCredential(az.account, az.key),
  ).toString();
  return {
    store: new ModelStore(
      new BlobBackend(connect({ container: "models", auth: { accountUrl: az.accountUrl, accountKey: az.key } }, CLI_LABELS, "write")),
    ),
    rawUrl: `${az.accountUrl}/models/${NAME}/${VERSION}/model.onnx?${sas}`,
    rawHeaders: () => ({}),
    reach: { kind: "blob", accountUrl: az.accountUrl, key: az.key },
    stop: () => az.stop(),
  };
}

async function s3Bench(): Promise<Bench> {
  const s3 = await startS3Server();
  const made = await s3.raw("PUT", "/models");
  if (made.status !== 200) throw new Error(`create bucket: ${made.status} ${made.body}`);
  const reach = {
    kind: "s3",
    endpoint: s3.endpoint,
    region: s3.region,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  } as const;
  const rawUrl = `${s3.endpoint}/models/${NAME}/${VERSION}/model.onnx`;
  return {
    store: new ModelStore(connectS3({ bucket: "models", region: s3.region, endpoint: s3.endpoint, auth: reach }, S3_CLI_LABELS).backend),
    rawUrl,
    // Signed afresh for each read: SigV4 signatures carry the time.
    rawHeaders: () => signS3Request(s3.credentials, "GET", rawUrl),
    reach,
    stop: () => s3.stop(),
  };
}

/** One backend's four figures, each line prefixed with `prefix`. */
async function benchOne(bench: Bench, modelDir: string, work: string, prefix: string, log: (line: string) => void): Promise<void> {
  const t = performance.now();
  await publishModel(bench.store, await readLocalModel(modelDir));
  log(`${prefix || "blob "}published in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  settle();
  await rawGet(bench.rawUrl, bench.rawHeaders); // warm-up: both contenders then read from the same cache state

  const layout = join(work, "cli");
  const raw: number[] = [];
  const ours: ChildResult[] = [];
  const child = (target: string, cacheDir?: string) => runChild(layout, { reach: bench.reach, target, ...(cacheDir ? { cacheDir } : {}) });
  for (let round = 0; round < 2; round++) {
    rmSync(join(work, "fetch"), { recursive: true, force: true });
    settle();
    raw.push(await rawGet(bench.rawUrl, bench.rawHeaders));
    ours.push(await child(join(work, "fetch", "model")));
    log(
      `${prefix}round ${round + 1}: raw ${raw.at(-1)!.toFixed(2)} s, fetch+verify ${ours.at(-1)!.seconds.toFixed(2)} s, peak RSS ${ours.at(-1)!.peakRssMb.toFixed(0)} MB`,
    );
  }
  rmSync(join(work, "fetch"), { recursive: true, force: true });
  settle();
  const filling = await child(join(work, "fetch", "model"), join(work, "fetch", "cache"));
  log(`${prefix}fetch+verify filling the cache: ${filling.seconds.toFixed(2)} s`);
  const refetch = await child(join(work, "fetch", "model"), join(work, "fetch", "cache"));
  log(`${prefix}refetch: ${refetch.seconds.toFixed(2)} s (local re-verification only)`);
  rmSync(join(work, "fetch"), { recursive: true, force: true });

  const bestRaw = Math.min(...raw);
  const best = ours.reduce((a, b) => (b.seconds < a.seconds ? b : a));
  log(`${prefix}raw ${(SIZE / 2 ** 20 / bestRaw).toFixed(0)} MiB/s, fetch+verify ${(SIZE / 2 ** 20 / best.seconds).toFixed(0)} MiB/s`);
  process.stdout.write(`${prefix}ratio: ${(bestRaw / best.seconds).toFixed(2)}\n`);
  process.stdout.write(`${prefix}ratio_filling_cache: ${(bestRaw / filling.seconds).toFixed(2)}\n`);
  process.stdout.write(`${prefix}peak_rss_mb: ${Math.max(...[...ours, filling, refetch].map((o) => o.peakRssMb)).toFixed(0)}\n`);
  process.stdout.write(`${prefix}refetch_bytes: ${refetch.downloadedBytes}\n`);
}

const BACKENDS = (process.env.BENCH_FETCH_BACKENDS ?? "blob,s3").split(",").map((b) => b.trim());
for (const b of BACKENDS) if (b !== "blob" && b !== "s3") throw new Error(`BENCH_FETCH_BACKENDS: ${b} is not blob or s3`);

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const work = tempDir("bench-fetch-");
  try {
    log(`writing a ${SIZE_MB} MiB random model...`);
    const modelDir = join(work, "model");
    await writeBigModel(modelDir);
    buildCliLayout(join(work, "cli"));
    writeFileSync(join(work, "cli", "bench-child.mjs"), CHILD);
    for (const kind of BACKENDS) {
      // One server at a time: each has the machine to itself.
      const bench = kind === "blob" ? await blobBench() : await s3Bench();
      try {
        await benchOne(bench, modelDir, work, kind === "blob" ? "" : "s3_", log);
      } finally {
        await bench.stop();
      }
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
