/**
 * Recorded-graph tests of manifests/diff/deploy: the graph the module would send to a Dagger
 * engine, captured by the fake engine, with kubectl's exit codes and output scripted per command.
 * Nothing here runs a container or reaches a cluster: this proves what would be asked of the
 * engine, in which order, and what the TypeScript decides from the answers.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseAllDocuments } from "yaml";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { IMAGES } from "../../dagger/src/images.js";
import { PATHS, TOKEN_USER } from "../../dagger/src/kubernetes/commands.js";
import { IMAGE_LABELS } from "../../dagger/src/app-image/labels.js";
import { deployImage, serviceGet } from "../../dagger/src/kubernetes/deploy.js";
import { validateManifests } from "../../dagger/src/kubernetes/validate.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import { baseImages, contextDir, contextPath, isPinnedImage, queriesOutsideSetSecret, repositoryFiles } from "../support/graph.js";
import { dag } from "../support/sdk.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph, ROOT } from "../support/session.js";
import { IMAGE, MODEL, REVISION } from "../support/kubernetes.js";
import { AKS_AUDIENCE, inMinutes, jwt } from "../support/jwt.js";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: kubeconfig-plaintext-S3CRET\n";
/** An Entra access token for AKS (checked for its claims before kubectl runs), its signature part a marker. */
const TOKEN = jwt({ aud: AKS_AUDIENCE, exp: inMinutes(60) }, "entra-plaintext-S3CRET");
const LABELS: Record<string, string> = {
  [IMAGE_LABELS.revision]: REVISION,
  [IMAGE_LABELS.modelName]: MODEL.name,
  [IMAGE_LABELS.modelVersion]: MODEL.version,
  [IMAGE_LABELS.modelSha256]: MODEL.sha256,
};

type Step = "read-revision" | "dry-run" | "apply" | "rollout-status" | "get-pods" | "get-events" | "undo" | "undo-status" | "diff";
interface Result {
  exitCode?: number;
  stdout?: string;
  stderr?: string;
}
/** The parts of a rendered Deployment these tests read. */
interface Deployment {
  metadata: { namespace: string };
  spec: { replicas: number; template: { metadata: { annotations: Record<string, string> }; spec: { containers: { image: string }[] } } };
}

/** Which kubectl command an argv is (the second rollout status is the one after an undo). */
function stepOf(args: string[], prefix: Op[]): Step | undefined {
  const a = args.slice(1).join(" ");
  const undone = prefix.some((o) => o.field === "withExec" && (o.args.args as string[]).slice(1, 3).join(" ") === "rollout undo");
  if (a.startsWith("get deployment/")) return "read-revision";
  if (a.startsWith("apply ")) return a.includes("--dry-run=server") ? "dry-run" : "apply";
  if (a.startsWith("rollout status ")) return undone ? "undo-status" : "rollout-status";
  if (a.startsWith("get pods ")) return "get-pods";
  if (a.startsWith("get events ")) return "get-events";
  if (a.startsWith("rollout undo ")) return "undo";
  if (a.startsWith("diff ")) return "diff";
  return undefined;
}

/**
 * Answers what the deploy step reads: files of the repository (k8s/ unless `k8s` overrides it),
 * the image's labels, and each kubectl command's exit code and output from `script`.
 */
function responder(script: Partial<Record<Step, Result>> = {}, k8s?: Record<string, string>) {
  return (chain: Op[]): unknown => {
    const leaf = chain.at(-1)!;
    const parent = chain.slice(0, -1);
    if (leaf.field === "entries" || leaf.field === "contents") {
      const path = contextPath(parent);
      if (k8s && path === "k8s") return Object.keys(k8s);
      if (k8s && path?.startsWith("k8s/")) return k8s[path.slice(4)];
      return repositoryFiles(chain);
    }
    if (leaf.field === "label" && parent.some((o) => o.field === "from" && o.args.address === IMAGE))
      return LABELS[String(leaf.args.name)] ?? null;
    const exec = parent.at(-1);
    if (exec?.field === "withExec" && ["exitCode", "stdout", "stderr"].includes(leaf.field)) {
      const args = exec.args.args as string[];
      const step = stepOf(args, parent.slice(0, -1));
      const r = (step && script[step]) ?? {};
      const defaults: Result = { exitCode: 0, stdout: step === "apply" ? "deployment.apps/ai-app serverside-applied\n" : "", stderr: "" };
      return ({ ...defaults, ...r } as Record<string, unknown>)[leaf.field];
    }
    return undefined;
  };
}

