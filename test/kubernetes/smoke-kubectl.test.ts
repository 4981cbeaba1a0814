/**
 * The smoke check's `kubectl run` argv, run by the real kubectl against the stand-in API server:
 * kubectl builds the pod (applying our overrides its own way), the server validates it as the
 * real one does for these fields, kubectl reads the finished pod's log, returns its exit code and
 * deletes it. What reaches the server is checked: the deployed image, the check's command, the
 * hardening.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSmokeOutput, smokeTestArgs, SmokeTarget } from "../../dagger/src/kubernetes/smoke.js";
import { targetFlags } from "../../dagger/src/kubernetes/commands.js";
import { APP_UID } from "../../dagger/src/images.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { IMAGE } from "../support/kubernetes.js";

const TARGET: SmokeTarget = { image: IMAGE, namespace: "prod", url: "http://ai-app.prod.svc", modelSha256: "d".repeat(64), runId: "Run_7" };
const PASSED = '{"ok": true, "problems": [], "seen": {"readyz": 200}}\n';

interface SentPod {
  metadata: { name: string };
  spec: {
    automountServiceAccountToken?: boolean;
    restartPolicy?: string;
    securityContext?: Record<string, unknown>;
    containers: {
      name: string;
      image?: string;
      command?: string[];
      args?: string[];
      securityContext?: Record<string, unknown>;
      resources?: unknown;
    }[];
  };
}

async function runSmoke(args: string[], podRun: { exitCode: number; log: string }) {
  const api = await new FakeApiServer({ namespace: "prod", replicaSets: {}, pods: [], events: [], podRun }).start();
  try {
    const result = await api.kubectl(args.slice(1));
    const post = api.requests.find((r) => r.method === "POST" && r.url.startsWith("/api/v1/namespaces/prod/pods"));
    const deleted = api.requests.some((r) => r.method === "DELETE" && r.url.startsWith("/api/v1/namespaces/prod/pods/"));
    return { result, sent: post ? (JSON.parse(post.body) as SentPod) : undefined, deleted, left: api.createdPods.length };
  } finally {
    await api.stop();
  }
}

test("the pod kubectl sends runs the deployed image with the check's command, hardened, and is removed after", async () => {
  const { result, sent, deleted, left } = await runSmoke(smokeTestArgs(TARGET, targetFlags({ namespace: "prod" })), {
    exitCode: 0,
    log: PASSED,
  });
  assert.is(result.exitCode, 0, result.stderr);
  assert.equal(parseSmokeOutput(result.stdout)?.ok, true);
  assert.ok(sent, "kubectl created a pod");
  const pod = sent!;
  assert.is(pod.metadata.name, "smoke-run-7");
  assert.is(pod.spec.containers.length, 1, "one container: the override merged into kubectl's, not added beside it");
  const c = pod.spec.containers[0]!;
  assert.is(c.image, IMAGE);
  assert.equal(c.command?.slice(0, 2), ["python", "-c"]);
  assert.match(c.command?.[2] ?? "", /def main\(argv\)/);
  assert.equal(c.command?.slice(3), [TARGET.url, TARGET.modelSha256]);
  assert.is(pod.spec.restartPolicy, "Never");
  assert.is(pod.spec.automountServiceAccountToken, false);
  assert.equal(pod.spec.securityContext, {
    runAsNonRoot: true,
    runAsUser: APP_UID,
    runAsGroup: APP_UID,
    seccompProfile: { type: "RuntimeDefault" },
  });
  assert.equal(c.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
  assert.ok(c.resources, "resources set");
  assert.ok(deleted && left === 0, "--rm deleted the pod");
});

test("a failing check: kubectl exits non-zero and the check's problems are read back", async () => {
  const log = '{"ok": false, "problems": ["/readyz answered 503, expected 200"], "seen": {}}\n';
  const { result } = await runSmoke(smokeTestArgs(TARGET, targetFlags({ namespace: "prod" })), { exitCode: 1, log });
  assert.is.not(result.exitCode, 0);
  assert.equal(parseSmokeOutput(result.stdout)?.problems, ["/readyz answered 503, expected 200"]);
});

test("the stand-in rejects what the API server rejects: kubectl's default merge patch drops the image", async () => {
  // The same overrides as a JSON merge patch (kubectl's default) replace spec.containers whole.
  const args = smokeTestArgs(TARGET, targetFlags({ namespace: "prod" })).filter((a) => a !== "--override-type=strategic");
  const { result, sent } = await runSmoke(args, { exitCode: 0, log: PASSED });
  assert.is(result.exitCode, 1);
  assert.match(result.stderr, 'Pod "smoke-run-7" is invalid: spec.containers[0].image: Required value');
  assert.is(sent?.spec.containers[0]?.image, undefined);
});

test.run();
