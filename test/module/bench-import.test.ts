/** `npm run bench:import` still runs and prints its figures (one run here; the figures come from the benchmark). */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../support/session.js";

test("bench:import prints module, sdk and own import times", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts/bench-import.ts")], {
    cwd: ROOT,
    env: { ...process.env, BENCH_IMPORT_RUNS: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.is(r.status, 0, r.stderr);
  const names = r.stdout
    .trim()
    .split("\n")
    .map((l) => /^([a-z_]+): \d+(\.\d+)?$/.exec(l)?.[1]);
  assert.equal(names, ["module_import_ms", "sdk_import_ms", "module_own_import_ms", "module_vs_sdk_ratio"]);
});

test.run();