const pipeline = () => new AiAppPipeline(contextDir("/"), REVISION);
const kubeconfig = () => dag.setSecret("kubeconfig", KUBECONFIG);

/** Every kubectl exec, in the order the final container's chain holds them. */
function kubectlSequence(engine: FakeEngine): { step: Step | undefined; args: string[]; prefix: Op[] }[] {
  const execs = engine.find("withExec").filter((e) => (e.op.args.args as string[])[0] === "kubectl");
  const longest = execs.reduce((a, b) => (b.prefix.length > a.prefix.length ? b : a), execs[0]!);
  const chain = [...longest.prefix, longest.op];
  return chain
    .map((op, i) => ({ op, prefix: chain.slice(0, i) }))
    .filter(({ op }) => op.field === "withExec" && (op.args.args as string[])[0] === "kubectl")
    .map(({ op, prefix }) => ({ step: stepOf(op.args.args as string[], prefix), args: op.args.args as string[], prefix }));
}

/** The rendered files that were mounted at /manifests for kubectl. */
function appliedManifests(engine: FakeEngine, prefix: Op[]): { path: string; text: string }[] {
  const mount = prefix.find((o) => o.field === "withDirectory" && o.args.path === PATHS.manifests);
  assert.ok(mount, "manifests mounted at /manifests");
  return engine
    .chainOf(String(mount!.args.source))
    .filter((o) => o.field === "withNewFile")
    .map((o) => ({ path: String(o.args.path), text: String(o.args.contents) }));
}

const POD_PULL_FAILED = JSON.stringify({
  items: [
    {
      metadata: { name: "ai-app-7c9d6b8f5-xk2lp" },
      status: {
        phase: "Pending",
        conditions: [{ type: "Ready", status: "False" }],
        containerStatuses: [
          { name: "app", ready: false, state: { waiting: { reason: "ImagePullBackOff", message: "Back-off pulling image" } } },
        ],
      },
    },
  ],
});

test("deploy: kubectl pinned, kubeconfig only as a mounted Secret, digest manifests, apply -> rollout status in order", async () => {
  const { engine, error, result } = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").deploy(IMAGE), {
    respond: responder({ "read-revision": { stdout: "3" } }),
  });
  assert.is(error, undefined, String(error));
  assert.match(String(result), `deployed ${IMAGE} to deployment/ai-app in namespace prod: rollout complete (previous revision 3)`);

  // Images: the kubectl image at its exact tag; the app image only read for its labels.
  assert.ok(baseImages(engine).includes(IMAGES.kubectl));
  assert.ok(baseImages(engine).every(isPinnedImage), baseImages(engine).join());

  const seq = kubectlSequence(engine);
  assert.equal(
    seq.map((s) => s.step),
    ["read-revision", "dry-run", "apply", "rollout-status"],
  );
  // Each command may exit non-zero without failing the graph: TypeScript reads the exit code.
  for (const e of engine.find("withExec")) assert.is(e.op.args.expect, "ANY", (e.op.args.args as string[]).join(" "));
  const prefix = seq.at(-1)!.prefix;
  assert.is(prefix.find((o) => o.field === "from")?.args.address, IMAGES.kubectl, "kubectl runs in the pinned kubectl image");

  // The kubeconfig: mounted from the Secret the caller made, at the path KUBECONFIG names; nowhere else.
  const mounts = prefix.filter((o) => o.field === "withMountedSecret");
  assert.equal(
    mounts.map((m) => m.args.path),
    [PATHS.kubeconfig],
  );
  assert.equal(engine.chainOf(String(mounts[0]!.args.source)).at(-1), {
    field: "setSecret",
    args: { name: "kubeconfig", plaintext: KUBECONFIG },
  });
  const env = Object.fromEntries(prefix.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));
  assert.is(env.KUBECONFIG, PATHS.kubeconfig);
  for (const o of engine.allOps()) {
    assert.not.ok(["withSecretVariable"].includes(o.op.field), "no secret as an env variable");
    if (o.op.field === "withNewFile" || o.op.field === "withEnvVariable") assert.not.match(JSON.stringify(o.op.args), "S3CRET", o.op.field);
  }
  assert.equal(
    queriesOutsideSetSecret(engine).filter((q) => q.includes("S3CRET")),
    [],
    "plaintext only in setSecret",
  );

  // A fresh cache key per run: a cached `rollout status` from another day would be a lie.
  assert.ok(env.AI_APP_PIPELINE_KUBECTL_SESSION, "cache-busting session variable");

  // What was applied: the rendered k8s/, image by digest, annotated, valid.
  const files = appliedManifests(engine, prefix);
  assert.equal(files.map((f) => f.path).sort(), ["deployment.yaml", "pdb.yaml", "service.yaml"]);
  assert.equal(await validateManifests(files), []);
  const deployment = (
    parseAllDocuments(files.find((f) => f.path === "deployment.yaml")!.text)[0] as { toJS(): unknown }
  ).toJS() as Deployment;
  assert.is(deployment.spec.template.spec.containers[0]?.image, IMAGE);
  assert.is(deployment.metadata.namespace, "prod");
  assert.is(deployment.spec.template.metadata.annotations["ai-app-pipeline/model-version"], MODEL.version);
  assert.is(deployment.spec.template.metadata.annotations["ai-app-pipeline/git-revision"], REVISION);

  const apply = seq.find((s) => s.step === "apply")!.args;
  assert.equal(apply, [
    "kubectl",
    "apply",
    "--server-side",
    "--field-manager=ai-app-pipeline",
    `--filename=${PATHS.manifests}`,
    "--namespace=prod",
  ]);
  assert.equal(seq.find((s) => s.step === "rollout-status")!.args, [
    "kubectl",
    "rollout",
    "status",
    "deployment/ai-app",
    "--watch=true",
    "--timeout=5m",
    "--namespace=prod",
  ]);
});

