import { test } from "uvu";
import * as assert from "uvu/assert";
import { pytestSummary } from "../../dagger/src/app-image/test.js";
import { tail } from "../../dagger/src/shared/exec.js";

test("picks pytest's closing line", () => {
  assert.is(pytestSummary("....\n12 passed, 1 skipped in 0.52s\n"), "12 passed, 1 skipped in 0.52s");
  assert.is(pytestSummary("x\n===== 2 failed, 3 passed in 1.0s =====\n"), "2 failed, 3 passed in 1.0s");
});

test("tail keeps the end of long output", () => {
  const out = Array.from({ length: 100 }, (_, i) => `line ${i}`).join("\n");
  const t = tail(out, 5).split("\n");
  assert.equal(t, ["...", "line 95", "line 96", "line 97", "line 98", "line 99"]);
});

test.run();
