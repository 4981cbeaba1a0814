/**
 * The fetch benchmark still runs and prints its four figures for each backend, Blob Storage's and
 * S3's (on a small model: the figures themselves are for `npm run bench:fetch`, not for a test).
 * An unchanged model must cost 0 bytes on both.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "../support/session.js";

test("bench:fetch prints ratio, ratio_filling_cache, peak_rss_mb and refetch_bytes (0 for an unchanged model) for Blob, then for S3", () => {
  const r = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts/bench-fetch.ts")], {
    cwd: ROOT,
    env: { ...process.env, BENCH_FETCH_MB: "8" },
    encoding: "utf8",
    timeout: 360_000,
  });
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.is(lines.length, 8, r.stdout);
  for (const [i, prefix] of ["", "s3_"].entries()) {
    const [ratio, filling, rss, refetch] = lines.slice(i * 4, i * 4 + 4);
    assert.match(ratio!, new RegExp(`^${prefix}ratio: \\d+\\.\\d{2}$`));
    assert.match(filling!, new RegExp(`^${prefix}ratio_filling_cache: \\d+\\.\\d{2}$`));
    assert.match(rss!, new RegExp(`^${prefix}peak_rss_mb: \\d+$`));
    assert.is(refetch, `${prefix}refetch_bytes: 0`);
  }
});

test.run();