test("deploy keeps the Service's DNS label (read from the cluster once the manifests validated); --dns-label sets it", async () => {
  const annotation = "service.beta.kubernetes.io/azure-dns-label-name";
  const withLabel = (chain: Op[]): unknown => {
    const exec = chain.at(-2);
    const args = exec?.field === "withExec" ? (exec.args.args as string[]) : [];
    if (args.slice(0, 3).join(" ") === "kubectl get service/ai-app" && chain.at(-1)!.field === "stdout")
      return JSON.stringify({ kind: "Service", metadata: { name: "ai-app", annotations: { [annotation]: "ai-app-prod" } } });
    return responder({ "read-revision": { stdout: "3" } })(chain);
  };
  const serviceApplied = (engine: FakeEngine) =>
    appliedManifests(engine, kubectlSequence(engine).at(-1)!.prefix).find((f) => f.path === "service.yaml")!.text;
  const kept = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").deploy(IMAGE), { respond: withLabel });
  assert.is(kept.error, undefined, String(kept.error));
  assert.match(serviceApplied(kept.engine), `${annotation}: ai-app-prod`, "a deploy does not take the public name away");
  assert.equal(
    kubectlSequence(kept.engine).map((s) => s.step),
    ["read-revision", "dry-run", "apply", "rollout-status"],
    "the deploy itself unchanged",
  );
  const set = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").deploy(IMAGE, "5m", undefined, false, "ai-app-new"), {
    respond: withLabel,
  });
  assert.is(set.error, undefined, String(set.error));
  assert.match(serviceApplied(set.engine), `${annotation}: ai-app-new`);
  assert.not.ok(
    set.engine.find("withExec").some((e) => (e.op.args.args as string[])[2] === "service/ai-app"),
    "with --dns-label, nothing to read",
  );
});

test("deploy: a failed rollout gathers pods and events, undoes to the revision read first, and fails saying so", async () => {
  const { engine, error } = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod", "aks-prod").deploy(IMAGE, "90s"), {
    respond: responder({
      "read-revision": { stdout: "3" },
      "rollout-status": { exitCode: 1, stderr: 'error: deployment "ai-app" exceeded its progress deadline' },
      "get-pods": { stdout: POD_PULL_FAILED },
      "get-events": { stdout: '{"items":[]}' },
    }),
  });
  assert.ok(error, "a failed rollout fails the function");
  assert.match(error!.message, "the rollout of");
  assert.match(error!.message, "ImagePullBackOff");
  assert.match(error!.message, "Rolled back deployment/ai-app to revision 3");
  const seq = kubectlSequence(engine);
  assert.equal(
    seq.map((s) => s.step),
    ["read-revision", "dry-run", "apply", "rollout-status", "get-pods", "get-events", "undo", "undo-status"],
  );
  assert.equal(seq.find((s) => s.step === "undo")!.args, [
    "kubectl",
    "rollout",
    "undo",
    "deployment/ai-app",
    "--to-revision=3",
    "--namespace=prod",
    "--context=aks-prod",
  ]);
  assert.ok(seq.every((s) => s.args.includes("--context=aks-prod")));
  assert.ok(seq.find((s) => s.step === "rollout-status")!.args.includes("--timeout=90s"));
});

