/**
 * The model-store command driven as a person or CI would drive it: separate processes,
 * options in argv, secrets in the environment, output and exit codes checked. Each Blob
 * auth mode (connection string, SAS, account key) runs end to end here; Entra modes in entra-e2e.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "../support/azure.js";
import { Azurite } from "../support/azurite.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { BIN_PATH, runBin, runCli, startCli } from "../support/model-cli.js";
import { randomModel, startStoreSuite, stopStoreSuite, StoreSuite, strayEntries, tempDir } from "../support/model-fixtures.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";

let az: Azurite;
let root: string;
let suite: Partial<StoreSuite> = {};

test.before(async () => {
  suite = await startStoreSuite();
  ({ az, root } = suite as StoreSuite);
});

test.after(() => stopStoreSuite(suite));

const keyEnv = () => ({ HOME: root, AZURE_STORAGE_KEY: az.key });
const at = () => ["--account-url", az.accountUrl];

/** No stack trace, one "error:" line first. */
function assertCleanError(stderr: string): void {
  assert.match(stderr, /^error: /);
  assert.not.match(stderr, /^\s+at /m, `stack trace printed:\n${stderr}`);
}

test("publish, list, fetch, refetch with an account key, as a data scientist would", async () => {
  const dir = randomModel(root, "1.3.0", 50_000);
  const pub = await runCli(["publish", "--dir", dir, "--version", "1.3.0", ...at()], keyEnv());
  assert.is(pub.code, 0, pub.stderr);
  assert.match(
    pub.stdout,
    /^published digits-classifier 1.3.0 to container "models" at http:\/\/127.0.0.1:\d+\/devstoreaccount1: 2 file\(s\), 48.\d+ KiB uploaded, manifest sha256 [0-9a-f]{64}\n$/,
  );

  await az.admin.getContainerClient("models").getBlockBlobClient("digits-classifier/1.4.0/model.onnx").upload("x", 1);
  const list = await runCli(["list", ...at()], keyEnv());
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /1\.4\.0 .*incomplete: no model.json/);
  assert.match(list.stdout, /1\.3\.0 .*complete, latest/);
  const json = JSON.parse((await runCli(["list", "--json", ...at()], keyEnv())).stdout);
  assert.is(json.latest, "1.3.0");
  assert.equal(
    json.versions.map((v: { version: string; complete: boolean }) => [v.version, v.complete]),
    [
      ["1.4.0", false],
      ["1.3.0", true],
    ],
  );

  const out = join(root, "fetched");
  const fetched = await runCli(["fetch", "--out", out, ...at()], keyEnv());
  assert.is(fetched.code, 0, fetched.stderr);
  assert.match(
    fetched.stdout,
    /^fetched digits-classifier 1.3.0 into .*fetched: 2 file\(s\) verified, 48.\d+ KiB downloaded, 0 B reused\n$/,
  );
  assert.ok(readFileSync(join(out, "model.onnx")).equals(readFileSync(join(dir, "model.onnx"))));
  const again = await runCli(["fetch", "--out", out, "--json", ...at()], keyEnv());
  assert.equal(JSON.parse(again.stdout).downloadedBytes, 0);
  assert.ok(existsSync(join(root, ".cache/ai-app-pipeline/models/sha256")), "default content cache under $HOME/.cache");
});

test("publish --create-container sets up a new store; without it a missing container is an error", async () => {
  const dir = randomModel(root, "0.1.0", 100, "fresh");
  const refused = await runCli(["publish", "--dir", dir, "--container", "fresh-store", ...at()], keyEnv());
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /container "fresh-store" .* does not exist/);
  assert.match(refused.stderr, /--create-container/, "the message says publish can create it");
  const created = await runCli(["publish", "--dir", dir, "--container", "fresh-store", "--create-container", ...at()], keyEnv());
  assert.is(created.code, 0, created.stderr);
  assert.match(created.stdout, /published fresh 0.1.0 to container "fresh-store"/);
});

