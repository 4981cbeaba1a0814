/**
 * The release ledger as pure functions: entries kept once per release id and bounded, what a
 * ConfigMap holds, the optimistic-concurrency write (create, conditional replace, retry on
 * Conflict/AlreadyExists, a bound on retries), and the rollback choice.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { KubectlResult } from "../../dagger/src/kubernetes/decide.js";
import {
  approvedCanary,
  chooseRollback,
  DEFAULT_LEDGER_SIZE,
  KEPT_GOOD_RELEASES,
  LedgerEntry,
  ledgerConfigMap,
  LedgerPlan,
  parseEntries,
  parseLedgerRead,
  runLedger,
  untrustedImage,
  upsertEntry,
} from "../../dagger/src/release/ledger.js";
import { ledgerChange, ledgerEntry } from "../../dagger/src/pipeline/release-ledger.js";

const img = (c: string) => `myacr.azurecr.io/ai-app@sha256:${c.repeat(64)}`;
const entry = (id: string, over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  id,
  time: "2026-01-01T00:00:00Z",
  strategy: "rolling",
  outcome: "succeeded",
  image: img("a"),
  modelName: "digits-classifier",
  modelVersion: "1.0.0",
  modelSha256: "d".repeat(64),
  revision: "0123456789abcdef",
  deploymentRevision: "3",
  detail: "",
  ...over,
});
const ok = (stdout = ""): KubectlResult => ({ exitCode: 0, stdout, stderr: "" });
const CONFLICT: KubectlResult = {
  exitCode: 1,
  stdout: "",
  stderr:
    'Error from server (Conflict): error when replacing "/run/ai-app-pipeline/ledger.json": Operation cannot be fulfilled on configmaps "ai-app-releases": the object has been modified; please apply your changes to the latest version and try again',
};
const EXISTS: KubectlResult = {
  exitCode: 1,
  stdout: "",
  stderr: 'Error from server (AlreadyExists): error when creating "x": configmaps "ai-app-releases" already exists',
};

/** `kubectl get configmap/... deployment/... -o json` as kubectl prints two objects. */
function readOutput(entries: LedgerEntry[] | undefined, resourceVersion = "7", revision = "4", image = img("b")): string {
  const items: unknown[] = [];
  if (entries)
    items.push({
      kind: "ConfigMap",
      metadata: { name: "ai-app-releases", resourceVersion },
      data: { "releases.json": JSON.stringify(entries) },
    });
  items.push({
    kind: "Deployment",
    metadata: { name: "ai-app", annotations: { "deployment.kubernetes.io/revision": revision } },
    spec: { template: { spec: { containers: [{ name: "app", image }] } } },
  });
  return JSON.stringify({ kind: "List", apiVersion: "v1", items });
}

test("entries: one per release id (a later write replaces it in place), the newest N kept", () => {
  let l: LedgerEntry[] = [];
  for (const id of ["a", "b", "c"]) l = upsertEntry(l, entry(id), 2);
  assert.equal(
    l.map((e) => e.id),
    ["b", "c"],
  );
  l = upsertEntry(l, entry("b", { outcome: "aborted" }), 2);
  assert.equal(
    l.map((e) => `${e.id}:${e.outcome}`),
    ["b:aborted", "c:succeeded"],
  );
  assert.throws(() => upsertEntry(l, entry("d"), 0), /at least 1 entry/);
});

