/**
 * `status`'s one kubectl command, run by the real kubectl against the stand-in API server, and the
 * pure reading of its JSON: image, model, revision, replicas, rollout state, public address.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appObjects, formatStatus, parseStatus, statusArgs, StatusReport } from "../../dagger/src/kubernetes/status.js";
import { renderAnnotations } from "../../dagger/src/kubernetes/render.js";
import { ApiState, FakeApiServer, RolloutState } from "../support/fake-apiserver.js";
import { IMAGE, MODEL, REVISION, shippedManifests } from "../support/kubernetes.js";

const OBJECTS = { deployment: "ai-app", service: "ai-app" };
const T = { namespace: "prod" };

/** The shipped Service as the API server returns it on AKS, with its load balancer's status. */
function service(type = "LoadBalancer", ingress?: { ip?: string; hostname?: string }[]) {
  return {
    metadata: { name: "ai-app" },
    spec: {
      type,
      clusterIP: "10.0.12.7",
      ports: [{ name: "http", port: 80, targetPort: "http", protocol: "TCP" }],
      selector: { "app.kubernetes.io/name": "ai-app" },
    },
    status: { loadBalancer: ingress ? { ingress } : {} },
  };
}

/** `svc` null: no Service on the server. */
function state(
  rollout: RolloutState | undefined,
  svc: ApiState["service"] | null = service("LoadBalancer", [{ ip: "20.31.4.5" }]),
): ApiState {
  return {
    namespace: "prod",
    deployment: rollout
      ? {
          name: "ai-app",
          revision: "7",
          image: IMAGE,
          rollout,
          annotations: renderAnnotations(IMAGE, { revision: REVISION, model: MODEL }),
        }
      : undefined,
    ...(svc ? { service: svc } : {}),
    replicaSets: {},
    pods: [],
    events: [],
  };
}

/** What kubectl prints for `status`'s command against a server in `s`. */
async function kubectlStatus(s: ApiState, objects = OBJECTS) {
  const api = await new FakeApiServer(s).start();
  try {
    const r = await api.kubectl(statusArgs(objects, T).slice(1));
    return { ...r, urls: api.requests.map((q) => q.url) };
  } finally {
    await api.stop();
  }
}

test("the command: one kubectl get for the Deployment and the Service, absent ones no error, our target flags", () => {
  assert.equal(statusArgs(OBJECTS, { namespace: "prod", context: "aks-prod", token: true }), [
    "kubectl",
    "get",
    "deployment/ai-app",
    "service/ai-app",
    "--ignore-not-found",
    "--output=json",
    "--namespace=prod",
    "--context=aks-prod",
    "--user=ai-app-pipeline-token",
  ]);
  assert.equal(statusArgs({ deployment: "ai-app" }, T).slice(2, 4), ["deployment/ai-app", "--ignore-not-found"]);
});

test("the app's names come from k8s/: the Deployment and the Service that selects its pods", () => {
  assert.equal(appObjects(shippedManifests()), OBJECTS);
  const noService = shippedManifests().filter((f) => f.path !== "service.yaml");
  assert.equal(appObjects(noService), { deployment: "ai-app" });
  assert.throws(() => appObjects(shippedManifests().filter((f) => f.path === "service.yaml")), /no named Deployment/);
});

test("deployed and rolled out: digest, model, git revision, replicas and the load balancer's IP, from real kubectl JSON", async () => {
  const r = await kubectlStatus(state("complete"));
  assert.is(r.exitCode, 0, r.stderr);
  assert.ok(
    r.urls.some((u) => u.startsWith("/apis/apps/v1/namespaces/prod/deployments/ai-app")),
    r.urls.join("\n"),
  );
  assert.ok(
    r.urls.some((u) => u.startsWith("/api/v1/namespaces/prod/services/ai-app")),
    r.urls.join("\n"),
  );
  const s = parseStatus(r.stdout, OBJECTS, "prod");
  assert.equal(s, {
    namespace: "prod",
    deployment: "ai-app",
    deployed: true,
    image: IMAGE,
    model: MODEL,
    revision: REVISION,
    deploymentRevision: "7",
    replicas: { desired: 2, updated: 2, ready: 2, available: 2 },
    rollout: "complete",
    rolloutDetail: "successfully rolled out",
    address: "20.31.4.5",
    url: "http://20.31.4.5",
  } satisfies StatusReport);
  const text = formatStatus(s, "aks-prod");
  assert.match(text, "deployment/ai-app in namespace prod (context aks-prod): complete");
  assert.match(text, `model: ${MODEL.name} ${MODEL.version} sha256:${MODEL.sha256}`);
  assert.match(text, "replicas: 2/2 ready, 2 updated, 2 available");
  assert.match(text, "address: http://20.31.4.5");
});

