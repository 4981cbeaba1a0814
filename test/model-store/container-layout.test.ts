/**
 * The Dagger steps run the CLI from a copy of package.json + src/model-store + src/credentials
 * with `npm ci --omit=dev`, transpiled by esbuild. Rebuild that layout here (production packages
 * only, taken from the lockfile), run the same transpile command and the same CLI command against
 * Azurite: an import of a dev-only package (the Dagger SDK) or of a file outside those folders
 * fails this test instead of failing in the engine.
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Azurite, startAzurite } from "../support/azurite.js";
import { tempDir, writeModelDir } from "../support/model-fixtures.js";
import { CLI } from "../../dagger/src/model-store/step.js";
import { buildCliLayout } from "../support/model-cli.js";

let az: Azurite;
let layout: string;

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [node, ...cli] = CLI;
  assert.is(node, "node");
  const child = spawn(process.execPath, [...cli, ...args], {
    cwd: layout,
    env: { PATH: process.env.PATH ?? "", HOME: layout, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d));
  child.stderr.on("data", (d: Buffer) => (stderr += d));
  return new Promise((res) => child.on("close", (code) => res({ code, stdout, stderr })));
}

test.before(async () => {
  az = await startAzurite();
  await az.admin.getContainerClient("models").create();
  layout = tempDir("cli-layout-");
  buildCliLayout(layout);
});

test.after(async () => {
  await az?.stop();
  rmSync(layout, { recursive: true, force: true });
});

test("the Dagger SDK is a dev dependency, so it is absent from the layout", () => {
  assert.throws(() => readFileSync(join(layout, "node_modules/@dagger.io/dagger/package.json")));
  readFileSync(join(layout, "node_modules/tsx/package.json")); // runtime dependency: present, with its esbuild
  readFileSync(join(layout, "node_modules/esbuild/package.json"));
});

test("the CLI runs from exactly what the container gets", async () => {
  const help = await run(["--help"], {});
  assert.is(help.code, 0, help.stderr);
  const list = await run(["list", "--account-url", az.accountUrl], { AZURE_STORAGE_KEY: az.key });
  assert.is(list.code, 0, list.stderr);
  assert.match(list.stdout, /digits-classifier in container "models" .*: no versions/);
});

test("model.json's schema is copied beside the transpiled code, and publish checks by it", async () => {
  const schema = "dist/model-store/model.schema.json";
  assert.equal(readFileSync(join(layout, schema)), readFileSync(join(layout, "src/model-store/model.schema.json")), schema);
  const dir = join(layout, "unusable-model");
  writeModelDir(dir, "digits-classifier", "1.0.0", { "model.onnx": "onnx" }, { format: "pickle" });
  const publish = await run(["publish", "--dir", dir, "--account-url", az.accountUrl], { AZURE_STORAGE_KEY: az.key });
  assert.is(publish.code, 1, publish.stdout);
  assert.match(publish.stderr, /format must be "onnx" \(got "pickle"\)/);
});

test.run();