test("cleanup and failed attempts never push the good releases out: the newest good ones stay however many others follow", () => {
  let l: LedgerEntry[] = [entry("g1", { image: img("a") }), entry("g2", { image: img("b") })];
  for (let i = 0; i < 3 * DEFAULT_LEDGER_SIZE; i++)
    l = upsertEntry(l, entry(`x${i}`, { strategy: "canary", outcome: i % 2 ? "interrupted" : "failed", image: img("c") }));
  assert.is(l.length, DEFAULT_LEDGER_SIZE);
  assert.equal(
    l.slice(0, 2).map((e) => e.id),
    ["g1", "g2"],
  );
  assert.is(l.at(-1)!.id, `x${3 * DEFAULT_LEDGER_SIZE - 1}`, "the newest attempt is kept too");
  assert.is((chooseRollback(l, img("b")) as { entry: LedgerEntry }).entry.id, "g1");
  // only the newest KEPT_GOOD_RELEASES good ones are held back; older ones age out as before
  let many: LedgerEntry[] = [];
  for (let i = 0; i < KEPT_GOOD_RELEASES + 3; i++) many = upsertEntry(many, entry(`g${i}`));
  for (let i = 0; i < 2 * DEFAULT_LEDGER_SIZE; i++) many = upsertEntry(many, entry(`f${i}`, { outcome: "failed" }));
  assert.equal(
    many.filter((e) => e.outcome === "succeeded").map((e) => e.id),
    ["g3", "g4", "g5", "g6", "g7"],
  );
});

test("a canary's label ties it to its own entry only: promote/abort checks, and a release's cleanup never rewrites another release's entry", () => {
  const paused = entry("r9", { strategy: "canary", outcome: "paused", image: img("c") });
  const live = { releaseId: "r9", image: img("c") };
  assert.equal(approvedCanary(live, [paused], "r9", true), { entry: paused });
  assert.equal(approvedCanary(live, [paused], `sha256:${"c".repeat(64)}`, true), { entry: paused });
  assert.match((approvedCanary(live, [paused], "r8", true) as { error: string }).error, "is release r9 (");
  assert.match((approvedCanary({ ...live, image: img("d") }, [paused], "r9", true) as { error: string }).error, "no canary entry r9");
  assert.match((approvedCanary(live, [{ ...paused, strategy: "rolling" }], "r9", true) as { error: string }).error, "no canary entry r9");
  assert.equal(approvedCanary(live, [], "r9", false), {}, "abort needs no entry");

  // release r10 found a canary labelled with good release 1's id: entry 1 stays as it was
  const good = entry("1", { image: img("a") });
  const change = ledgerChange(ledgerEntry("r10", "rolling", "succeeded", img("b"), {}, "ok"), [
    { name: "ai-app-canary", releaseId: "1", image: img("c") },
  ]);
  const after = change({ exists: true, entries: [good], deploymentRevision: "4", image: img("a") });
  assert.equal(after[0], good);
  assert.equal(
    after.slice(1).map((e) => [e.outcome, e.image, e.id === "1"]),
    [
      ["interrupted", img("c"), false],
      ["succeeded", img("b"), false],
    ],
  );
  // its own paused entry becomes aborted
  const own = ledgerChange(ledgerEntry("r10", "rolling", "succeeded", img("b"), {}, "ok"), [
    { name: "ai-app-canary", releaseId: "r9", image: img("c") },
  ]);
  assert.equal(own({ exists: true, entries: [paused], deploymentRevision: "4", image: img("a") })[0]!.outcome, "aborted");
});

test("rollback only trusts images of the configured registry and repository, by digest", () => {
  assert.is(untrustedImage(img("a"), "myacr.azurecr.io", "ai-app"), "");
  assert.is(untrustedImage(img("a"), "MyAcr.azurecr.io", "ai-app"), "");
  for (const bad of [
    `evil.example.com/x@sha256:${"a".repeat(64)}`,
    `myacr.azurecr.io/ai-app-evil@sha256:${"a".repeat(64)}`,
    `myacr.azurecr.io.evil.com/ai-app@sha256:${"a".repeat(64)}`,
    "myacr.azurecr.io/ai-app:main",
    `myacr.azurecr.io/ai-app@sha256:${"a".repeat(63)}`,
  ])
    assert.match(untrustedImage(bad, "myacr.azurecr.io", "ai-app"), "is not an image of myacr.azurecr.io/ai-app by digest", bad);
  const l = [entry("1", { image: img("a") }), entry("2", { image: `evil.example.com/x@sha256:${"e".repeat(64)}` })];
  const distrust = (e: LedgerEntry) => untrustedImage(e.image, "myacr.azurecr.io", "ai-app");
  const choice = chooseRollback(l, img("b"), undefined, distrust) as { entry: LedgerEntry; skipped: string[] };
  assert.is(choice.entry.id, "1");
  assert.match(choice.skipped.join(), "release 2: evil.example.com");
});

