/**
 * The layering check (.dependency-cruiser.cjs, run by `npm test`): the module's tree passes, and a
 * copy with one import running up the layers, or one cycle, fails it. So the check can fail.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, cpSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../support/session.js";
import { tempDir } from "../support/temp.js";

function cruise(cwd: string) {
  const bin = join(ROOT, "node_modules/.bin/depcruise");
  return spawnSync(bin, ["--config", join(ROOT, ".dependency-cruiser.cjs"), "dagger/src"], { cwd, encoding: "utf8", timeout: 120_000 });
}

function copyOfModule(): string {
  const dir = tempDir("layers-");
  cpSync(join(ROOT, "dagger/src"), join(dir, "dagger/src"), { recursive: true });
  cpSync(join(ROOT, "dagger/tsconfig.json"), join(dir, "dagger/tsconfig.json"));
  return dir;
}

test("the module's imports run one way, with no cycle", () => {
  const r = cruise(ROOT);
  assert.is(r.status, 0, r.stdout + r.stderr);
});

test("a capability importing the pipeline is refused", () => {
  const dir = copyOfModule();
  appendFileSync(join(dir, "dagger/src/kubernetes/k3s.ts"), '\nimport "../pipeline/ci.js";\n');
  const r = cruise(dir);
  assert.is.not(r.status, 0);
  assert.match(r.stdout, "capabilities-do-not-import-the-pipeline");
});

test("a shared helper importing a capability, and the cycle it closes, are refused", () => {
  const dir = copyOfModule();
  appendFileSync(join(dir, "dagger/src/shared/exec.ts"), '\nimport "../app-image/test.js";\n');
  const r = cruise(dir);
  assert.is.not(r.status, 0);
  assert.match(r.stdout, "shared-helpers-stay-at-the-bottom");
  assert.match(r.stdout, "no-cycles");
});

test.run();
