/**
 * The real kubectl binary against a stand-in API server (test/support/fake-apiserver.ts): the exit
 * codes and messages the decision logic relies on are kubectl's own, and the decision logic,
 * driven by real kubectl for every read and the undo, reaches the outcome it should. Apply and the
 * server-side dry run are scripted here (this stand-in serves no OpenAPI documents); they are
 * covered by the flag-parser test and the recorded-graph tests. Not Kubernetes: no controllers.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  eventsArgs,
  podsArgs,
  readRevisionArgs,
  rolloutStatusArgs,
  serviceGetArgs,
  undoArgs,
} from "../../dagger/src/kubernetes/commands.js";
import { DeployPlan, KubectlResult, runDeploy } from "../../dagger/src/kubernetes/decide.js";
import { diagnose } from "../../dagger/src/kubernetes/diagnose.js";
import { ApiState, FakeApiServer } from "../support/fake-apiserver.js";
import { IMAGE } from "../support/kubernetes.js";

const OLD_IMAGE = `myacr.azurecr.io/ai-app@sha256:${"0".repeat(64)}`;
const T = { namespace: "prod" };
const SELECTOR = { "app.kubernetes.io/name": "ai-app" };

function state(over: Partial<ApiState> = {}): ApiState {
  return {
    namespace: "prod",
    deployment: { name: "ai-app", revision: "4", image: IMAGE, rollout: "progressing" },
    replicaSets: { "3": OLD_IMAGE, "4": IMAGE },
    pods: [],
    events: [],
    ...over,
  };
}

async function withServer<T>(s: ApiState, fn: (api: FakeApiServer) => Promise<T>): Promise<T> {
  const api = await new FakeApiServer(s).start();
  try {
    return await fn(api);
  } finally {
    await api.stop();
  }
}

const kubectlArgs = (argv: string[]) => argv.slice(1);

test("reading the revision: the annotation when the Deployment exists, nothing and exit 0 when it does not", async () => {
  await withServer(state(), async (api) => {
    const r = await api.kubectl(kubectlArgs(readRevisionArgs("ai-app", T)));
    assert.equal([r.exitCode, r.stdout], [0, "4"], r.stderr);
  });
  await withServer(state({ deployment: undefined }), async (api) => {
    const r = await api.kubectl(kubectlArgs(readRevisionArgs("ai-app", T)));
    assert.equal([r.exitCode, r.stdout], [0, ""], r.stderr);
  });
});

test("rollout status: 0 when complete, 1 with kubectl's words on a missed deadline or a timeout", async () => {
  await withServer(state({ deployment: { name: "ai-app", revision: "4", image: IMAGE, rollout: "complete" } }), async (api) => {
    const r = await api.kubectl(kubectlArgs(rolloutStatusArgs("ai-app", "5s", T)));
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, 'deployment "ai-app" successfully rolled out');
  });
  await withServer(state({ deployment: { name: "ai-app", revision: "4", image: IMAGE, rollout: "deadline-exceeded" } }), async (api) => {
    const r = await api.kubectl(kubectlArgs(rolloutStatusArgs("ai-app", "5s", T)));
    assert.is(r.exitCode, 1);
    assert.match(r.stderr, 'error: deployment "ai-app" exceeded its progress deadline');
  });
  await withServer(state(), async (api) => {
    const started = Date.now();
    const r = await api.kubectl(kubectlArgs(rolloutStatusArgs("ai-app", "1s", T)));
    assert.is(r.exitCode, 1);
    assert.match(r.stderr, "error: timed out waiting for the condition");
    assert.ok(Date.now() - started >= 900, "waited for the timeout");
  });
});

test("pods and events: our selectors reach the server as written, and kubectl's JSON is what diagnose reads", async () => {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "ai-app-4-xk2lp", namespace: "prod", labels: SELECTOR },
    status: {
      phase: "Pending",
      conditions: [{ type: "Ready", status: "False" }],
      containerStatuses: [
        {
          name: "app",
          ready: false,
          restartCount: 0,
          image: IMAGE,
          imageID: "",
          state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } },
        },
      ],
    },
  };
  const event = {
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "ai-app-4-xk2lp.1", namespace: "prod" },
    type: "Warning",
    reason: "Failed",
    message: `Failed to pull image "${IMAGE}": not found`,
    involvedObject: { kind: "Pod", name: "ai-app-4-xk2lp", namespace: "prod" },
    lastTimestamp: "2025-01-01T00:00:00Z",
  };
  await withServer(state({ pods: [pod], events: [event] }), async (api) => {
    const pods = await api.kubectl(kubectlArgs(podsArgs(SELECTOR, T)));
    const events = await api.kubectl(kubectlArgs(eventsArgs(T)));
    assert.is(pods.exitCode, 0, pods.stderr);
    assert.is(events.exitCode, 0, events.stderr);
    const urls = api.requests.map((r) => r.url);
    assert.ok(urls.includes("/api/v1/namespaces/prod/pods?labelSelector=app.kubernetes.io%2Fname%3Dai-app&limit=500"), urls.join("\n"));
    assert.ok(urls.includes("/api/v1/namespaces/prod/events?fieldSelector=type%3DWarning&limit=500"), urls.join("\n"));
    const d = diagnose("ai-app", pods.stdout, events.stdout);
    assert.match(
      d.headline,
      `the image could not be pulled (ImagePullBackOff: Failed to pull image "${IMAGE}": not found; pod ai-app-4-xk2lp, container app)`,
    );
  });
});

test("rollout undo --to-revision: patches the Deployment back to that revision's template; an unknown revision is an error", async () => {
  await withServer(state(), async (api) => {
    const r = await api.kubectl(kubectlArgs(undoArgs("ai-app", "3", T)));
    assert.is(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, "deployment.apps/ai-app rolled back");
    const patch = api.requests.find((q) => q.method === "PATCH");
    assert.ok(patch, "a PATCH reached the server");
    assert.match(patch!.body, OLD_IMAGE);
    assert.is(api.state.deployment?.image, OLD_IMAGE);
  });
  await withServer(state(), async (api) => {
    const r = await api.kubectl(kubectlArgs(undoArgs("ai-app", "9", T)));
    assert.is(r.exitCode, 1);
    assert.match(r.stderr, "error: unable to find specified revision 9 in history");
  });
});

test("the whole decision path with real kubectl: stuck rollout -> diagnosis -> undo to the revision read first -> rolled back", async () => {
  // The server's state after our apply: revision 4 (the new image) rolling out and stuck.
  const s = state({
    pods: [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "ai-app-4-abcde", namespace: "prod", labels: SELECTOR },
        status: {
          phase: "Running",
          conditions: [{ type: "Ready", status: "False" }],
          containerStatuses: [
            {
              name: "app",
              ready: false,
              restartCount: 3,
              image: IMAGE,
              imageID: "",
              state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 40s" } },
              lastState: { terminated: { reason: "Error", exitCode: 1, message: "Error: model.onnx sha256 mismatch" } },
            },
          ],
        },
      },
    ],
  });
  // The revision read before the apply was 3 (what the apply replaced).
  await withServer(s, async (api) => {
    const plan: DeployPlan = { deployment: "ai-app", selector: SELECTOR, namespace: "prod", image: IMAGE, timeout: "1s" };
    const scripted: Partial<Record<string, KubectlResult>> = {
      "read-revision": { exitCode: 0, stdout: "3", stderr: "" },
      "dry-run": { exitCode: 0, stdout: "deployment.apps/ai-app serverside-applied (server dry run)\n", stderr: "" },
      apply: { exitCode: 0, stdout: "deployment.apps/ai-app serverside-applied\n", stderr: "" },
    };
    const { outcome, history } = await runDeploy(plan, (step, args) =>
      scripted[step] ? Promise.resolve(scripted[step]!) : api.kubectl(args.slice(1)),
    );
    assert.equal(
      history.map((h) => h.step),
      ["read-revision", "dry-run", "apply", "rollout-status", "get-pods", "get-events", "undo", "undo-status"],
    );
    assert.is(outcome.status, "rolled-back", outcome.message);
    assert.match(
      outcome.message,
      "the app keeps crashing (CrashLoopBackOff: last exit: Error, exit code 1: Error: model.onnx sha256 mismatch",
    );
    assert.match(outcome.message, "timed out waiting for the condition");
    assert.match(outcome.message, "Rolled back deployment/ai-app to revision 3");
    assert.is(api.state.deployment?.image, OLD_IMAGE, "the server holds the old template again");
    assert.equal(history.find((h) => h.step === "undo-status")!.result.exitCode, 0);
  });
});

test("smoke through the service proxy: kubectl get --raw reaches the app's /version; a 503 is a non-zero exit", async () => {
  const version = '{"model":{"name":"digits-classifier","version":"1.4.0"}}';
  await withServer(
    state({ app: { "/version": { status: 200, body: version }, "/readyz": { status: 503, body: '{"ready":false}' } } }),
    async (api) => {
      const ok = await api.kubectl(kubectlArgs(serviceGetArgs("ai-app", "http", "/version", T)));
      assert.equal([ok.exitCode, ok.stdout], [0, version], ok.stderr);
      assert.ok(api.requests.some((r) => r.url === "/api/v1/namespaces/prod/services/http:ai-app:http/proxy/version"));
      const notReady = await api.kubectl(kubectlArgs(serviceGetArgs("ai-app", "http", "readyz", T)));
      assert.is(notReady.exitCode, 1);
      assert.match(notReady.stderr, "ServiceUnavailable");
    },
  );
});

test.run();