test("what the ConfigMap holds: the entries as JSON under releases.json; anything else is refused with what is wrong", () => {
  const cm = JSON.parse(ledgerConfigMap("ai-app-releases", "prod", [entry("a")], "7")) as {
    metadata: { resourceVersion: string; namespace: string };
    data: Record<string, string>;
  };
  assert.equal([cm.metadata.resourceVersion, cm.metadata.namespace], ["7", "prod"]);
  assert.equal(parseEntries(cm.data["releases.json"]!), [entry("a")]);
  assert.not.ok(
    "resourceVersion" in (JSON.parse(ledgerConfigMap("x", "prod", [])) as { metadata: object }).metadata,
    "create carries none",
  );
  assert.throws(() => parseEntries("{"), /not JSON/);
  assert.throws(() => parseEntries("{}"), /not a JSON array/);
  assert.throws(() => parseEntries('[{"id": "a"}]'), /entry 1 .* lacks time, strategy/);
  const r = parseLedgerRead(readOutput([entry("a")]), "ai-app-releases");
  assert.equal([r.exists, r.resourceVersion, r.deploymentRevision, r.image, r.entries.length], [true, "7", "4", img("b"), 1]);
  assert.equal(parseLedgerRead("", "ai-app-releases"), { exists: false, entries: [], deploymentRevision: "", image: "" });
});

const plan = (add: LedgerEntry): LedgerPlan => ({
  namespace: "prod",
  configMap: "ai-app-releases",
  deployment: "ai-app",
  change: (read) => upsertEntry(read.entries, { ...add, deploymentRevision: read.deploymentRevision }),
});

test("write: create when absent, conditional replace with the resourceVersion read when present", async () => {
  const created = await runLedger(plan(entry("r1")), async (c) => (c.run === "read" ? ok(readOutput(undefined)) : ok()));
  assert.equal(
    created.history.map((h) => h.step),
    ["read", "create"],
  );
  assert.ok(created.outcome.ok);
  const files: string[] = [];
  const replaced = await runLedger(plan(entry("r2")), async (c) => {
    files.push(...Object.values(c.files ?? {}));
    return c.run === "read" ? ok(readOutput([entry("r1")])) : ok();
  });
  assert.equal(
    replaced.history.map((h) => h.step),
    ["read", "replace"],
  );
  const written = JSON.parse(files[0]!) as { metadata: { resourceVersion: string }; data: Record<string, string> };
  assert.is(written.metadata.resourceVersion, "7", "replace is conditional on what was read");
  assert.equal(
    parseEntries(written.data["releases.json"]!).map((e) => [e.id, e.deploymentRevision]),
    [
      ["r1", "3"],
      ["r2", "4"],
    ],
  );
  assert.equal(
    replaced.outcome.entries.map((e) => e.id),
    ["r1", "r2"],
  );
});

