/**
 * The deploy/rollback decisions as a pure state machine, driven by scripted kubectl results:
 * every path (deployed, rejected, unreachable, rolled back with each failure reason, rollback
 * failing, nothing to roll back to) and the diagnosis of pods and events.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DeployPlan, KubectlResult, nextStep, runDeploy, Step } from "../../dagger/src/kubernetes/decide.js";
import { diagnose } from "../../dagger/src/kubernetes/diagnose.js";
import { isGoDuration } from "../../dagger/src/kubernetes/commands.js";

const IMAGE = `myacr.azurecr.io/ai-app@sha256:${"c".repeat(64)}`;
const plan: DeployPlan = {
  deployment: "ai-app",
  selector: { "app.kubernetes.io/name": "ai-app" },
  namespace: "prod",
  image: IMAGE,
  timeout: "5m",
};

const ok = (stdout = ""): KubectlResult => ({ exitCode: 0, stdout, stderr: "" });
const fail = (stderr: string, exitCode = 1, stdout = ""): KubectlResult => ({ exitCode, stdout, stderr });
const TIMEOUT = fail('error: deployment "ai-app" exceeded its progress deadline');

/** Runs the machine with scripted results (default: success with empty output). */
async function drive(script: Partial<Record<Step, KubectlResult>>, p: DeployPlan = plan) {
  const { outcome, history } = await runDeploy(
    p,
    async (step) => script[step] ?? ok(step === "apply" ? "deployment.apps/ai-app serverside-applied\n" : ""),
  );
  return { outcome, steps: history.map((h) => h.step), history };
}

// ---- kubectl JSON, shaped like `kubectl get pods/events -o json` ---------------------------

function pod(name: string, status: Record<string, unknown>) {
  return { metadata: { name, labels: { "app.kubernetes.io/name": "ai-app" } }, status };
}
const readyPod = (name: string) =>
  pod(name, {
    phase: "Running",
    conditions: [{ type: "Ready", status: "True" }],
    containerStatuses: [{ name: "app", ready: true, state: { running: {} } }],
  });
const waitingPod = (name: string, reason: string, message: string, lastState: Record<string, unknown> = {}) =>
  pod(name, {
    phase: "Pending",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    containerStatuses: [{ name: "app", ready: false, state: { waiting: { reason, message } }, lastState }],
  });
const list = (...items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const event = (kind: string, name: string, reason: string, message: string, at = "2025-01-01T00:00:00Z") => ({
  type: "Warning",
  reason,
  message,
  involvedObject: { kind, name },
  lastTimestamp: at,
});

const OLD = "ai-app-5f7d8c9b4-aaaaa";
const NEW = "ai-app-7c9d6b8f5-xk2lp";

// ---- the paths ----------------------------------------------------------------------------

const SMOKE = ["kubectl", "run", "smoke-1", "--image", IMAGE, "--namespace=prod"];
const SMOKE_OK = ok('{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.4.0"}}}\n');
const SMOKE_BAD = fail("", 1, '{"ok": false, "problems": ["/score classified a known 0 as 6"], "seen": {}}\n');

test("with a smoke test: it runs after the rollout completes, and its verdict is the deploy's", async () => {
  const { outcome, steps, history } = await drive({ "read-revision": ok("3"), smoke: SMOKE_OK }, { ...plan, smoke: SMOKE });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "rollout-status", "smoke"]);
  assert.equal(history.at(-1)!.args, SMOKE);
  assert.ok(outcome.ok);
  assert.match(outcome.smoke ?? "", /^passed \(\/readyz 200, model digits-classifier 1\.4\.0/);
});

test("a failed smoke test rolls back exactly as a failed rollout does, and says what the check saw", async () => {
  const { outcome, steps } = await drive({ "read-revision": ok("3"), smoke: SMOKE_BAD }, { ...plan, smoke: SMOKE });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "rollout-status", "smoke", "get-pods", "get-events", "undo", "undo-status"]);
  assert.is(outcome.status, "rolled-back");
  assert.not.ok(outcome.ok);
  assert.match(outcome.message, /the smoke test of .* failed \(kubectl exit 1\): \/score classified a known 0 as 6/);
  assert.match(outcome.message, /Rolled back deployment\/ai-app to revision 3/);
});

test("a failed smoke test on a first deploy: nothing to roll back to, said plainly", async () => {
  const { outcome, steps } = await drive({ "read-revision": ok(""), smoke: SMOKE_BAD }, { ...plan, smoke: SMOKE });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "rollout-status", "smoke", "get-pods", "get-events"]);
  assert.is(outcome.status, "not-rolled-back");
  assert.match(outcome.message, /smoke test .* failed/);
});

