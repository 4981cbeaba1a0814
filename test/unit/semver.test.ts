import { test } from "uvu";
import * as assert from "uvu/assert";
import { compareSemver, parseSemver } from "../../dagger/src/model-store/semver.js";

const order = (vs: string[]) => vs.map((v) => parseSemver(v)!).sort(compareSemver).map((s) => s.raw);

test("parses valid versions and rejects invalid ones", () => {
  assert.equal(parseSemver("1.2.3-rc.1+build.5")?.prerelease, ["rc", "1"]);
  for (const v of ["1.2", "01.2.3", "1.2.3-", "v1.2.3", "1.2.3.4", "latest", ""]) assert.is(parseSemver(v), undefined, v);
});

test("orders by semver precedence, not by string", () => {
  assert.equal(order(["1.10.0", "1.9.0", "1.0.0-rc.1", "1.0.0", "1.0.0-alpha", "1.0.0-alpha.10", "1.0.0-alpha.2", "1.0.0-beta"]), [
    "1.0.0-alpha", "1.0.0-alpha.2", "1.0.0-alpha.10", "1.0.0-beta", "1.0.0-rc.1", "1.0.0", "1.9.0", "1.10.0",
  ]);
});

test.run();