test("write: a Conflict or AlreadyExists re-reads and re-applies the change, so neither writer's entry is lost; retries are bounded", async () => {
  // Another release wrote r0 between our read and our replace.
  let reads = 0;
  const written: string[] = [];
  const raced = await runLedger(plan(entry("r2")), async (c) => {
    if (c.run === "read") return ok(readOutput(++reads === 1 ? [entry("r1")] : [entry("r1"), entry("r0")], String(6 + reads)));
    written.push(...Object.values(c.files ?? {}));
    return written.length === 1 ? CONFLICT : ok();
  });
  assert.equal(
    raced.history.map((h) => h.step),
    ["read", "replace", "read", "replace"],
  );
  assert.ok(raced.outcome.ok, raced.outcome.message);
  assert.match(raced.outcome.message, "after 1 concurrent write(s)");
  const last = JSON.parse(written.at(-1)!) as { metadata: { resourceVersion: string }; data: Record<string, string> };
  assert.is(last.metadata.resourceVersion, "8");
  assert.equal(
    parseEntries(last.data["releases.json"]!).map((e) => e.id),
    ["r1", "r0", "r2"],
  );
  // Both created the ConfigMap at once: the loser reads again and replaces.
  const both = await runLedger(plan(entry("r2")), async (c) =>
    c.run === "read" ? ok(readOutput(reads++ % 2 ? [entry("r1")] : undefined)) : c.run === "create" ? EXISTS : ok(),
  );
  assert.equal(
    both.history.map((h) => h.step),
    ["read", "create", "read", "replace"],
  );
  // Always losing: give up after maxAttempts reads, saying so.
  const never = await runLedger({ ...plan(entry("r2")), maxAttempts: 3 }, async (c) => (c.run === "read" ? ok(readOutput([])) : CONFLICT));
  assert.is(never.history.filter((h) => h.step === "read").length, 3);
  assert.not.ok(never.outcome.ok);
  assert.match(never.outcome.message, "kept changing under us: gave up after 3 attempts");
  // A ConfigMap that is not ours is never overwritten.
  const foreign = await runLedger(plan(entry("r2")), async () =>
    ok(
      JSON.stringify({
        kind: "ConfigMap",
        metadata: { name: "ai-app-releases", resourceVersion: "1" },
        data: { "releases.json": "hello" },
      }),
    ),
  );
  assert.equal(
    foreign.history.map((h) => h.step),
    ["read"],
  );
  assert.match(foreign.outcome.message, "is not a ledger this pipeline can read, so it was left as it is");
});

test("a second rollback does not roll forward: the image a rollback left is never chosen, unless released again since", () => {
  const l = [
    entry("1", { image: img("a") }),
    entry("2", { image: img("b") }),
    entry("3", { image: img("a"), strategy: "rollback", rolledBackFrom: img("b") }),
  ];
  // a runs (rolled back to); b was rolled back from: nothing earlier is left to go back to
  assert.match((chooseRollback(l, img("a")) as { error: string }).error, "no earlier good release");
  const withC = [entry("0", { image: img("c") }), ...l];
  assert.is((chooseRollback(withC, img("a")) as { entry: LedgerEntry }).entry.id, "0", "past b, to the release before it");
  const reReleased = [...l, entry("4", { image: img("b") })];
  assert.is((chooseRollback(reReleased, img("c")) as { entry: LedgerEntry }).entry.id, "4", "b released again after the rollback");
  // the field survives the ConfigMap round trip; old entries without it still parse
  const back = parseEntries(JSON.stringify(l));
  assert.is(back[2]!.rolledBackFrom, img("b"));
  assert.is(back[0]!.rolledBackFrom, undefined);
  assert.throws(() => parseEntries(JSON.stringify([{ ...l[2], rolledBackFrom: 7 }])), /rolledBackFrom that is not a string/);
});

test("rollback choice: the newest good release not running now, or a given digest from the ledger", () => {
  const l = [
    entry("1", { image: img("a") }),
    entry("2", { image: img("b") }),
    entry("3", { image: img("c"), outcome: "failed" }),
    entry("4", { image: img("d"), strategy: "canary", outcome: "aborted" }),
  ];
  assert.is((chooseRollback(l, img("b")) as { entry: LedgerEntry }).entry.id, "1", "b runs now: go back to a");
  assert.is((chooseRollback(l, img("c")) as { entry: LedgerEntry }).entry.id, "2", "failed and aborted releases are never chosen");
  assert.is((chooseRollback(l, img("b"), `sha256:${"a".repeat(64)}`) as { entry: LedgerEntry }).entry.id, "1");
  assert.is((chooseRollback(l, img("b"), img("a")) as { entry: LedgerEntry }).entry.id, "1", "a digest reference works too");
  assert.match((chooseRollback(l, img("b"), `sha256:${"c".repeat(64)}`) as { error: string }).error, "is not a good release in the ledger");
  assert.match((chooseRollback(l, img("b"), "latest") as { error: string }).error, "is not a digest");
  assert.match((chooseRollback([entry("1", { image: img("a") })], img("a")) as { error: string }).error, "no earlier good release");
});

test.run();