test("success: read revision, dry run, apply, rollout status, deployed; no undo", async () => {
  const { outcome, steps, history } = await drive({ "read-revision": ok("3") });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "rollout-status"]);
  assert.is(outcome.ok, true);
  assert.is(outcome.status, "deployed");
  assert.is(outcome.previousRevision, "3");
  assert.match(outcome.message, `deployed ${IMAGE} to deployment/ai-app in namespace prod: rollout complete (previous revision 3)`);
  const args = Object.fromEntries(history.map((h) => [h.step, h.args.join(" ")]));
  assert.match(
    args["dry-run"]!,
    /^kubectl apply --server-side --field-manager=ai-app-pipeline --dry-run=server --filename=\/manifests --namespace=prod$/,
  );
  assert.match(args.apply!, /^kubectl apply --server-side --field-manager=ai-app-pipeline --filename=\/manifests --namespace=prod$/);
  assert.is(args["rollout-status"], "kubectl rollout status deployment/ai-app --watch=true --timeout=5m --namespace=prod");
});

test("rollout timeout with ImagePullBackOff: diagnosed from pods and events, undone to the previous revision, error says both", async () => {
  const pods = list(readyPod(OLD), waitingPod(NEW, "ImagePullBackOff", `Back-off pulling image "${IMAGE}"`));
  const events = list(
    event(
      "Pod",
      NEW,
      "Failed",
      `Failed to pull image "${IMAGE}": rpc error: code = NotFound desc = manifest unknown`,
      "2025-01-01T00:01:00Z",
    ),
    event("Pod", NEW, "Failed", "Error: ImagePullBackOff", "2025-01-01T00:00:30Z"),
    event("Pod", "other-app-1234", "Failed", "unrelated"),
  );
  const { outcome, steps, history } = await drive({
    "read-revision": ok("3"),
    "rollout-status": TIMEOUT,
    "get-pods": ok(pods),
    "get-events": ok(events),
  });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "rollout-status", "get-pods", "get-events", "undo", "undo-status"]);
  assert.is(outcome.ok, false);
  assert.is(outcome.status, "rolled-back");
  assert.equal(history.find((h) => h.step === "undo")!.args.slice(0, 5), [
    "kubectl",
    "rollout",
    "undo",
    "deployment/ai-app",
    "--to-revision=3",
  ]);
  assert.match(
    outcome.message,
    /the image could not be pulled \(ImagePullBackOff: Failed to pull image .*manifest unknown; pod ai-app-7c9d6b8f5-xk2lp, container app\)/,
  );
  assert.match(outcome.message, "Rolled back deployment/ai-app to revision 3: the previous version is serving again. The deploy failed.");
  assert.match(outcome.message, "exceeded its progress deadline");
  assert.not.match(outcome.message, "unrelated");
  assert.not.match(outcome.message, OLD, "a ready pod is not a problem");
});

test("CrashLoopBackOff: the last exit and the app's own last words are in the error", async () => {
  const pods = list(
    waitingPod(NEW, "CrashLoopBackOff", "back-off 40s restarting failed container=app", {
      terminated: { reason: "Error", exitCode: 1, message: "Error: model.onnx does not match model.json" },
    }),
  );
  const { outcome } = await drive({ "read-revision": ok("7"), "rollout-status": TIMEOUT, "get-pods": ok(pods), "get-events": ok(list()) });
  assert.is(outcome.status, "rolled-back");
  assert.match(
    outcome.message,
    "the app keeps crashing (CrashLoopBackOff: last exit: Error, exit code 1: Error: model.onnx does not match model.json",
  );
  assert.match(outcome.message, "Rolled back deployment/ai-app to revision 7");
});