test("deploy: the undo itself failing is an error that says the rollback failed", async () => {
  const { error } = await recordGraph(() => pipeline().withCluster(kubeconfig()).deploy(IMAGE), {
    respond: responder({
      "read-revision": { stdout: "3" },
      "rollout-status": { exitCode: 1, stderr: "error: timed out waiting for the condition" },
      "get-pods": { stdout: POD_PULL_FAILED },
      undo: { exitCode: 1, stderr: "error: unable to find specified revision 3 in history" },
    }),
  });
  assert.match(error?.message ?? "", "Rolling back to revision 3 FAILED too");
});

test("deploy: a manifest the server rejects stops after the dry run, nothing applied or undone", async () => {
  const { engine, error } = await recordGraph(() => pipeline().withCluster(kubeconfig()).deploy(IMAGE), {
    respond: responder({
      "read-revision": { stdout: "3" },
      "dry-run": { exitCode: 1, stderr: 'Error from server (Forbidden): deployments.apps "ai-app" is forbidden' },
    }),
  });
  assert.match(error?.message ?? "", "the cluster rejected the manifests");
  assert.match(error?.message ?? "", "nothing was changed");
  assert.equal(
    kubectlSequence(engine).map((s) => s.step),
    ["read-revision", "dry-run"],
  );
});

test("deploy: invalid manifests fail before any kubectl command, listing every violation", async () => {
  const deployment = readFileSync(join(ROOT, "k8s/deployment.yaml"), "utf8")
    .replace(/ {10}readinessProbe:\n( {12}.*\n)+/, "")
    .replace("readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false");
  const { engine, error } = await recordGraph(() => pipeline().withCluster(kubeconfig()).deploy(IMAGE), {
    respond: responder({}, { "deployment.yaml": deployment }),
  });
  assert.match(error?.message ?? "", "the manifests in k8s/ failed validation (2 problems); nothing was applied");
  assert.match(error?.message ?? "", "deployment.yaml: Deployment/ai-app: container app: readinessProbe is missing");
  assert.match(
    error?.message ?? "",
    "deployment.yaml: Deployment/ai-app: container app: securityContext.readOnlyRootFilesystem is not true",
  );
  assert.is(engine.find("withExec").length, 0, "no command ran");
});

test("deploy: an image given by tag is refused before the registry or the cluster is asked anything", async () => {
  const { engine, error } = await recordGraph(() => pipeline().withCluster(kubeconfig()).deploy("myacr.azurecr.io/ai-app:main"), {
    respond: responder(),
  });
  assert.match(error?.message ?? "", 'image "myacr.azurecr.io/ai-app:main" is referenced by tag only');
  assert.equal(baseImages(engine), []);
  assert.is(engine.find("withExec").length, 0);
});

test("deploy: an image without model labels is refused (every deployed image is traceable to its model)", async () => {
  const { engine, error } = await recordGraph(() => pipeline().withCluster(kubeconfig()).deploy(IMAGE), {
    respond: (c) => (c.at(-1)?.field === "label" ? "" : responder()(c)),
  });
  assert.match(error?.message ?? "", `image ${IMAGE} has no model labels`);
  assert.is(engine.find("withExec").length, 0);
});

test("deploy with an Entra token: token mounted from its Secret, a path-only user fragment, --user on every command", async () => {
  const { engine, error } = await recordGraph(
    () => pipeline().withCluster(kubeconfig(), "prod", undefined, dag.setSecret("aks-token", TOKEN)).deploy(IMAGE),
    {
      respond: responder({ "read-revision": { stdout: "1" } }),
    },
  );
  assert.is(error, undefined, String(error));
  const seq = kubectlSequence(engine);
  const prefix = seq.at(-1)!.prefix;
  const mounts = Object.fromEntries(
    prefix
      .filter((o) => o.field === "withMountedSecret")
      .map((o) => [o.args.path, engine.chainOf(String(o.args.source)).at(-1)!.args.name]),
  );
  assert.equal(mounts, { [PATHS.kubeconfig]: "kubeconfig", [PATHS.token]: "aks-token" });
  const fragment = prefix.find((o) => o.field === "withNewFile" && o.args.path === PATHS.tokenUser);
  assert.match(String(fragment?.args.contents), `tokenFile: ${PATHS.token}`);
  const env = Object.fromEntries(prefix.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));
  assert.is(env.KUBECONFIG, `${PATHS.kubeconfig}:${PATHS.tokenUser}`);
  for (const s of seq) assert.ok(s.args.includes(`--user=${TOKEN_USER}`), s.args.join(" "));
  assert.equal(
    queriesOutsideSetSecret(engine).filter((q) => q.includes("S3CRET")),
    [],
  );
});