test("connection string and SAS token modes, end to end", async () => {
  await runCli(["publish", "--dir", randomModel(root, "2.0.0", 1000, "modes"), ...at()], keyEnv());
  const cs = await runCli(["resolve", "--name", "modes", "--json"], { HOME: root, AZURE_STORAGE_CONNECTION_STRING: az.connectionString });
  assert.is(cs.code, 0, cs.stderr);
  assert.is(JSON.parse(cs.stdout).version, "2.0.0");
  const token = generateBlobSASQueryParameters(
    { containerName: "models", permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 3600_000) },
    new StorageSharedKeyCredential(az.account, az.key),
  ).toString();
  const out = join(root, "via-sas");
  const viaSas = await runCli(["fetch", "--name", "modes", "--out", out, "--no-cache", ...at()], {
    HOME: root,
    AZURE_STORAGE_SAS_TOKEN: `?${token}`,
  });
  assert.is(viaSas.code, 0, viaSas.stderr);
  assert.ok(existsSync(join(out, "model.json")));
  const publishWithIt = await runCli(["publish", "--dir", randomModel(root, "2.1.0", 10, "modes"), ...at()], {
    HOME: root,
    AZURE_STORAGE_SAS_TOKEN: token,
  });
  assert.is(publishWithIt.code, 1);
  assertCleanError(publishWithIt.stderr);
  assert.match(publishWithIt.stderr, /grants "rl" but publishing also needs write/);
  assert.not.ok(publishWithIt.stderr.includes(token.match(/sig=([^&]+)/)![1]!));
});

test("bad input: one clear line, exit 1 (2 for usage), no secret echoed", async () => {
  const cases: [string[], Record<string, string>, RegExp, number][] = [
    [["list", ...at()], { HOME: root }, /no storage credentials given; give exactly one of/, 1],
    [
      ["list", ...at()],
      { HOME: root, AZURE_STORAGE_KEY: az.key, AZURE_CLIENT_SECRET: "also-a-secret-123" },
      /conflicting storage credentials: account key \(AZURE_STORAGE_KEY\) and Entra ID client secret \(AZURE_CLIENT_SECRET\)/,
      1,
    ],
    [
      ["list", ...at()],
      { HOME: root, AZURE_STORAGE_KEY: Buffer.from("wrong-key-wrong-key-wrong-key-wrong-key").toString("base64") },
      /rejected the account key/,
      1,
    ],
    [["fetch", "--out", join(root, "x"), "--version", "1.2", ...at()], keyEnv(), /not "latest" or a semantic version/, 1],
    [["fetch", "--out", join(root, "x"), "--version", "7.7.7", ...at()], keyEnv(), /has no version 7.7.7/, 1],
    [
      ["fetch", "--out", join(root, "x"), "--version", "1.3.0", "--max-file-size", "1KiB", ...at()],
      keyEnv(),
      /model.onnx is 48.8 KiB, over the maximum file size of 1.00 KiB/,
      1,
    ],
    [["list", "--container", "nope", ...at()], keyEnv(), /container "nope" .* does not exist/, 1],
    [
      ["list", "--account-url", "http://127.0.0.1:1/devstoreaccount1"],
      keyEnv(),
      /cannot reach the storage endpoint http:\/\/127.0.0.1:1\/devstoreaccount1/,
      1,
    ],
    [["publish", "--dir", join(root, "missing")], keyEnv(), /model directory .*missing does not exist/, 1],
    [
      ["list", "--account-key", az.key],
      { HOME: root },
      /--account-key is not accepted: secrets are read from the environment only; set AZURE_STORAGE_KEY/,
      2,
    ],
    [["lsit"], { HOME: root }, /unknown command "lsit"/, 2],
  ];
  for (const [args, env, message, code] of cases) {
    const r = await runCli(args, env);
    assert.is(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assertCleanError(r.stderr);
    assert.match(r.stderr, message);
    for (const secret of [az.key, "also-a-secret-123"])
      assert.not.ok(r.stderr.includes(secret) || r.stdout.includes(secret), `secret echoed by ${args[0]}`);
    assert.is(r.stdout, "");
  }
});

test("SIGTERM during a download: the command stops and leaves no partial directory", async () => {
  await runCli(["publish", "--dir", randomModel(root, "1.0.0", 4 * 1024 * 1024, "interrupted"), ...at()], keyEnv());
  const proxy = await new FaultProxy(az.port).start();
  try {
    proxy.reset({ stallAfterBytes: { bytes: 1024 * 1024, times: 1 } });
    const parent = tempDir("cli-fetch-", root);
    const run = startCli(
      [
        "fetch",
        "--name",
        "interrupted",
        "--out",
        join(parent, "model"),
        "--no-cache",
        "--account-url",
        `http://127.0.0.1:${proxy.port}/${az.account}`,
      ],
      keyEnv(),
    );
    while (proxy.stalls === 0) await new Promise((r) => setTimeout(r, 20));
    run.child.kill("SIGTERM");
    const r = await run.done;
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, /cancelled/);
    assert.equal(strayEntries(parent), []);
    rmSync(parent, { recursive: true });
  } finally {
    await proxy.stop();
  }
});

