/**
 * Canary, promote, abort, ledger and rollback with every command run by the real kubectl against
 * the stand-in API server (test/support/fake-apiserver.ts): nothing scripted. Scenario checks:
 * after a failed canary the stable's digest is unchanged and no canary object remains; after a
 * pass and promote the stable runs the new digest; a canary left by an interrupted run is removed
 * first; the ledger holds each attempt once, also when two writers race; rollback restores the
 * previous digest. The stand-in is not Kubernetes: no controllers, pods appear as the state says.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { analysisThresholds, CanaryPlan, runAbort, runCanary, runPromote } from "../../dagger/src/release/canary.js";
import { renderCanary } from "../../dagger/src/release/canary-manifest.js";
import { PATHS, STEP_FILES, targetFlags } from "../../dagger/src/kubernetes/commands.js";
import { DeployPlan, KubectlResult, runDeploy } from "../../dagger/src/kubernetes/decide.js";
import { chooseRollback, LedgerEntry, ledgerName, parseEntries, runLedger, upsertEntry } from "../../dagger/src/release/ledger.js";
import { smokeTestArgs } from "../../dagger/src/kubernetes/smoke.js";
import { ApiState, FakeApiServer, PodRun } from "../support/fake-apiserver.js";
import { IMAGE, MODEL, renderShipped, writeTemp } from "../support/kubernetes.js";
import { tempDir } from "../support/temp.js";

const NS = "ai-app";
const T = { namespace: NS };
const OLD = `myacr.azurecr.io/ai-app@sha256:${"0".repeat(64)}`;
const SELECTOR = { "app.kubernetes.io/name": "ai-app" };
const CANARY_POD_URL = "http://10.244.0.10:8000";
const SMOKE_OK: PodRun = {
  exitCode: 0,
  log: '{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.4.0"}}}\n',
};
const SMOKE_BAD: PodRun = {
  exitCode: 1,
  log: '{"ok": false, "problems": ["/version reports model sha256 0000, expected dddd"], "seen": {}}\n',
};

function state(over: Partial<ApiState> = {}): ApiState {
  return {
    namespace: NS,
    deployment: { name: "ai-app", revision: "1", image: OLD, rollout: "complete" },
    replicaSets: { "1": OLD },
    pods: [],
    events: [],
    podRun: SMOKE_OK,
    ...over,
  };
}

async function withServer<R>(s: ApiState, fn: (api: FakeApiServer) => Promise<R>): Promise<R> {
  const api = await new FakeApiServer(s).start();
  try {
    return await fn(api);
  } finally {
    await api.stop();
  }
}

/**
 * Runs an argv as the kubectl container would: the files a step writes go to a temp directory
 * standing for STEP_FILES, the rendered manifests for `image` stand for /manifests.
 */
function kubectlRunner(api: FakeApiServer, image = IMAGE) {
  const files = tempDir("step-files-");
  const manifests = writeTemp(renderShipped({ image, namespace: NS }));
  return async (args: string[], write: Record<string, string> = {}): Promise<KubectlResult> => {
    for (const [path, text] of Object.entries(write)) {
      const local = join(files, path.slice(STEP_FILES.length));
      mkdirSync(dirname(local), { recursive: true });
      writeFileSync(local, text);
    }
    const local = args
      .slice(1)
      .map((a) =>
        a.replace(`--filename=${STEP_FILES}`, `--filename=${files}`).replace(`--filename=${PATHS.manifests}`, `--filename=${manifests}`),
      );
    return api.kubectl(local);
  };
}

function canaryPlan(over: Partial<CanaryPlan> = {}): CanaryPlan {
  const canary = renderCanary(renderShipped({ namespace: NS }), "r2");
  return {
    ...T,
    stable: "ai-app",
    canary: canary.name,
    canarySelector: canary.selector,
    releaseId: "r2",
    image: IMAGE,
    timeout: "5s",
    percent: 10,
    analysis: analysisThresholds(2, 1, 0, 0),
    pause: false,
    canaryManifest: canary.manifest,
    smoke: (url, name) => smokeTestArgs({ image: IMAGE, namespace: NS, url, modelSha256: MODEL.sha256, runId: name }, targetFlags(T)),
    serviceUrl: `http://ai-app.${NS}.svc`,
    ...over,
  };
}

async function canary(api: FakeApiServer, over: Partial<CanaryPlan> = {}) {
  const run = kubectlRunner(api);
  return runCanary(canaryPlan(over), (c) =>
    c.run === "wait" ? Promise.resolve({ exitCode: 0, stdout: "", stderr: "" }) : run(c.args, c.files),
  );
}

