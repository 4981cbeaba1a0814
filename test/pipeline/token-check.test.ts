/** How long each function needs its tokens to stay valid (pipeline/token-check.ts). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CHANGE_FLOOR_MS, START_MS, TOKEN_USES } from "../../dagger/src/pipeline/token-check.js";
import { releaseOptions } from "../../dagger/src/pipeline/release-report.js";

const MIN = 60_000;
const options = (o: { strategy?: string; pause?: boolean; analysisWindow?: string } = {}) =>
  releaseOptions({
    strategy: o.strategy ?? "rolling",
    canaryPercent: 10,
    analysisWindow: o.analysisWindow ?? "2m",
    analysisInterval: "30s",
    maxFailures: 0,
    maxRestarts: 0,
    pause: o.pause ?? false,
  });

test("reads need a token for their first requests; changes for their longest path, at least 20 minutes", () => {
  for (const use of [TOKEN_USES.status(), TOKEN_USES.releases(), TOKEN_USES.diff()]) assert.is(use.cluster?.ms, START_MS);
  assert.is(TOKEN_USES.imageDigest().registry?.ms, START_MS);
  assert.is(START_MS, 2 * MIN);
  assert.is(CHANGE_FLOOR_MS, 20 * MIN);
  assert.is(TOKEN_USES.deploy("5m").cluster?.ms, 20 * MIN, "rollout and undo, 5 min each, 5 to spare: under the floor");
  assert.is(TOKEN_USES.deploy("30m").cluster?.ms, 65 * MIN);
  assert.is(TOKEN_USES.deploy("90s").cluster?.ms, 20 * MIN);
  assert.is(TOKEN_USES.abort().cluster?.ms, 20 * MIN);
  assert.is(TOKEN_USES.promote("20m", false).cluster?.ms, 45 * MIN);
  assert.is(TOKEN_USES.rollback("10m", false).cluster?.ms, 28 * MIN, "rollout, smoke pod start, undo");
  assert.match(TOKEN_USES.deploy("30m").cluster!.why, "deploy can take up to 65 min (rollout 30 min, undo 30 min, 5 min for the rest)");
  assert.match(TOKEN_USES.deploy("5m").cluster!.why, "; never less than 20 min");
});

test("release: the registry at the start; the cluster, and the store for --mark-alias, for the whole release", () => {
  const rolling = TOKEN_USES.release("5m", options(), true, false);
  assert.is(rolling.registry?.ms, START_MS);
  assert.is(rolling.cluster?.ms, 20 * MIN, "5 + 3 + 5 + 5 = 18 min, under the floor");
  assert.is(rolling.store, rolling.cluster);
  assert.is(TOKEN_USES.release("5m", options(), false, false).store, undefined, "without --mark-alias the store is not used");
  assert.is(TOKEN_USES.release("15m", options(), false, false).cluster?.ms, 38 * MIN);
  const canary = TOKEN_USES.release("5m", options({ strategy: "canary" }), false, false).cluster!;
  assert.is(canary.ms, 25 * MIN, "canary 5, analysis 2, smoke pod 3, promotion 5, undo 5, spare 5");
  assert.match(
    canary.why,
    "release --strategy canary can take up to 25 min (canary rollout 5 min, analysis 2 min, smoke pod start 3 min, promotion 5 min, undo 5 min",
  );
  assert.is(
    TOKEN_USES.release("10m", options({ strategy: "canary", pause: true, analysisWindow: "30m" }), false, false).cluster?.ms,
    48 * MIN,
  );
  const dry = TOKEN_USES.release("5m", options(), true, true);
  assert.equal([dry.cluster?.ms, dry.store], [START_MS, undefined], "a dry run reads and diffs, and moves no alias");
});

test("ci and publish: the store's token is used first; the registry's until the push", () => {
  assert.equal([TOKEN_USES.ci(true).store?.ms, TOKEN_USES.ci(true).registry?.ms], [START_MS, 20 * MIN]);
  assert.is(TOKEN_USES.ci(false).store, undefined);
  assert.equal([TOKEN_USES.publish(true).store?.ms, TOKEN_USES.publish(true).registry?.ms], [START_MS, 20 * MIN]);
});

test("a bad --timeout is refused as the step would refuse it, before any token is read", () => {
  assert.throws(() => TOKEN_USES.deploy("soon"), /timeout "soon" is not a duration/);
  assert.throws(() => TOKEN_USES.release("5", options(), false, false), /timeout "5" is not a duration/);
});

test.run();