test("rollout states as kubectl rollout status judges them: progressing, failed on a missed deadline", async () => {
  const progressing = parseStatus((await kubectlStatus(state("progressing"))).stdout, OBJECTS, "prod");
  assert.is(progressing.rollout, "progressing");
  assert.is(progressing.rolloutDetail, "1 of 2 new replicas updated");
  assert.equal(progressing.replicas, { desired: 2, updated: 1, ready: 2, available: 2 });
  const failed = parseStatus((await kubectlStatus(state("deadline-exceeded"))).stdout, OBJECTS, "prod");
  assert.is(failed.rollout, "failed");
  assert.match(failed.rolloutDetail, 'exceeded its progress deadline: ReplicaSet "ai-app-7" has timed out progressing.');
});

test("rollout states the stand-in does not serve: old replicas pending, unavailable, unobserved spec, paused, degraded", () => {
  const deployment = (spec: object, status: object, generation = 2) =>
    JSON.stringify({ kind: "Deployment", metadata: { name: "ai-app", generation }, spec, status: { observedGeneration: 2, ...status } });
  const judge = (json: string) => {
    const s = parseStatus(json, { deployment: "ai-app" }, "prod");
    return `${s.rollout}: ${s.rolloutDetail}`;
  };
  assert.is(
    judge(deployment({ replicas: 2 }, { replicas: 3, updatedReplicas: 2, availableReplicas: 2 })),
    "progressing: 1 old replicas pending termination",
  );
  assert.is(
    judge(deployment({ replicas: 2 }, { replicas: 2, updatedReplicas: 2, availableReplicas: 1 })),
    "progressing: 1 of 2 updated replicas available",
  );
  assert.is(judge(deployment({ replicas: 2 }, {}, 3)), "progressing: waiting for the Deployment controller to observe the new spec");
  assert.is(judge(deployment({ replicas: 2, paused: true }, {})), "paused: the rollout is paused (kubectl rollout resume to continue)");
  // Scaled to zero on purpose is complete, not degraded.
  assert.is(judge(deployment({ replicas: 0 }, {})), "complete: successfully rolled out");
});

test("the public address: pending load balancer, a host name, a ClusterIP service, no Service", async () => {
  const address = async (svc: ApiState["service"] | null) => {
    const s = parseStatus((await kubectlStatus(state("complete", svc))).stdout, OBJECTS, "prod");
    return [s.address, s.url];
  };
  assert.equal(await address(service("LoadBalancer")), ["none yet (load balancer pending)", ""]);
  assert.equal(await address(service("LoadBalancer", [{ hostname: "ai-app.westeurope.cloudapp.azure.com" }])), [
    "ai-app.westeurope.cloudapp.azure.com",
    "http://ai-app.westeurope.cloudapp.azure.com",
  ]);
  assert.equal(await address(service("ClusterIP")), ["none (ClusterIP service 10.0.12.7, reachable only inside the cluster)", ""]);
  assert.equal(await address(null), ["none (no service/ai-app)", ""]);
});

test("not deployed: kubectl prints nothing (exit 0) and the report says so in words, not a stack trace", async () => {
  const nothing = await kubectlStatus(state(undefined, null));
  assert.equal([nothing.exitCode, nothing.stdout], [0, ""], nothing.stderr);
  const s = parseStatus(nothing.stdout, OBJECTS, "prod");
  assert.is(s.deployed, false);
  assert.is(s.rollout, "not-deployed");
  assert.is(s.image, "");
  const text = formatStatus(s);
  assert.match(text, "not deployed: no deployment/ai-app in namespace prod (not deployed yet, or the namespace does not exist)");
  assert.match(text, "release");
  // The Service alone (applied by hand, say) does not make a deployment.
  const serviceOnly = await kubectlStatus(state(undefined));
  assert.is(parseStatus(serviceOnly.stdout, OBJECTS, "prod").deployed, false);
});

test("output that is not kubectl's JSON is an error that quotes it", () => {
  assert.throws(
    () => parseStatus("error: You must be logged in to the server (Unauthorized)", OBJECTS, "prod"),
    /not JSON: error: You must/,
  );
});

test.run();
