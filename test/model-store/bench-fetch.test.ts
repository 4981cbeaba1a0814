/**
 * The fetch benchmark still runs and prints its four figures (on a small model: the figures
 * themselves are for `npm run bench:fetch`, not for a test). An unchanged model must cost 0 bytes.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../support/session.js";

test("bench:fetch prints ratio, ratio_filling_cache, peak_rss_mb and refetch_bytes (0 for an unchanged model)", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts/bench-fetch.ts")], {
    cwd: ROOT,
    env: { ...process.env, BENCH_FETCH_MB: "8" },
    encoding: "utf8",
    timeout: 180_000,
  });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 4, r.stdout);
  assert.match(lines[0]!, /^ratio: \d+\.\d{2}$/);
  assert.match(lines[1]!, /^ratio_filling_cache: \d+\.\d{2}$/);
  assert.match(lines[2]!, /^peak_rss_mb: \d+$/);
  assert.is(lines[3], "refetch_bytes: 0");
});

test.run();