test("OOMKilled outranks the crash loop it causes", async () => {
  const pods = list(waitingPod(NEW, "CrashLoopBackOff", "back-off", { terminated: { reason: "OOMKilled", exitCode: 137 } }));
  const { outcome } = await drive({ "read-revision": ok("2"), "rollout-status": TIMEOUT, "get-pods": ok(pods), "get-events": ok(list()) });
  assert.match(outcome.message, /the app ran out of memory \(OOMKilled: .*resources\.limits\.memory/);
  assert.equal(
    outcome.problems.map((p) => p.reason),
    ["OOMKilled", "CrashLoopBackOff"],
  );
});

test("readiness failure: running but never ready, the probe's answer from the events", async () => {
  const notReady = pod(NEW, {
    phase: "Running",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "False" },
    ],
    containerStatuses: [{ name: "app", ready: false, state: { running: { startedAt: "2025-01-01T00:00:00Z" } } }],
  });
  const events = list(event("Pod", NEW, "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503"));
  const { outcome } = await drive({
    "read-revision": ok("4"),
    "rollout-status": fail("error: timed out waiting for the condition"),
    "get-pods": ok(list(readyPod(OLD), notReady)),
    "get-events": ok(events),
  });
  assert.is(outcome.status, "rolled-back");
  assert.match(
    outcome.message,
    "the new pods never became ready (GET /readyz kept failing) (ReadinessProbeFailed: Readiness probe failed: HTTP probe failed with statuscode: 503",
  );
  assert.match(outcome.message, "timed out waiting for the condition");
});

