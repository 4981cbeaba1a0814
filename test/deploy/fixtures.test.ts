/**
 * One fixture per validation rule (test/fixtures/k8s/*.yaml): each file says in `# expect:`
 * comments exactly which violations it must produce, and nothing else may come out.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatViolation } from "../../dagger/src/manifests/documents.js";
import { validateManifests } from "../../dagger/src/manifests/validate.js";
import { ROOT } from "../support/session.js";

const DIR = join(ROOT, "test/fixtures/k8s");
const fixtures = readdirSync(DIR).filter((f) => f.endsWith(".yaml")).sort();

function expected(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("# expect: "))
    .map((l) => l.slice("# expect: ".length))
    .filter((l) => l !== "(nothing)");
}

test("there is a fixture for every rule, and each says what it expects", () => {
  assert.ok(fixtures.length >= 35, `only ${fixtures.length} fixtures`);
  for (const f of fixtures) assert.match(readFileSync(join(DIR, f), "utf8"), /^# expect: /m, `${f} has no # expect: line`);
});

for (const f of fixtures) {
  test(`fixture ${f}`, async () => {
    const text = readFileSync(join(DIR, f), "utf8");
    const got = (await validateManifests([{ path: f, text }])).map(formatViolation);
    assert.equal(got, expected(text));
  });
}

test.run();
