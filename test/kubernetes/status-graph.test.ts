/**
 * Recorded-graph tests of `status`: the one kubectl command it would ask the engine to run (the
 * pinned kubectl image, the kubeconfig as a mounted Secret, never cached), and the object it
 * returns from kubectl's answer. kubectl's output here is what the real kubectl printed against
 * the stand-in API server (test/kubernetes/status.test.ts shows that half).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { IMAGES } from "../../dagger/src/images.js";
import { PATHS, TOKEN_USER } from "../../dagger/src/kubernetes/commands.js";
import { DeploymentStatus } from "../../dagger/src/kubernetes/deployment-status.js";
import { renderAnnotations } from "../../dagger/src/kubernetes/render.js";
import { namedObjectId, Op } from "../support/fake-engine.js";
import { contextDir, execArgv, queriesOutsideSetSecret, repositoryFiles, runs } from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { dag } from "../support/sdk.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph } from "../support/session.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { IMAGE, MODEL, REVISION } from "../support/kubernetes.js";
import { AKS_AUDIENCE, inMinutes, jwt } from "../support/jwt.js";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: kubeconfig-plaintext-S3CRET\n";

/** What the real kubectl prints for status's command: a deployed, rolled-out app behind a load balancer. */
async function realKubectlOutput(): Promise<string> {
  const api = await new FakeApiServer({
    namespace: "prod",
    deployment: {
      name: "ai-app",
      revision: "7",
      image: IMAGE,
      rollout: "complete",
      annotations: renderAnnotations(IMAGE, { revision: REVISION, model: MODEL }),
    },
    service: {
      metadata: { name: "ai-app" },
      spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: "20.31.4.5" }] } },
    },
    replicaSets: {},
    pods: [],
    events: [],
  }).start();
  try {
    const r = await api.kubectl(["get", "deployment/ai-app", "service/ai-app", "--ignore-not-found", "--output=json", "--namespace=prod"]);
    assert.is(r.exitCode, 0, r.stderr);
    return r.stdout;
  } finally {
    await api.stop();
  }
}

function responder(kubectl: { exitCode?: number; stdout?: string; stderr?: string }) {
  return (chain: Op[]): unknown => {
    const repo = repositoryFiles(chain);
    if (repo !== undefined) return repo;
    const leaf = chain.at(-1)!;
    if (runs("kubectl", "get")(chain.at(-2)) && ["exitCode", "stdout", "stderr"].includes(leaf.field)) {
      return ({ exitCode: 0, stdout: "", stderr: "", ...kubectl } as Record<string, unknown>)[leaf.field];
    }
    return undefined;
  };
}

const pipeline = () => new AiAppPipeline(contextDir("/"), REVISION);

test("status: one kubectl get in the pinned kubectl image, kubeconfig as a mounted Secret; the object carries what runs", async () => {
  const stdout = await realKubectlOutput();
  const { engine, error, result } = await recordGraph(
    () => pipeline().withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod", "aks-prod").status(),
    { respond: responder({ stdout }) },
  );
  assert.is(error, undefined, String(error));
  const execs = engine.find("withExec");
  assert.equal(
    execs.map((e) => execArgv(e.op)),
    [
      [
        "kubectl",
        "get",
        "deployment/ai-app",
        "service/ai-app",
        "--ignore-not-found",
        "--output=json",
        "--namespace=prod",
        "--context=aks-prod",
      ],
    ],
  );
  const prefix = execs[0]!.prefix;
  assert.is(prefix.find((o) => o.field === "from")?.args.address, IMAGES.kubectl);
  assert.equal(
    prefix.filter((o) => o.field === "withMountedSecret").map((o) => o.args.path),
    [PATHS.kubeconfig],
  );
  assert.ok(
    prefix.some((o) => o.field === "withEnvVariable" && o.args.name === "AI_APP_PIPELINE_KUBECTL_SESSION"),
    "a fresh session per call: a cached status would be a lie",
  );
  assert.equal(
    queriesOutsideSetSecret(engine).filter((q) => q.includes("S3CRET")),
    [],
  );

  assert.ok(result instanceof DeploymentStatus);
  const s = result as DeploymentStatus;
  assert.equal(
    [s.deployed, s.image, s.modelName, s.modelVersion, s.modelSha256, s.revision, s.deploymentRevision],
    [true, IMAGE, MODEL.name, MODEL.version, MODEL.sha256, REVISION, "7"],
  );
  assert.equal([s.replicasDesired, s.replicasUpdated, s.replicasReady, s.replicasAvailable, s.rollout], [2, 2, 2, 2, "complete"]);
  assert.equal([s.address, s.url], ["20.31.4.5", "http://20.31.4.5"]);
  const json = JSON.parse(s.json) as Record<string, unknown>;
  assert.equal(
    Object.keys(json).sort(),
    Object.keys(new DeploymentStatus())
      .filter((k) => k !== "summary" && k !== "json")
      .sort(),
  );
  assert.equal([json.image, json.replicasReady, json.url], [IMAGE, 2, "http://20.31.4.5"]);
  assert.match(s.summary, "deployment/ai-app in namespace prod (context aks-prod): complete (successfully rolled out)");
});