test("store contents never put a control character on the terminal: no escape sequence, no forged line", async () => {
  const c = az.admin.getContainerClient("models");
  await runCli(["publish", "--dir", randomModel(root, "1.0.0", 100, "forged"), ...at()], keyEnv());
  const forgedLine = "fetched forged 9.9.9 into /models: 1 file(s) verified";
  const files = [
    { path: `model\u001b[32m.onnx`, sha256: "a".repeat(64), size: 1 },
    { path: `model.onnx\n${forgedLine}`, sha256: "a".repeat(64), size: 1 },
    { path: `model\u202e.onnx`, sha256: "a".repeat(64), size: 1 }, // right-to-left override
  ];
  const manifest = JSON.stringify({ name: "forged", version: "2.0.0", files, ...MODEL_JSON_FIELDS });
  await c.getBlockBlobClient("forged/2.0.0/model.json").upload(manifest, manifest.length);
  await c.getBlockBlobClient("forged/\u009b32mOK/model.json").upload("{}", 2); // a folder name with a C1 escape
  const runs = [
    await runCli(["list", "--name", "forged", ...at()], keyEnv()),
    await runCli(["list", "--name", "forged", "--json", ...at()], keyEnv()),
    await runCli(["fetch", "--name", "forged", "--version", "2.0.0", "--out", join(root, "forged-out"), ...at()], keyEnv()),
  ];
  for (const r of runs) {
    for (const text of [r.stdout, r.stderr]) {
      assert.not.match(text.replace(/\n/g, ""), /[\p{Cc}\p{Cf}]/u, `raw control character printed:\n${JSON.stringify(text)}`);
      assert.not.match(text, new RegExp(`^${forgedLine}`, "m"), "a line forged from the manifest");
    }
  }
  assert.match(runs[0]!.stdout, /2\.0\.0 .*invalid: .* \(\+\d+ more, see --json\)\n/, "the table shows the first problem and a count");
  assert.match(runs[0]!.stdout, /ignored \(not semantic versions\): "\\u009b32mOK"/);
  const json = JSON.parse(runs[1]!.stdout);
  assert.equal(json.ignored, ["\u009b32mOK"], "JSON output stays exact once parsed");
  assert.equal([json.versions[0].version, json.versions[0].state, json.versions[0].complete], ["2.0.0", "invalid", false]);
  assert.ok(
    json.versions[0].reason.includes('"model\\u001b[32m.onnx" has control or invisible formatting characters'),
    json.versions[0].reason,
  );
  assert.is(runs[2]!.code, 1);
  assert.match(runs[2]!.stderr, /^error: forged 2.0.0 is invalid and cannot be used: /);
});

