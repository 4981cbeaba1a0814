/**
 * One fixture per validation rule (test/fixtures/k8s/*.yaml): each file says in `# expect:`
 * comments exactly which violations it must produce, and nothing else may come out. Every
 * control of the Pod Security Standards' restricted profile (baseline included) is caught by
 * at least one fixture, and one fixture holds every value the standard allows.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { formatViolation } from "../../dagger/src/kubernetes/documents.js";
import { validateManifests } from "../../dagger/src/kubernetes/validate.js";
import { ROOT } from "../support/session.js";

const DIR = join(ROOT, "test/fixtures/k8s");
const fixtures = readdirSync(DIR)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

function expected(text: string): string[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("# expect: "))
    .map((l) => l.slice("# expect: ".length))
    .filter((l) => l !== "(nothing)");
}

test("there is a fixture for every rule, and each says what it expects", () => {
  assert.ok(fixtures.length >= 60, `only ${fixtures.length} fixtures`);
  for (const f of fixtures) assert.match(readFileSync(join(DIR, f), "utf8"), /^# expect: /m, `${f} has no # expect: line`);
});

/** The controls of the published standard, as kubernetes.io lists them (baseline, then what restricted adds). */
const STANDARD_CONTROLS = [
  "baseline: HostProcess",
  "baseline: Host Namespaces",
  "baseline: Privileged Containers",
  "baseline: Capabilities",
  "baseline: HostPath Volumes",
  "baseline: Host Ports",
  "baseline: Host Probes / Lifecycle Hooks",
  "baseline: AppArmor",
  "baseline: SELinux",
  "baseline: /proc Mount Type",
  "baseline: Seccomp",
  "baseline: Sysctls",
  "restricted: Volume Types",
  "restricted: Privilege Escalation",
  "restricted: Running as Non-root",
  "restricted: Running as Non-root user",
  "restricted: Seccomp",
  "restricted: Capabilities",
];

test("every control of the Pod Security Standards' restricted profile is caught by a fixture that names it", () => {
  const expectations = fixtures.flatMap((f) => expected(readFileSync(join(DIR, f), "utf8")));
  const missing = STANDARD_CONTROLS.filter((c) => !expectations.some((e) => e.endsWith(`[Pod Security Standards, ${c}]`)));
  assert.equal(missing, []);
});

for (const f of fixtures) {
  test(`fixture ${f}`, async () => {
    const text = readFileSync(join(DIR, f), "utf8");
    const got = (await validateManifests([{ path: f, text }])).map(formatViolation);
    assert.equal(got, expected(text));
  });
}

test.run();