test("diff: kubectl diff exit 1 is the diff, exit 0 is no difference, above 1 is an error", async () => {
  const diffText =
    "diff -u -N /tmp/LIVE/apps.v1.Deployment.prod.ai-app /tmp/MERGED/apps.v1.Deployment.prod.ai-app\n-  image: old\n+  image: new\n";
  const changed = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").diff(IMAGE), {
    respond: responder({ diff: { exitCode: 1, stdout: diffText } }),
  });
  assert.is(changed.error, undefined, String(changed.error));
  assert.is(changed.result, diffText);
  const [exec] = kubectlSequence(changed.engine);
  assert.equal(exec!.args, [
    "kubectl",
    "diff",
    "--server-side",
    "--field-manager=ai-app-pipeline",
    `--filename=${PATHS.manifests}`,
    "--namespace=prod",
  ]);
  // kubectl diff runs `diff`: the same pinned kubectl binary, in the pinned Debian-based image that has it.
  const copy = exec!.prefix.find((o) => o.field === "withFile" && o.args.path === "/usr/local/bin/kubectl");
  assert.ok(copy, "kubectl binary copied in");
  assert.equal(
    changed.engine
      .chainOf(String(copy!.args.source))
      .slice(0, 3)
      .map((o) => o.args),
    [{}, { address: IMAGES.kubectl }, { path: "/bin/kubectl" }],
  );
  assert.is(exec!.prefix.find((o) => o.field === "from")?.args.address, IMAGES.python);
  assert.ok(exec!.prefix.some((o) => o.field === "withMountedSecret" && o.args.path === PATHS.kubeconfig));

  const same = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").diff(IMAGE), {
    respond: responder({ diff: { exitCode: 0 } }),
  });
  assert.match(String(same.result), "no differences");
  const broken = await recordGraph(() => pipeline().withCluster(kubeconfig(), "prod").diff(IMAGE), {
    respond: responder({ diff: { exitCode: 2, stderr: "error: You must be logged in to the server (Unauthorized)" } }),
  });
  assert.match(broken.error?.message ?? "", "kubectl diff failed (exit 2):\nerror: You must be logged in to the server (Unauthorized)");
});

test("manifests: the rendered, validated directory, without touching any cluster", async () => {
  const { engine, error, result } = await recordGraph(async () => (await pipeline().manifests(IMAGE, "staging", 3)).id(), {
    respond: responder(),
  });
  assert.is(error, undefined, String(error));
  const files = engine
    .chainOf(String(result))
    .filter((o) => o.field === "withNewFile")
    .map((o) => ({ path: String(o.args.path), text: String(o.args.contents) }));
  assert.equal(files.map((f) => f.path).sort(), ["deployment.yaml", "pdb.yaml", "service.yaml"]);
  assert.equal(await validateManifests(files), []);
  const d = (parseAllDocuments(files.find((f) => f.path === "deployment.yaml")!.text)[0] as { toJS(): unknown }).toJS() as Deployment;
  assert.is(d.spec.replicas, 3);
  assert.is(d.metadata.namespace, "staging");
  assert.match(files.find((f) => f.path === "deployment.yaml")!.text, "# Two pods at least", "comments kept");
  assert.is(engine.find("withExec").length, 0);
});