test("unschedulable pods and pods that were never created are named too", () => {
  const unschedulable = pod(NEW, {
    phase: "Pending",
    conditions: [
      { type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/3 nodes are available: 3 Insufficient cpu." },
    ],
  });
  assert.match(
    diagnose("ai-app", list(unschedulable), list()).headline,
    "the new pods could not be scheduled (Unschedulable: 0/3 nodes are available: 3 Insufficient cpu.",
  );
  const rsEvent = event(
    "ReplicaSet",
    "ai-app-7c9d6b8f5",
    "FailedCreate",
    'Error creating: pods "ai-app-7c9d6b8f5-x" is forbidden: violates PodSecurity "restricted:latest"',
  );
  const d = diagnose("ai-app", list(readyPod(OLD)), list(rsEvent));
  assert.match(d.headline, /the new pods could not be created \(FailedCreate: Error creating: .*PodSecurity/);
  assert.match(diagnose("ai-app", list(readyPod(OLD)), list()).headline, "no failing pod reported a reason");
  const invalid = diagnose("ai-app", list(waitingPod(NEW, "InvalidImageName", 'couldn\'t parse image name "x@sha256:zz"')), undefined);
  assert.match(invalid.headline, "the image reference is invalid (InvalidImageName");
  assert.equal(invalid.notes, ["the namespace's events could not be listed"]);
});

test("undo itself failing: the error says the rollback FAILED and the failed revision may be in place", async () => {
  const pods = list(waitingPod(NEW, "ImagePullBackOff", "Back-off pulling image"));
  const { outcome, steps } = await drive({
    "read-revision": ok("3"),
    "rollout-status": TIMEOUT,
    "get-pods": ok(pods),
    "get-events": ok(list()),
    undo: fail("error: unable to find specified revision 3 in history"),
  });
  assert.equal(steps.slice(-2), ["get-events", "undo"]);
  assert.is(outcome.status, "rollback-failed");
  assert.match(outcome.message, "ImagePullBackOff");
  assert.match(
    outcome.message,
    "Rolling back to revision 3 FAILED too (kubectl exit 1): error: unable to find specified revision 3 in history",
  );
  assert.match(outcome.message, "The failed revision may still be in place");
});

test("undo accepted but the old revision does not come back either: rollback failed", async () => {
  const { outcome, steps } = await drive({
    "read-revision": ok("3"),
    "rollout-status": TIMEOUT,
    "get-pods": ok(list()),
    "get-events": ok(list()),
    "undo-status": fail("error: timed out waiting for the condition"),
  });
  assert.is(steps.at(-1), "undo-status");
  assert.is(outcome.status, "rollback-failed");
  assert.match(outcome.message, "Rolled back deployment/ai-app to revision 3, but that rollout did not complete within 5m either");
});

test("apply rejected by the server (dry run): nothing applied, nothing to undo, the server's words", async () => {
  const stderr =
    'Error from server (Forbidden): error when applying patch: deployments.apps "ai-app" is forbidden: User "ci" cannot patch resource "deployments"';
  const { outcome, steps } = await drive({ "read-revision": ok("3"), "dry-run": fail(stderr) });
  assert.equal(steps, ["read-revision", "dry-run"]);
  assert.is(outcome.status, "rejected");
  assert.match(outcome.message, "the cluster rejected the manifests");
  assert.match(outcome.message, "nothing was changed");
  assert.match(outcome.message, stderr);
});

test("apply failing after a passed dry run without touching the Deployment: rejected, nothing to roll back", async () => {
  const { outcome, steps } = await drive({
    "read-revision": ok("3"),
    apply: fail(
      'error: Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.replicas',
      1,
      "service/ai-app serverside-applied\n",
    ),
  });
  assert.equal(steps, ["read-revision", "dry-run", "apply"]);
  assert.is(outcome.status, "rejected");
  assert.match(
    outcome.message,
    "the Deployment was not changed, so there is nothing to roll back (applied before the error:\nservice/ai-app serverside-applied)",
  );
  assert.match(outcome.message, 'conflict with "kubectl-edit"');
});

test("apply failing after it changed the Deployment: diagnosed and rolled back", async () => {
  const { outcome, steps } = await drive({
    "read-revision": ok("3"),
    apply: fail('error: poddisruptionbudgets.policy "ai-app" is forbidden', 1, "deployment.apps/ai-app serverside-applied\n"),
  });
  assert.equal(steps, ["read-revision", "dry-run", "apply", "get-pods", "get-events", "undo", "undo-status"]);
  assert.is(outcome.status, "rolled-back");
  assert.match(outcome.message, "failed after the Deployment had been changed");
});

test("first deploy (no revision yet): a failed rollout cannot be undone, and the error says so", async () => {
  const { outcome, steps } = await drive({
    "read-revision": ok(""),
    "rollout-status": TIMEOUT,
    "get-pods": ok(list(waitingPod(NEW, "ErrImagePull", "pull access denied"))),
    "get-events": ok(list()),
  });
  assert.ok(!steps.includes("undo"), "no undo without a previous revision");
  assert.is(outcome.status, "not-rolled-back");
  assert.match(outcome.message, "NOT rolled back: this was the first deploy of deployment/ai-app in namespace prod");
  assert.match(outcome.message, "the image could not be pulled (ErrImagePull");
});

test("undo skipped because the template was already that revision: not rolled back, said plainly", async () => {
  const { outcome } = await drive({
    "read-revision": ok("5"),
    "rollout-status": TIMEOUT,
    "get-pods": ok(list()),
    "get-events": ok(list()),
    undo: ok("deployment.apps/ai-app skipped rollback (current template already matches revision 5)"),
  });
  assert.is(outcome.status, "not-rolled-back");
  assert.match(outcome.message, "already ran this pod template before the deploy (revision 5)");
});

test("cluster unreachable or forbidden before anything: nothing changed, no further command", async () => {
  const { outcome, steps } = await drive({ "read-revision": fail("error: You must be logged in to the server (Unauthorized)") });
  assert.equal(steps, ["read-revision"]);
  assert.is(outcome.status, "unreachable");
  assert.match(outcome.message, "could not read deployment/ai-app in namespace prod (kubectl exit 1); nothing was changed");
  assert.match(outcome.message, "Unauthorized");
});

test("listing pods or events failing does not stop the rollback", async () => {
  const { outcome, steps } = await drive({
    "read-revision": ok("3"),
    "rollout-status": TIMEOUT,
    "get-pods": fail("forbidden"),
    "get-events": fail("forbidden"),
  });
  assert.ok(steps.includes("undo") && steps.includes("undo-status"));
  assert.is(outcome.status, "rolled-back");
  assert.match(outcome.message, "(the Deployment's pods could not be listed)");
});

test("context, token user, field manager and force-conflicts reach every command", async () => {
  const { history } = await drive(
    { "read-revision": ok("3"), "rollout-status": TIMEOUT, "get-pods": ok(list()), "get-events": ok(list()) },
    {
      ...plan,
      context: "aks-prod",
      token: true,
      fieldManager: "nightly",
      forceConflicts: true,
    },
  );
  for (const h of history) {
    assert.ok(
      h.args.includes("--namespace=prod") && h.args.includes("--context=aks-prod") && h.args.includes("--user=ai-app-pipeline-token"),
      h.args.join(" "),
    );
  }
  const apply = history.find((h) => h.step === "apply")!.args;
  assert.ok(apply.includes("--field-manager=nightly") && apply.includes("--force-conflicts"));
});

test("nextStep is pure: the same history always gives the same answer", () => {
  const history = [{ step: "read-revision" as const, args: [], result: ok("3") }];
  assert.equal(nextStep(plan, history), nextStep(plan, history));
  assert.equal((nextStep(plan, []) as { run: string }).run, "read-revision");
});

test("timeouts are Go durations", () => {
  for (const t of ["90s", "5m", "1h30m", "2.5m"]) assert.ok(isGoDuration(t), t);
  for (const t of ["5", "five minutes", "-5m", "0s", "5 m", ""]) assert.not.ok(isGoDuration(t), t);
});

test.run();
