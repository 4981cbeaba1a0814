import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareSemver, parseSemver, samePrecedence, Semver } from "../../dagger/src/model-store/semver.js";

const order = (vs: string[]) =>
  vs
    .map((v) => parseSemver(v)!)
    .sort(compareSemver)
    .map((s) => s.raw);
function parsed(v: string): Semver {
  const s = parseSemver(v);
  if (!s) throw new Error(`${v} should parse`);
  return s;
}

test("parses valid versions and rejects invalid ones", () => {
  assert.equal(parseSemver("1.2.3-rc.1+build.5")?.prerelease, ["rc", 1]);
  assert.equal(parseSemver("1.2.3-rc.1+build.5")?.build, ["build", "5"]);
  for (const v of ["1.2", "01.2.3", "1.2.3-", "v1.2.3", " 1.2.3", "1.2.3 ", "=1.2.3", "1.2.3.4", "1.0.0-01", "1.0.0+", "latest", ""]) {
    assert.is(parseSemver(v), undefined, v);
  }
});

test("refuses what cannot be ordered reliably: over 256 characters, numbers past 2^53-1", () => {
  const long = `1.0.0-${"a".repeat(251)}`; // 257 characters
  assert.is(parseSemver(long), undefined, "over the 256-character limit");
  assert.ok(parseSemver(long.slice(0, 256)), "exactly 256 characters is fine");
  assert.is(parseSemver("9007199254740992.0.0"), undefined);
  assert.ok(parseSemver("9007199254740991.0.0"));
  // 2^53 and 2^53+1 would compare equal as numbers: such a prerelease identifier is refused.
  assert.is(parseSemver("1.0.0-rc.9007199254740993"), undefined);
  assert.ok(parseSemver("1.0.0-rc.9007199254740991"));
});

test("orders by semver precedence, not by string", () => {
  assert.equal(order(["1.10.0", "1.9.0", "1.0.0-rc.1", "1.0.0", "1.0.0-alpha", "1.0.0-alpha.10", "1.0.0-alpha.2", "1.0.0-beta"]), [
    "1.0.0-alpha",
    "1.0.0-alpha.2",
    "1.0.0-alpha.10",
    "1.0.0-beta",
    "1.0.0-rc.1",
    "1.0.0",
    "1.9.0",
    "1.10.0",
  ]);
});

test("build metadata has no precedence (SemVer §10): 1.0.0+build.1 and 1.0.0+build.2 are one version", () => {
  assert.is(compareSemver(parsed("1.0.0+build.1"), parsed("1.0.0+build.2")), 0);
  assert.ok(samePrecedence(parsed("1.0.0+build.1"), parsed("1.0.0+build.2")));
  assert.ok(samePrecedence(parsed("1.0.0"), parsed("1.0.0+x")));
  assert.not.ok(samePrecedence(parsed("1.0.0-rc.1+x"), parsed("1.0.0+x")));
});

/** Versions around every edge of the rule; the store, the trainer and the app must agree on each. */
const SHARED_CASES = [
  "1.0.0",
  "1.0.0+build.1",
  "1.0.0+build.2",
  "1.0.0-alpha",
  "1.0.0-alpha.1",
  "1.0.0-alpha.beta",
  "1.0.0-beta.2",
  "1.0.0-beta.11",
  "1.0.0-rc.1",
  "1.0.0-rc.1+b",
  "1.9.0",
  "1.10.0",
  "2.0.0-0",
  "2.0.0-a-b",
  "9007199254740991.0.0",
  "1.0.0-rc.9007199254740991",
  `1.0.0-${"a".repeat(250)}`,
  "1.0.0+01",
  "v1.0.0",
  " 1.0.0",
  "1.0.0\n",
  "=1.0.0",
  "1.0",
  "01.0.0",
  "1.0.0-01",
  "1.0.0-",
  "1.0.0+",
  "1.0.0-rc..1",
  "9007199254740992.0.0",
  "1.0.0-rc.9007199254740992",
  `1.0.0-${"a".repeat(251)}`,
  "\u0661.0.0",
  "1.0.0-\u00e9",
];

/** For each Python implementation: which cases are valid, and the sign of each pairwise comparison. */
const PYTHON_SIDE = `
import json, sys
sys.path[:0] = ["model", "app"]
import train
from scoring.contract import semver_precedence as app_rule
cases = json.load(sys.stdin)
out = {}
for name, rule in (("trainer", train.semver_precedence), ("app", app_rule)):
    keys = [rule(v) for v in cases]
    signs = [[(a > b) - (a < b) if a is not None and b is not None else None for b in keys] for a in keys]
    out[name] = {"valid": [k is not None for k in keys], "signs": signs}
print(json.dumps(out))
`;

test("the trainer and the app apply the store's rule: same valid versions, same order, build metadata ignored", () => {
  const root = join(import.meta.dirname, "../..");
  const python = execFileSync(join(root, ".venv/bin/python"), ["-c", PYTHON_SIDE], {
    cwd: root,
    input: JSON.stringify(SHARED_CASES),
    encoding: "utf8",
  });
  const sides = JSON.parse(python) as Record<string, { valid: boolean[]; signs: (number | null)[][] }>;
  const parsedCases = SHARED_CASES.map((v) => parseSemver(v));
  const valid = parsedCases.map((p) => p !== undefined);
  assert.ok(valid.includes(true) && valid.includes(false), "the cases cover both verdicts");
  for (const [side, { valid: theirs, signs }] of Object.entries(sides)) {
    SHARED_CASES.forEach((v, i) => assert.is(theirs[i], valid[i], `${side} on ${JSON.stringify(v)}`));
    parsedCases.forEach((a, i) =>
      parsedCases.forEach((b, j) => {
        if (a && b) assert.is(signs[i]![j], Math.sign(compareSemver(a, b)), `${side}: ${a.raw} vs ${b.raw}`);
      }),
    );
  }
});

test.run();