test("through the SDK entrypoint: with-cluster decodes --kubeconfig as a Secret id and keeps it in the object's state", async () => {
  const kubeconfigId = contextDirectoryId("/kubeconfig-secret"); // an id the fake engine can resolve
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "withCluster",
      parent: { source: contextDirectoryId("/"), revision: REVISION },
      inputArgs: { kubeconfig: kubeconfigId, namespace: "prod" },
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  // The runtime loads the argument by id as a Secret (`node(id:) { ... on Secret }`).
  const loads = run.engine.recorded.filter((r) => r.query.includes(`"${kubeconfigId}"`));
  assert.ok(
    loads.length > 0 && loads.every((r) => /node\s*\(id:\s*"[^"]+"\)\s*\{\s*\.\.\.\s*on Secret\b/.test(r.query)),
    "the argument is loaded as a Secret",
  );
  const saved = (run.value as { cluster?: { kubeconfig?: string; namespace?: string } }).cluster;
  assert.is(saved?.namespace, "prod", JSON.stringify(run.value));
  assert.equal(run.engine.chainOf(String(saved?.kubeconfig)), run.engine.chainOf(kubeconfigId), "the state holds that secret's id");
});

test("through the SDK entrypoint: deploy after with-cluster mounts exactly the saved kubeconfig secret (an id string in the nested state)", async () => {
  const kubeconfigId = contextDirectoryId("/kubeconfig-secret");
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "deploy",
      parent: { source: contextDirectoryId("/"), revision: REVISION, cluster: { kubeconfig: kubeconfigId, namespace: "prod" } },
      inputArgs: { image: IMAGE },
    },
    respond: responder({ "read-revision": { stdout: "2" } }),
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  assert.match(String(run.value), "rollout complete");
  assert.ok(
    run.engine.recorded.some((r) => r.query.includes("loadSecretFromID")),
    "the saved id is turned back into a Secret",
  );
  const seq = kubectlSequence(run.engine);
  assert.equal(
    seq.map((s) => s.step),
    ["read-revision", "dry-run", "apply", "rollout-status"],
  );
  assert.ok(seq.every((s) => s.args.includes("--namespace=prod")));
  const mount = seq.at(-1)!.prefix.find((o) => o.field === "withMountedSecret")!;
  assert.is(mount.args.path, PATHS.kubeconfig);
  assert.equal(run.engine.chainOf(String(mount.args.source)), run.engine.chainOf(kubeconfigId), "the secret mounted is the one configured");
  assert.ok(
    seq.every((s) => !s.args.some((a) => a.startsWith("--context="))),
    "no --context: the kubeconfig's current one",
  );
});

test("through the SDK entrypoint: a failed rollout is returned as the function's error, naming the rollback", async () => {
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "deploy",
      parent: {
        source: contextDirectoryId("/"),
        revision: REVISION,
        cluster: { kubeconfig: contextDirectoryId("/kubeconfig-secret"), namespace: "default" },
      },
      inputArgs: { image: IMAGE, timeout: "2m" },
    },
    respond: responder({
      "read-revision": { stdout: "5" },
      "rollout-status": { exitCode: 1, stderr: "error: timed out waiting for the condition" },
      "get-pods": { stdout: POD_PULL_FAILED },
    }),
  });
  assert.is(run.exitCode, 1, run.output);
  assert.match(run.error ?? "", "ImagePullBackOff");
  assert.match(run.error ?? "", "Rolled back deployment/ai-app to revision 5");
});

test("helpers for the lead: deployImage against an in-Dagger API server (service binding, explicit metadata) and serviceGet", async () => {
  const { engine, error, result } = await recordGraph(
    async () => {
      const k3s = dag.container().from(IMAGES.k3s).asService();
      const report = await deployImage(kubeconfig(), IMAGE, contextDir("/").directory("k8s"), {
        namespace: "default",
        services: [{ alias: "k3s", service: k3s }],
        metadata: { revision: REVISION, model: MODEL },
        timeout: "3m",
      });
      const version = await serviceGet(kubeconfig(), "/version", { services: [{ alias: "k3s", service: k3s }] });
      return { report, version };
    },
    { respond: responder({ "read-revision": { stdout: "" } }) },
  );
  assert.is(error, undefined, String(error));
  assert.is(result!.report.outcome.status, "deployed");
  assert.equal(
    result!.report.commands.map((c) => c.step),
    ["read-revision", "dry-run", "apply", "rollout-status"],
  );
  assert.equal(
    baseImages(engine).filter((i) => i !== IMAGES.k3s),
    [IMAGES.kubectl],
    "labels not read from a registry when metadata is given",
  );
  const seq = kubectlSequence(engine);
  assert.ok(
    seq.at(-1)!.prefix.some((o) => o.field === "withServiceBinding" && o.args.alias === "k3s"),
    "the API server service is bound",
  );
  const get = engine.find("withExec").find((e) => (e.op.args.args as string[]).includes("--raw"))!;
  assert.equal(get.op.args.args, [
    "kubectl",
    "get",
    "--raw",
    "/api/v1/namespaces/default/services/http:ai-app:http/proxy/version",
    "--namespace=default",
  ]);
  assert.ok(get.prefix.some((o) => o.field === "withMountedSecret" && o.args.path === PATHS.kubeconfig));
});

test.run();