test("status with --entra-token reads as the token user; not deployed is an answer, kubectl failing is an error with what to do", async () => {
  const token = await recordGraph(
    () =>
      pipeline()
        .withCluster(
          dag.setSecret("kubeconfig", KUBECONFIG),
          "prod",
          undefined,
          dag.setSecret("t", jwt({ aud: AKS_AUDIENCE, exp: inMinutes(60) }, "S3CRET")),
        )
        .status(),
    { respond: responder({}) },
  );
  assert.is(token.error, undefined, String(token.error));
  assert.ok(execArgv(token.engine.find("withExec")[0]!.op).includes(`--user=${TOKEN_USER}`));
  const none = token.result as DeploymentStatus;
  assert.equal([none.deployed, none.rollout, none.image], [false, "not-deployed", ""]);
  assert.match(none.summary, "not deployed: no deployment/ai-app in namespace prod");

  const failed = await recordGraph(() => pipeline().withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod").status(), {
    respond: responder({
      exitCode: 1,
      stderr: "Unable to connect to the server: getting credentials: exec: executable kubelogin not found",
    }),
  });
  assert.match(failed.error?.message ?? "", "could not read deployment/ai-app in namespace prod (kubectl exit 1)");
  assert.match(failed.error?.message ?? "", "this kubeconfig signs in with kubelogin");

  const noCluster = await recordGraph(() => pipeline().status(), { respond: responder({}) });
  assert.match(noCluster.error?.message ?? "", /no cluster configured: start the call with with-cluster/);
});

test("status is registered uncached, returning DeploymentStatus, whose fields the engine can read", async () => {
  const m = await introspectModule();
  assert.is(m.main.functions.status?.cache, "never");
  assert.is(m.main.functions.status?.returnType, "DeploymentStatus");
  assert.is(m.main.functions.release?.returnType, "ReleaseResult");
  assert.is(m.main.functions.release?.args.dryRun?.defaultValue, "false");
  // The register step: each object's fields are declared to the engine with their types.
  const run = await callThroughEntrypoint({ call: { parentName: "", name: "" } });
  assert.is(run.exitCode, 0, run.output);
  const fields = (object: string) =>
    run.engine
      .find("withField")
      .filter((f) => f.prefix.some((o) => o.field === "withObject" && o.args.name === object))
      .map((f) => String(f.op.args.name))
      .sort();
  assert.equal(fields("DeploymentStatus"), Object.keys(new DeploymentStatus()).sort());
  assert.ok(fields("ReleaseResult").includes("image") && fields("ReleaseResult").includes("dryRun"), fields("ReleaseResult").join());
});

test("status through the SDK entrypoint: the saved object holds every field and nothing else", async () => {
  const stdout = await realKubectlOutput();
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "status",
      parent: {
        source: contextDirectoryId("/"),
        revision: "dev",
        created: "",
        sourceUrl: "",
        cluster: { kubeconfig: namedObjectId("secret", "kubeconfig"), namespace: "prod" },
      },
      inputArgs: {},
    },
    respond: responder({ stdout }),
  });
  assert.is(run.error, undefined, run.error);
  assert.is(run.exitCode, 0, run.output);
  const value = run.value as Record<string, unknown>;
  assert.equal(Object.keys(value).sort(), Object.keys(new DeploymentStatus()).sort());
  assert.equal([value.image, value.replicasReady, value.url], [IMAGE, 2, "http://20.31.4.5"]);
});

test.run();
