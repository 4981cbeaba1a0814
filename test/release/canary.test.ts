/**
 * Canary decisions as pure functions, driven by scripted kubectl results: sizing, the analysis
 * (passes, fails on errors, fails on restarts, times out), pause then promote, pause then abort,
 * a canary left by an interrupted run found and removed first, and every failure removing the canary.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  analysisThresholds,
  CanaryCommand,
  CanaryPlan,
  canaryReplicas,
  judgeAnalysis,
  podHealth,
  runAbort,
  runCanary,
  runPromote,
} from "../../dagger/src/release/canary.js";
import { DeployPlan, KubectlResult } from "../../dagger/src/kubernetes/decide.js";
import { renderCanary, RELEASE_ID_LABEL, TRACK_LABEL } from "../../dagger/src/release/canary-manifest.js";
import { parse } from "yaml";
import { IMAGE as SHIPPED_IMAGE, renderShipped } from "../support/kubernetes.js";

const IMAGE = `myacr.azurecr.io/ai-app@sha256:${"c".repeat(64)}`;
const OLD = `myacr.azurecr.io/ai-app@sha256:${"0".repeat(64)}`;
const ok = (stdout = ""): KubectlResult => ({ exitCode: 0, stdout, stderr: "" });
const fail = (stderr: string, exitCode = 1, stdout = ""): KubectlResult => ({ exitCode, stdout, stderr });

const SMOKE_OK = ok('{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.4.0"}}}\n');
const SMOKE_BAD = fail("", 1, '{"ok": false, "problems": ["/score answered 500"], "seen": {}}\n');

const stableJson = (replicas = 2) =>
  JSON.stringify({
    kind: "Deployment",
    metadata: { name: "ai-app" },
    spec: { replicas, template: { spec: { containers: [{ name: "app", image: OLD }] } } },
  });
const canaryPod = (name: string, ip: string, ready = true, restarts = 0) => ({
  metadata: { name, labels: { [TRACK_LABEL]: "canary" } },
  spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8000 }] }] },
  status: {
    podIP: ip,
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
    containerStatuses: [{ name: "app", ready, restartCount: restarts }],
  },
});
const pods = (...items: unknown[]) => ok(JSON.stringify({ kind: "List", items }));
const leftover = (name: string, id: string) =>
  JSON.stringify({
    kind: "List",
    items: [
      {
        kind: "Deployment",
        metadata: { name, labels: { [TRACK_LABEL]: "canary", [RELEASE_ID_LABEL]: id } },
        spec: { template: { spec: { containers: [{ name: "app", image: OLD }] } } },
      },
    ],
  });

function plan(over: Partial<CanaryPlan> = {}): CanaryPlan {
  return {
    namespace: "prod",
    stable: "ai-app",
    canary: "ai-app-canary",
    canarySelector: { "app.kubernetes.io/name": "ai-app", [TRACK_LABEL]: "canary" },
    releaseId: "r1",
    image: IMAGE,
    timeout: "2m",
    percent: 10,
    analysis: analysisThresholds(90, 30, 0, 0),
    pause: false,
    canaryManifest: (n) => `replicas: ${n}\n`,
    smoke: (url, name) => ["kubectl", "run", `smoke-${name}`, url],
    serviceUrl: "http://ai-app.prod.svc",
    ...over,
  };
}

type Script = (c: CanaryCommand) => KubectlResult | undefined;
async function drive(p: CanaryPlan, script: Script = () => undefined) {
  const commands: CanaryCommand[] = [];
  const { outcome, history } = await runCanary(p, async (c) => {
    commands.push(c);
    const scripted = script(c);
    if (scripted) return scripted;
    switch (c.run) {
      case "find-leftovers":
        return ok(JSON.stringify({ kind: "List", items: [] }));
      case "read-stable":
        return ok(stableJson());
      case "pods":
        return pods(canaryPod("ai-app-canary-1", "10.0.0.7"));
      case "smoke-service":
      case "smoke-canary":
        return SMOKE_OK;
      default:
        return ok();
    }
  });
  return { outcome, commands, steps: history.map((h) => (h.round ? `${h.step}#${h.round}` : h.step)) };
}

test("sizing: replicas for the share asked, rounded half up, at least 1; the share is canary/(stable+canary)", () => {
  assert.equal(canaryReplicas(2, 10), { stable: 2, canary: 1, share: 33.3 });
  assert.equal(canaryReplicas(9, 10), { stable: 9, canary: 1, share: 10 });
  assert.equal(canaryReplicas(6, 25), { stable: 6, canary: 2, share: 25 });
  assert.equal(canaryReplicas(3, 50), { stable: 3, canary: 3, share: 50 });
  assert.throws(() => canaryReplicas(2, 0), /--canary-percent must be a whole number from 1 to 99/);
  assert.throws(() => canaryReplicas(2, 100), /from 1 to 99/);
  assert.throws(() => canaryReplicas(0, 10), /at least 1 replica/);
  assert.throws(() => analysisThresholds(10, 30, 0, 0), /--analysis-window \(10s\) must be at least --analysis-interval \(30s\)/);
  assert.throws(() => analysisThresholds(60, 30, -1, 0), /--max-failures must be a whole number/);
  assert.equal(analysisThresholds(100, 30, 1, 2), { rounds: 3, intervalSeconds: 30, maxFailures: 1, maxRestarts: 2 });
});

test("analysis passes: canary applied at its size, ready, three rounds of checks (Service and a canary pod), then passed", async () => {
  const { outcome, steps, commands } = await drive(plan());
  assert.equal(steps, [
    "find-leftovers",
    "read-stable",
    "apply-canary",
    "canary-status",
    "pods#1",
    "smoke-service#1",
    "smoke-canary#1",
    "wait#2",
    "pods#2",
    "smoke-service#2",
    "smoke-canary#2",
    "wait#3",
    "pods#3",
    "smoke-service#3",
    "smoke-canary#3",
  ]);
  assert.is(outcome.status, "passed", outcome.message);
  assert.equal(outcome.sizing, { stable: 2, canary: 1, share: 33.3 });
  const apply = commands.find((c) => c.run === "apply-canary")!;
  assert.equal(Object.values(apply.files ?? {}), ["replicas: 1\n"]);
  assert.is(commands.find((c) => c.run === "wait")!.waitSeconds, 30);
  assert.equal(commands.find((c) => c.run === "smoke-canary")!.args.at(-1), "http://10.0.0.7:8000", "the canary pod itself");
  assert.equal(commands.find((c) => c.run === "smoke-service")!.args.at(-1), "http://ai-app.prod.svc");
  assert.ok(!steps.includes("delete-canary"), "a passing canary is left for promote");
  assert.match(outcome.message, "1 pod(s) beside 2 stable (33.3% of the pods for 10% asked)");
});

test("analysis fails on errors: a failed smoke test beyond --max-failures removes the canary and says which check failed with what", async () => {
  const { outcome, steps } = await drive(plan(), (c) => (c.run === "smoke-canary" && c.round === 2 ? SMOKE_BAD : undefined));
  assert.is(outcome.status, "aborted");
  assert.equal(steps.slice(-2), ["smoke-canary#2", "delete-canary"]);
  assert.match(outcome.message, "failed its analysis in round 2 of 3: 1 failed check(s) (allowed: 0)");
  assert.match(outcome.message, "smoke test of canary pod http://10.0.0.7:8000 failed (kubectl exit 1): /score answered 500");
  assert.match(outcome.message, "the stable deployment/ai-app was not changed");
  // One failure allowed: the same run passes.
  const tolerant = await drive(plan({ analysis: analysisThresholds(90, 30, 1, 0) }), (c) =>
    c.run === "smoke-canary" && c.round === 2 ? SMOKE_BAD : undefined,
  );
  assert.is(tolerant.outcome.status, "passed", tolerant.outcome.message);
  assert.match(tolerant.outcome.message, "1 failed check(s) (allowed 1)");
});

test("analysis fails on restarts: more restarts than --max-restarts aborts at once", async () => {
  const { outcome, steps } = await drive(plan({ analysis: analysisThresholds(90, 30, 5, 1) }), (c) =>
    c.run === "pods" && c.round === 2 ? pods(canaryPod("ai-app-canary-1", "10.0.0.7", true, 2)) : undefined,
  );
  assert.is(outcome.status, "aborted");
  assert.is(outcome.failedCheck, "the canary pods restarted 2 time(s) (allowed: 1)");
  assert.equal(steps.at(-1), "delete-canary");
});

test("analysis times out: a canary that never gets ready is diagnosed and removed; the stable is untouched", async () => {
  const crashing = pods({
    metadata: { name: "ai-app-canary-1" },
    status: {
      phase: "Running",
      conditions: [{ type: "Ready", status: "False" }],
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 4,
          state: { waiting: { reason: "CrashLoopBackOff", message: "back-off" } },
          lastState: { terminated: { reason: "Error", exitCode: 1 } },
        },
      ],
    },
  });
  const { outcome, steps } = await drive(plan(), (c) =>
    c.run === "canary-status" ? fail("error: timed out waiting for the condition") : c.run === "canary-why" ? crashing : undefined,
  );
  assert.equal(steps, ["find-leftovers", "read-stable", "apply-canary", "canary-status", "canary-why", "delete-canary"]);
  assert.is(outcome.status, "aborted");
  assert.is(outcome.failedCheck, "readiness");
  assert.match(outcome.message, "did not become ready within 2m: the app keeps crashing");
  assert.match(outcome.message, "timed out waiting for the condition");
});

test("not ready at the end of the window fails even with failures allowed", () => {
  const t = analysisThresholds(30, 30, 5, 0);
  const judged = judgeAnalysis(
    [{ round: 1, pods: { total: 1, ready: 0, restarts: 0, urls: [] }, service: { ok: true, summary: "passed" } }],
    t,
    1,
  );
  assert.is(judged.verdict, "fail");
  assert.match(judged.reason ?? "", "not fully ready at the end of the analysis (0/1 pods ready)");
});

test("pod health: ready pods' URLs (IPv6 bracketed), restarts summed, terminating pods left out", () => {
  const h = podHealth(
    JSON.stringify({
      items: [
        canaryPod("a", "10.0.0.7", true, 1),
        canaryPod("b", "fd00::7", true, 0),
        canaryPod("c", "10.0.0.9", false, 2),
        { ...canaryPod("d", "10.0.0.10"), metadata: { name: "d", deletionTimestamp: "2026-01-01T00:00:00Z" } },
      ],
    }),
  );
  assert.equal(h, { total: 3, ready: 2, restarts: 3, urls: ["http://10.0.0.7:8000", "http://[fd00::7]:8000"] });
});

test("pause: after a passing analysis the canary keeps serving; then promote rolls the stable and removes the canary", async () => {
  const paused = await drive(plan({ pause: true }));
  assert.is(paused.outcome.status, "paused");
  assert.ok(!paused.steps.includes("delete-canary"));
  assert.match(paused.outcome.message, "finish with promote or abort (release r1)");

  const deploy: DeployPlan = {
    deployment: "ai-app",
    selector: { "app.kubernetes.io/name": "ai-app" },
    namespace: "prod",
    image: IMAGE,
    timeout: "5m",
  };
  const ran: string[] = [];
  const { outcome } = await runPromote(deploy, "ai-app-canary", async (step, args) => {
    ran.push(step);
    if (step === "delete-canary") assert.equal(args.slice(1, 3), ["delete", "deployment/ai-app-canary"]);
    return step === "read-revision" ? ok("3") : step === "apply" ? ok("deployment.apps/ai-app serverside-applied\n") : ok();
  });
  assert.equal(ran, ["read-revision", "dry-run", "apply", "rollout-status", "delete-canary"]);
  assert.is(outcome.status, "promoted", outcome.message);
  assert.match(outcome.message, "The canary ai-app-canary was removed.");
});

test("promote whose stable rollout fails: the stable is rolled back and the canary still removed", async () => {
  const deploy: DeployPlan = {
    deployment: "ai-app",
    selector: { "app.kubernetes.io/name": "ai-app" },
    namespace: "prod",
    image: IMAGE,
    timeout: "5m",
  };
  const ran: string[] = [];
  const { outcome } = await runPromote(deploy, "ai-app-canary", async (step) => {
    ran.push(step);
    if (step === "read-revision") return ok("3");
    if (step === "apply") return ok("deployment.apps/ai-app serverside-applied\n");
    if (step === "rollout-status") return fail('error: deployment "ai-app" exceeded its progress deadline');
    return ok();
  });
  assert.equal(ran.slice(-3), ["undo", "undo-status", "delete-canary"]);
  assert.is(outcome.status, "promote-failed");
  assert.match(outcome.message, "Rolled back deployment/ai-app to revision 3");
  assert.match(outcome.message, "The canary ai-app-canary was removed.");
});

test("pause then abort: the canary found by its label is removed; no canary is 'nothing to abort'", async () => {
  const ran: string[][] = [];
  const { outcome } = await runAbort({ namespace: "prod" }, "ai-app-canary", async (_step, args) => {
    ran.push(args);
    return args[1] === "get" ? ok(leftover("ai-app-canary", "r1")) : ok();
  });
  assert.is(outcome.status, "aborted");
  assert.equal(ran[1]!.slice(1, 3), ["delete", "deployment/ai-app-canary"]);
  assert.match(outcome.message, "removed ai-app-canary (release r1");
  const none = await runAbort({ namespace: "prod" }, "ai-app-canary", async () => ok(JSON.stringify({ kind: "List", items: [] })));
  assert.equal([none.outcome.ok, none.outcome.status], [true, "nothing-to-abort"]);
});

test("another app's canary (or anything else with the track label) is never this app's: abort and release leave it alone", async () => {
  const item = (name: string, id: string) => (JSON.parse(leftover(name, id)) as { items: unknown[] }).items[0];
  const others = JSON.stringify({ kind: "List", items: [item("billing-canary", "b1"), item("ai-app", "x")] });
  const ran: string[][] = [];
  const { outcome } = await runAbort({ namespace: "prod" }, "ai-app-canary", async (_step, args) => {
    ran.push(args);
    return ok(others);
  });
  assert.equal([outcome.ok, outcome.status], [true, "nothing-to-abort"]);
  assert.is(ran.length, 1, "nothing was deleted");
  const { commands } = await drive(plan(), (c) => (c.run === "find-leftovers" ? ok(others) : undefined));
  const deletes = commands.filter((c) => c.args.includes("delete"));
  assert.not.ok(
    deletes.some((c) => c.args.some((a) => a.includes("billing-canary") || a === "deployment/ai-app")),
    `the release deleted a Deployment that is not its canary: ${JSON.stringify(deletes.map((c) => c.args))}`,
  );
});

test("interrupted canary found and cleaned: the next release removes it first and says so", async () => {
  const { outcome, steps } = await drive(plan(), (c) => (c.run === "find-leftovers" ? ok(leftover("ai-app-canary", "old1")) : undefined));
  assert.equal(steps.slice(0, 3), ["find-leftovers", "delete-leftovers", "read-stable"]);
  assert.is(outcome.status, "passed");
  assert.equal(outcome.leftovers, [{ name: "ai-app-canary", releaseId: "old1", image: OLD }]);
  assert.match(outcome.message, "removed 1 canary Deployment(s) left by an interrupted run (ai-app-canary, release old1");
  // Removing it fails: stop before changing anything else, and say how to clean up.
  const stuck = await drive(plan(), (c) =>
    c.run === "find-leftovers"
      ? ok(leftover("ai-app-canary", "old1"))
      : c.run === "delete-leftovers"
        ? fail("Error from server (Forbidden)")
        : undefined,
  );
  assert.equal([stuck.outcome.status, stuck.steps], ["cleanup-failed", ["find-leftovers", "delete-leftovers"]]);
  assert.match(stuck.outcome.message, "kubectl delete deployment/ai-app-canary -n prod");
});

test("no stable Deployment, or kubectl cannot read: nothing is applied", async () => {
  const none = await drive(plan(), (c) => (c.run === "read-stable" ? ok("") : undefined));
  assert.equal([none.outcome.status, none.steps], ["no-stable", ["find-leftovers", "read-stable"]]);
  assert.match(none.outcome.message, "Release with --strategy rolling first");
  const unreachable = await drive(plan(), (c) => (c.run === "find-leftovers" ? fail("Unable to connect to the server") : undefined));
  assert.equal([unreachable.outcome.status, unreachable.steps], ["unreachable", ["find-leftovers"]]);
});

test("a refused canary and a canary that cannot be removed: both end in a known state and say so", async () => {
  const refused = await drive(plan(), (c) => (c.run === "apply-canary" ? fail('Deployment.apps "ai-app-canary" is invalid') : undefined));
  assert.equal([refused.outcome.status, refused.steps.at(-1)], ["aborted", "delete-canary"]);
  const stuck = await drive(plan(), (c) =>
    c.run === "smoke-service" ? SMOKE_BAD : c.run === "delete-canary" ? fail("Error from server (Forbidden)") : undefined,
  );
  assert.is(stuck.outcome.status, "cleanup-failed");
  assert.match(stuck.outcome.message, "Removing the canary FAILED too");
  assert.match(stuck.outcome.message, "kubectl delete deployment/ai-app-canary -n prod");
});

test("the canary manifest: k8s/'s Deployment renamed, track and release labels in its selector and pods, the replicas asked", () => {
  const c = renderCanary(renderShipped(), "r1");
  assert.is(c.name, "ai-app-canary");
  assert.equal(c.selector, { "app.kubernetes.io/name": "ai-app", [TRACK_LABEL]: "canary" });
  const d = parse(c.manifest(3)) as {
    metadata: { name: string; labels: Record<string, string> };
    spec: {
      replicas: number;
      selector: { matchLabels: Record<string, string> };
      template: { metadata: { labels: Record<string, string> }; spec: { containers: { image: string }[] } };
    };
  };
  assert.equal([d.metadata.name, d.spec.replicas], ["ai-app-canary", 3]);
  assert.is(d.metadata.labels[RELEASE_ID_LABEL], "r1");
  assert.equal(d.spec.selector.matchLabels, c.selector);
  assert.is(d.spec.template.metadata.labels[TRACK_LABEL], "canary");
  assert.is(d.spec.template.spec.containers[0]!.image, SHIPPED_IMAGE, "the same pod template, on the new image");
  assert.throws(() => c.manifest(0), /at least 1/);
  assert.throws(() => renderCanary(renderShipped(), "Not_A_Label"), /not a label value/);
});

test.run();