/** What the cluster holds now, read with kubectl. */
async function cluster(api: FakeApiServer) {
  const stable = await api.kubectl(["get", "deployment/ai-app", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);
  const canaries = await api.kubectl(["get", "deployments", "-l", "ai-app-pipeline/track=canary", "-n", NS, "-o", "name"]);
  const canaryPods = await api.kubectl(["get", "pods", "-l", "ai-app-pipeline/track=canary", "-n", NS, "-o", "name"]);
  return { stable: stable.stdout, canaries: canaries.stdout.trim(), canaryPods: canaryPods.stdout.trim() };
}

const deployPlan = (image: string): DeployPlan => ({ ...T, deployment: "ai-app", selector: SELECTOR, image, timeout: "5s" });

test("a failed canary: the canary pod's smoke test fails, the canary is removed, the stable's digest is unchanged", async () => {
  await withServer(state({ podRun: (cmd) => (cmd.includes(CANARY_POD_URL) ? SMOKE_BAD : SMOKE_OK) }), async (api) => {
    const { outcome, history } = await canary(api);
    assert.is(outcome.status, "aborted", outcome.message);
    assert.match(outcome.message, `smoke test of canary pod ${CANARY_POD_URL} failed (kubectl exit 1): /version reports model sha256`);
    assert.equal(
      history.map((h) => h.step),
      ["find-leftovers", "read-stable", "apply-canary", "canary-status", "pods", "smoke-service", "smoke-canary", "delete-canary"],
    );
    for (const h of history) assert.is(h.result.exitCode === 0 || h.step === "smoke-canary", true, `${h.step}: ${h.result.stderr}`);
    assert.equal(await cluster(api), { stable: OLD, canaries: "", canaryPods: "" }, "stable untouched, no canary object or pod left");
    const del = api.requests.find((r) => r.method === "DELETE" && r.url.includes("/deployments/ai-app-canary"));
    assert.match(del?.body ?? "", /"propagationPolicy":"Foreground"/);
  });
});

test("a canary that never gets ready: times out, diagnosed, removed; the stable is unchanged", async () => {
  await withServer(state({ trackedRollout: "progressing", trackedPods: { ready: false, restarts: 0 } }), async (api) => {
    const { outcome } = await canary(api, { timeout: "1s" });
    assert.is(outcome.status, "aborted", outcome.message);
    assert.match(outcome.message, "did not become ready within 1s");
    assert.equal(await cluster(api), { stable: OLD, canaries: "", canaryPods: "" });
  });
});

test("a passing canary, then promote: the stable runs the new digest and the canary is gone", async () => {
  await withServer(state(), async (api) => {
    const { outcome } = await canary(api, { pause: true });
    assert.is(outcome.status, "paused", outcome.message);
    const during = await cluster(api);
    assert.equal([during.stable, during.canaries], [OLD, "deployment.apps/ai-app-canary"], "paused: both serve");
    // The canary Deployment the cluster holds: one replica beside 2 stable, on the new digest.
    const sent = JSON.parse(api.requests.find((r) => r.method === "PATCH" && r.url.includes("/deployments/ai-app-canary"))!.body) as {
      spec: { replicas: number; template: { spec: { containers: { image: string }[] } } };
    };
    assert.equal([sent.spec.replicas, sent.spec.template.spec.containers[0]!.image], [1, IMAGE]);

    const run = kubectlRunner(api);
    const promoted = await runPromote(deployPlan(IMAGE), "ai-app-canary", (_s, args) => run(args));
    assert.is(promoted.outcome.status, "promoted", promoted.outcome.message);
    assert.equal(await cluster(api), { stable: IMAGE, canaries: "", canaryPods: "" });
  });
});

test("pause then abort: abort finds the canary by its label and removes it; the stable is unchanged", async () => {
  await withServer(state(), async (api) => {
    assert.is((await canary(api, { pause: true })).outcome.status, "paused");
    const run = kubectlRunner(api);
    const { outcome } = await runAbort(T, "ai-app-canary", (_s, args) => run(args));
    assert.is(outcome.status, "aborted", outcome.message);
    assert.match(outcome.message, "removed ai-app-canary (release r2");
    assert.equal(await cluster(api), { stable: OLD, canaries: "", canaryPods: "" });
  });
});

test("an interrupted run's canary is found by the next release and removed before anything else", async () => {
  await withServer(state(), async (api) => {
    // A run killed mid-canary left its Deployment (and pods) behind.
    const left = renderCanary(renderShipped({ namespace: NS, image: OLD }), "old1");
    const dir = writeTemp([{ path: "canary.yaml", text: left.manifest(1) }]);
    const applied = await api.kubectl(["apply", "--server-side", "--field-manager=ai-app-pipeline", `--filename=${dir}`, "-n", NS]);
    assert.is(applied.exitCode, 0, applied.stderr);
    const { outcome, history } = await canary(api);
    assert.equal(
      history.slice(0, 3).map((h) => h.step),
      ["find-leftovers", "delete-leftovers", "read-stable"],
    );
    assert.equal(
      outcome.leftovers.map((l) => [l.name, l.releaseId, l.image]),
      [["ai-app-canary", "old1", OLD]],
    );
    assert.match(outcome.message, "left by an interrupted run");
  });
});

const entry = (id: string, image: string, over: Partial<LedgerEntry> = {}): LedgerEntry => ({
  id,
  time: "2026-01-01T00:00:00Z",
  strategy: "rolling",
  outcome: "succeeded",
  image,
  modelName: MODEL.name,
  modelVersion: MODEL.version,
  modelSha256: MODEL.sha256,
  revision: "",
  deploymentRevision: "",
  detail: "",
  ...over,
});

async function record(api: FakeApiServer, e: LedgerEntry, race?: () => Promise<void>) {
  const run = kubectlRunner(api);
  let raced = false;
  return runLedger(
    {
      ...T,
      configMap: ledgerName("ai-app"),
      deployment: "ai-app",
      change: (read) => upsertEntry(read.entries, { ...e, deploymentRevision: read.deploymentRevision }),
    },
    async (c) => {
      if (c.run !== "read" && race && !raced) {
        raced = true;
        await race(); // another release writes between our read and our write
      }
      return run(c.args, c.files);
    },
  );
}

async function ledger(api: FakeApiServer): Promise<LedgerEntry[]> {
  const r = await api.kubectl(["get", "configmap/ai-app-releases", "-n", NS, "-o", "jsonpath={.data.releases\\.json}"]);
  assert.is(r.exitCode, 0, r.stderr);
  return parseEntries(r.stdout);
}

test("the ledger through kubectl: created, then replaced; two racing writers both land (409 Conflict, re-read); each attempt once", async () => {
  await withServer(state(), async (api) => {
    const first = await record(api, entry("r1", OLD));
    assert.ok(first.outcome.ok, first.outcome.message);
    assert.equal(
      first.history.map((h) => h.step),
      ["read", "create"],
    );
    const second = await record(api, entry("r2", IMAGE, { outcome: "paused", strategy: "canary" }), async () => {
      const other = await record(api, entry("r3", IMAGE));
      assert.ok(other.outcome.ok, other.outcome.message);
    });
    assert.ok(second.outcome.ok, second.outcome.message);
    assert.equal(
      second.history.map((h) => [h.step, h.result.exitCode]),
      [
        ["read", 0],
        ["replace", 1],
        ["read", 0],
        ["replace", 0],
      ],
    );
    assert.match(second.history[1]!.result.stderr, "Error from server (Conflict)");
    // The paused canary is promoted later: the same attempt, updated, not added.
    await record(api, entry("r2", IMAGE, { outcome: "succeeded", strategy: "canary" }));
    const entries = await ledger(api);
    assert.equal(
      entries.map((e) => `${e.id}:${e.outcome}`),
      ["r1:succeeded", "r3:succeeded", "r2:succeeded"],
    );
    assert.equal(entries[0]!.deploymentRevision, "1", "the Deployment's revision when recorded");
    // Two creators at once: the loser gets AlreadyExists and replaces instead.
    await withServer(state(), async (fresh) => {
      const won = await record(fresh, entry("a", OLD), async () => void (await record(fresh, entry("b", OLD))));
      assert.equal(
        won.history.map((h) => h.step),
        ["read", "create", "read", "replace"],
      );
      assert.equal(
        (await ledger(fresh)).map((e) => e.id),
        ["b", "a"],
      );
    });
  });
});

test("rollback: the last good release from the ledger, deployed in one step (no gates), restores the previous digest", async () => {
  await withServer(state(), async (api) => {
    await record(api, entry("r1", OLD));
    const run = kubectlRunner(api, IMAGE);
    const released = await runDeploy(deployPlan(IMAGE), (_s, args) => run(args));
    assert.ok(released.outcome.ok, released.outcome.message);
    await record(api, entry("r2", IMAGE));
    assert.is((await cluster(api)).stable, IMAGE);

    const read = await api.kubectl(["get", "deployment/ai-app", "-n", NS, "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);
    const choice = chooseRollback(await ledger(api), read.stdout);
    assert.ok("entry" in choice, JSON.stringify(choice));
    const back = (choice as { entry: LedgerEntry }).entry;
    assert.is(back.image, OLD);
    const rolled = await runDeploy(deployPlan(back.image), (_s, args) => kubectlRunner(api, back.image)(args));
    assert.ok(rolled.outcome.ok, rolled.outcome.message);
    assert.equal(
      rolled.history.map((h) => h.step),
      ["read-revision", "dry-run", "apply", "rollout-status"],
      "no smoke, no gates",
    );
    await record(api, entry("rb1", OLD, { strategy: "rollback" }));
    assert.is((await cluster(api)).stable, OLD);
    assert.equal(
      (await ledger(api)).map((e) => `${e.id}:${e.strategy}`),
      ["r1:rolling", "r2:rolling", "rb1:rollback"],
    );
  });
});

test.run();