test("a multi-line reason (a model.json with many problems) stays on its row, cut to a sane width; --json keeps it whole", async () => {
  await runCli(["publish", "--dir", randomModel(root, "1.0.0", 100, "multiline"), ...at()], keyEnv());
  const files = Array.from({ length: 12 }, (_, i) => ({ path: `part-${i}.bin`, sha256: "not-a-sha", size: -1 }));
  const manifest = JSON.stringify({ name: "multiline", version: "2.0.0", files, ...MODEL_JSON_FIELDS }, null, 2);
  await az.admin.getContainerClient("models").getBlockBlobClient("multiline/2.0.0/model.json").upload(manifest, manifest.length);
  const json = JSON.parse((await runCli(["list", "--model-name", "multiline", "--json", ...at()], keyEnv())).stdout);
  const reason: string = json.versions[0].reason;
  assert.ok(reason.includes("\n") && reason.length > 300, `expected a long multi-line reason, got ${JSON.stringify(reason)}`);
  const r = await runCli(["list", "--model-name", "multiline", ...at()], keyEnv());
  assert.is(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.is(lines.length, 4, `head, column titles and two rows:\n${r.stdout}`);
  assert.match(lines[2]!, /^ {2}2\.0\.0 .* invalid: files\[0\]\.\S+ .* \(\+\d+ more, see --json\)$/);
  assert.match(lines[3]!, /^ {2}1\.0\.0 .* complete, latest$/);
  for (const line of lines.slice(1)) assert.ok(line.length <= 180, `row of ${line.length} characters:\n${line}`);
});

test("help for one command and short usage errors, as a person sees them", async () => {
  const help = await runCli(["fetch", "--help"], { HOME: root });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: ai-app-models fetch --out DIR/);
  assert.match(help.stdout, /Store options:/);
  assert.not.match(help.stdout, /publish --dir/);
  assert.is(help.stderr, "");
  const wrong = await runCli(["list", "--account-name", "mystorage"], { HOME: root });
  assert.is(wrong.code, 2);
  assert.is(wrong.stderr, "error: --account-name: use --account NAME\nrun `ai-app-models list --help` for usage\n");
  assert.is(wrong.stdout, "");
});

/** Progress lines on stderr: "<file> <done>/<total> <pct>% <rate>/s". */
const PROGRESS_LINE = /^(upload|download) model\.onnx [\d.]+ [KMG]?i?B\/[\d.]+ [KMG]?i?B +\d+% +[\d.]+ [KMG]?i?B\/s$/m;

test("progress: on stderr with --progress (throttled, a last line per file), never on stdout; off when stderr is not a terminal", async () => {
  const dir = randomModel(root, "1.0.0", 3 * 1024 * 1024, "progress");
  const pub = await runCli(["publish", "--dir", dir, "--progress", "--json", ...at()], keyEnv());
  assert.is(pub.code, 0, pub.stderr);
  assert.is(JSON.parse(pub.stdout).version, "1.0.0", "stdout is exactly one JSON document");
  assert.match(pub.stderr, PROGRESS_LINE);
  assert.match(pub.stderr, /^upload model\.onnx 3\.00 MiB\/3\.00 MiB +100% /m);
  assert.ok(pub.stderr.trim().split("\n").length <= 10, `throttled:\n${pub.stderr}`);

  const out = join(root, "progress-out");
  const fetched = await runCli(["fetch", "--model-name", "progress", "--out", out, "--no-cache", "--progress", ...at()], keyEnv());
  assert.is(fetched.code, 0, fetched.stderr);
  assert.match(fetched.stderr, /^download model\.onnx 3\.00 MiB\/3\.00 MiB +100% /m);
  assert.match(fetched.stdout, /^fetched progress 1\.0\.0 into .*\n$/);
  assert.not.match(fetched.stdout, /MiB\/s/);

  const quiet = await runCli(["fetch", "--model-name", "progress", "--out", join(root, "quiet"), "--no-cache", ...at()], keyEnv());
  assert.is(quiet.code, 0, quiet.stderr);
  assert.not.match(quiet.stderr, PROGRESS_LINE, "stderr is a pipe here: no progress unless asked");
});

test("npm run model -- ... is wired to the same command", () => {
  const out = execFileSync("npm", ["run", "-s", "model", "--", "--help"], { cwd: resolve(import.meta.dirname, "../.."), encoding: "utf8" });
  assert.match(
    out,
    /^Usage: ai-app-models <command> \[options\]\nIn this repository: \.\/scripts\/ai-app-models\.mjs <command> or npm run -s model -- <command>/,
  );
});

test("the bin (package.json bin -> scripts/ai-app-models.mjs): list --json prints exactly one JSON document on stdout", async () => {
  const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8"));
  assert.is(resolve(import.meta.dirname, "../..", pkg.bin["ai-app-models"]), BIN_PATH);
  const r = await runBin(["list", "--model-name", "progress", "--json", ...at()], keyEnv());
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.is(doc.name, "progress");
  assert.is(doc.latest, "1.0.0");
  const help = await runBin(["publish", "-h"], { HOME: root });
  assert.is(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: ai-app-models publish --dir DIR/);
});

test.run();
