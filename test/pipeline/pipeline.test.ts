/**
 * Recorded-graph tests of `ci` and `release`: the order of steps and which services are started,
 * as the module would send them to a Dagger engine. Nothing here runs a container or a cluster.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { UNSET_REVISION } from "../../dagger/src/pipeline/publish.js";
import { CiResult } from "../../dagger/src/pipeline/ci-result.js";
import { IMAGES } from "../../dagger/src/images.js";
import { ciMode } from "../../dagger/src/pipeline/ci.js";
import { REGCTL_USER, TARBALL_PATH } from "../../dagger/src/registry/regctl.js";
import { FakeEngine, namedObjectId, Op } from "../support/fake-engine.js";
import {
  commandOf,
  builtImageLabel,
  contextDir,
  execArgv,
  flagValue,
  lastExec,
  modelJsonReads,
  queriesOutsideSetSecret,
  repositoryFiles,
  runs,
} from "../support/graph.js";
import { dag } from "../support/sdk.js";
import { pushImage } from "../support/oci-push.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph } from "../support/session.js";
import { execFailure } from "../support/exec-errors.js";
import { APP_TEST_COMMAND } from "../../dagger/src/app-image/test.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const SHA = "e".repeat(64);
const MODEL_JSON = JSON.stringify({
  name: "digits-classifier",
  version: "1.0.0",
  files: [{ path: "model.onnx", sha256: SHA, size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MODEL_JSON);
const RESOLVED = JSON.stringify({ name: "digits-classifier", version: "1.0.0", manifestSha256: "f".repeat(64) });
const SMOKE_OK = '{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.0.0"}}}';
const PUSHED_DIGEST = `sha256:${"a".repeat(64)}`;
const READY_NODES = JSON.stringify({ items: [{ status: { conditions: [{ type: "Ready", status: "True" }] } }] });
const ACR_PASSWORD = "acr-PASSWORD-plaintext-42";
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: KUBE-TOKEN-plaintext}}]\n";

const argvOf = execArgv;

interface Knobs {
  pytestExit?: number;
  smoke?: string;
  rolloutExit?: number;
}

/** Answers what ci/release read: pytest, the store command, model.json, k8s/, labels, kubectl. */
function responder(k: Knobs = {}) {
  return (chain: Op[]): unknown => {
    const repo = repositoryFiles(chain);
    if (repo !== undefined) return repo;
    const leaf = chain.at(-1)!;
    const parent = chain.slice(0, -1);
    const manifest = modelJson(chain);
    if (manifest !== undefined) return manifest;
    const label = builtImageLabel(chain, { revision: REVISION, modelSha256: SHA });
    if (label !== undefined) return label;
    const ran = parent.at(-1)?.field === "withExec" ? parent.at(-1) : undefined;
    const is = (tool: string, verb?: string) => runs(tool, verb)(ran);
    if (is("pytest")) {
      // pytest must exit 0: a failing run is the engine's exec error, not a result.
      if (k.pytestExit)
        throw execFailure({
          cmd: APP_TEST_COMMAND,
          exitCode: k.pytestExit,
          stdout: "FAILED tests/test_routes.py::test_version\n1 failed in 0.3s",
        });
      if (leaf.field === "combinedOutput") return "12 passed in 0.4s";
    }
    if (leaf.field === "stdout" && is("model-store", "resolve")) return RESOLVED + "\n";
    if (leaf.field === "stdout" && is("model-store", "publish")) return 'published digits-classifier 1.0.0 to container "models"\n';
    if (leaf.field === "stdout" && is("regctl", "image digest")) return `${PUSHED_DIGEST}\n`;
    if (leaf.field === "stdout" && is("kubectl", "get nodes")) return READY_NODES;
    if (is("kubectl", "run") && leaf.field === "stdout") return (k.smoke ?? SMOKE_OK) + "\n";
    if (is("kubectl", "run") && leaf.field === "exitCode") return k.smoke ? 1 : 0;
    if (is("kubectl", "rollout status") && leaf.field === "exitCode") return k.rolloutExit ?? 0;
    if (is("kubectl", "get deployment/ai-app") && leaf.field === "stdout") return "3\n";
    return undefined;
  };
}

const pipeline = () => new AiAppPipeline(contextDir("/"), REVISION, "", "");

/** Images that ran as services: the chains that `start` was called on. */
function startedServices(engine: FakeEngine): string[] {
  return engine.find("start").map((s) => String(s.prefix.find((o) => o.field === "from")?.args.address));
}

/** Position of the first recorded query whose chain matches. */
function firstQuery(engine: FakeEngine, pred: (chain: Op[]) => boolean): number {
  return engine.recorded.findIndex((r) => pred(r.chain));
}
const isCli = (cmd: string) => (chain: Op[]) => runs("model-store", cmd)(lastExec(chain));

test("ci mode: embedded only when nothing points at Azure", () => {
  assert.is(ciMode({}), "embedded");
  assert.is(ciMode({ registry: { registry: "r.io", repository: "a", auth: { kind: "anonymous" } } }), "configured");
  assert.is(ciMode({ store: { flags: [], secrets: [], env: [] } }), "configured");
});

test("ci with no Azure arguments: Azurite, registry and k3s started; sample model published before it is fetched; the pushed digest deployed and smoke-tested", async () => {
  const { engine, error, result } = await recordGraph(() => pipeline().ci(), { respond: responder() });
  assert.is(error, undefined, String(error));
  assert.equal(startedServices(engine).sort(), [IMAGES.azurite, IMAGES.k3s, IMAGES.registry].sort());
  const tests = firstQuery(engine, (c) => runs("pytest")(lastExec(c)));
  const published = firstQuery(engine, isCli("publish"));
  const resolved = firstQuery(engine, isCli("resolve"));
  assert.ok(
    tests >= 0 && published > tests && resolved > published,
    `order: tests ${tests} < publish-model ${published} < resolve ${resolved}`,
  );
  // the sample model is what gets published: the publish container mounts train.py's output
  const pub = engine.find("withExec").find((e) => isCli("publish")([...e.prefix, e.op]))!;
  const mounted = pub.prefix.find((o) => o.field === "withDirectory" && o.args.path === "/in/model");
  assert.ok(engine.chainOf(String(mounted!.args.source)).some((o) => runs("model/train.py")(o)));
  // pushed to the plain-HTTP registry service by regctl from the image tarball (never Container.publish,
  // which would speak HTTPS to it), three tags, each read back; that digest is what kubectl applies
  assert.is(engine.find("publish").length, 0, "no Container.publish to the registry service");
  const imports = engine.find("withExec").filter((e) => runs("regctl", "image import")(e.op));
  assert.equal(
    imports.map((e) => commandOf(e.op)!.argv.at(-2)),
    [`registry:5000/ai-app:${REVISION}`, "registry:5000/ai-app:model-1.0.0", "registry:5000/ai-app:main"],
  );
  for (const e of imports) {
    assert.ok(argvOf(e.op).includes("reg=registry:5000,tls=disabled"), "plain HTTP for that one host");
    const mount = e.prefix.find((o) => o.field === "withMountedFile" && o.args.path === TARBALL_PATH);
    assert.ok(mount, "the tarball is mounted");
    assert.is(mount!.args.owner, REGCTL_USER, "handed to the image's user (asTarball writes it 0600, root-owned)");
    assert.ok(
      engine.chainOf(String(mount!.args.source)).some((o) => o.field === "asTarball"),
      "it is the built image's tarball",
    );
    assert.ok(
      e.prefix.some((o) => o.field === "withServiceBinding" && o.args.alias === "registry"),
      "bound to the registry service",
    );
  }
  const digestRef = /image: (registry:5000\/ai-app@sha256:[0-9a-f]{64})/.exec(result!.summary)?.[1];
  assert.is(digestRef, `registry:5000/ai-app@${PUSHED_DIGEST}`, result!.summary);
  // the same facts as fields and as one JSON object, for the next CI step
  assert.is(result!.image, digestRef);
  assert.equal([...result!.tags].sort(), [`model-1.0.0`, "main", REVISION].sort());
  assert.equal(JSON.parse(result!.json), {
    mode: "embedded",
    tests: result!.tests,
    modelName: "digits-classifier",
    modelVersion: "1.0.0",
    modelSha256: result!.modelSha256,
    modelSigner: "",
    image: digestRef,
    tags: result!.tags,
    signature: "",
    vulnerabilities: "",
    deployed: result!.deployed,
    smoke: result!.smoke,
  });
  assert.match(result!.smoke, /^passed/);
  assert.match(result!.modelSha256, /^[0-9a-f]{64}$/);
  // kubectl waits for k3s to take work (API server, a Ready node, the default ServiceAccount) before applying
  const kubectlSteps = engine
    .find("withExec")
    .map((e) => argvOf(e.op))
    .filter((a) => a[0] === "kubectl")
    .map((a) => `${a[1]} ${a[2]}`);
  const firstApply = kubectlSteps.findIndex((s) => s.startsWith("apply"));
  assert.equal(kubectlSteps.slice(0, 3), ["get --raw=/readyz", "get nodes", "get serviceaccount/default"], kubectlSteps.join("\n"));
  assert.ok(firstApply > 2, "apply after the readiness probes");
  const smoke = engine.find("withExec").find((e) => runs("kubectl", "run")(e.op))!;
  assert.is(flagValue(argvOf(smoke.op), "--image"), digestRef);
  const applied = engine.find("withExec").filter((e) => runs("kubectl", "apply")(e.op));
  assert.ok(applied.length >= 1, "kubectl apply ran");
  assert.match(result!.summary, /smoke test: passed/);
  assert.match(result!.summary, /mode: embedded default/);
});

test("ci through the SDK entrypoint, no arguments at all: the embedded default, as `dagger call ci` runs it", async () => {
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "ci",
      parent: { source: contextDirectoryId("/"), revision: "dev", created: "", sourceUrl: "" },
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  assert.equal(startedServices(run.engine).sort(), [IMAGES.azurite, IMAGES.k3s, IMAGES.registry].sort());
  // an object goes back to the engine as JSON of its declared fields
  const value = run.value as Record<string, unknown>;
  assert.match(String(value.summary), /^mode: embedded default/);
  assert.match(String(value.summary), /smoke test: passed/);
  assert.match(String(value.image), /^registry:5000\/ai-app@sha256:/);
  assert.is(JSON.parse(String(value.json)).image, value.image);
  // every declared field is set (an unset one would read as "" or [] in the CLI, not as its value)
  assert.equal(Object.keys(value).sort(), Object.keys(new CiResult()).sort());
});

test("ci with nothing configured refuses model flags it would ignore, before anything runs", async () => {
  const cases: [() => Promise<unknown>, string][] = [
    [() => pipeline().ci("main", undefined, "digits-classifier", "1.2.0"), "--model-version"],
    [() => pipeline().ci("main", undefined, "digits-classifier", "latest", true), "--prerelease"],
    [
      () => pipeline().ci("main", undefined, "digits-classifier", "latest", false, contextDir("/").file("model-signing.pub")),
      "--public-key",
    ],
  ];
  for (const [call, flag] of cases) {
    const { engine, error } = await recordGraph(call, { respond: responder() });
    assert.match(error?.message ?? "", new RegExp(`${flag} applies only to a model from with-store`));
    assert.is(engine.recorded.length, 0, "the engine was asked nothing");
  }
});

test("ci with no Azure arguments: a failing test suite stops everything before any service or push", async () => {
  const { engine, error } = await recordGraph(() => pipeline().ci(), { respond: responder({ pytestExit: 1 }) });
  assert.match(error?.message ?? "", /app tests failed/);
  assert.is(engine.find("start").length, 0);
  assert.is(engine.find("publish").length, 0);
});

test("ci with Azure arguments: no local service; model from the store; published with the registry credential as a Secret", async () => {
  // a real registry: before main moves, ci asks it where main points now (a new repository there: nowhere)
  registry ??= await startRegistry();
  const address = registry.address;
  const { engine, error, result } = await recordGraph(
    () =>
      pipeline()
        .withStore("models", "acct01", undefined, undefined, undefined, dag.setSecret("storage-key", "storage-KEY-plaintext=="))
        .withRegistry(address, "ai-app", "ci-sp", dag.setSecret("acr-password", ACR_PASSWORD))
        .ci("refs/heads/main"),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.is(engine.find("start").length, 0, "no Azurite, registry or k3s");
  assert.ok(firstQuery(engine, isCli("resolve")) >= 0, "model resolved from the store");
  assert.is(firstQuery(engine, isCli("publish")), -1, "nothing published into the store");
  const pushes = engine.find("publish").map((p) => String(p.op.args.address));
  assert.equal(pushes.map((a) => a.split(":").at(-1)).sort(), ["main", "model-1.0.0", REVISION].sort());
  assert.ok(engine.find("withRegistryAuth").every((a) => a.op.args.username === "ci-sp"));
  for (const q of queriesOutsideSetSecret(engine)) {
    assert.not.ok(q.includes(ACR_PASSWORD) || q.includes("storage-KEY-plaintext"), "no plaintext secret outside setSecret");
  }
  assert.match(result!.summary, /^mode: configured/m);
  assert.ok(result!.image.startsWith(`${address}/ai-app@sha256:`), result!.image);
  assert.is(result!.deployed, "", "configured ci deploys nothing");
});

test("ci with Azure arguments: the model is fetched first (fresh federated token), and a failing suite publishes nothing", async () => {
  const { engine, error } = await recordGraph(
    () =>
      pipeline()
        .withStore("models", "acct01", undefined, undefined, undefined, dag.setSecret("storage-key", "key=="))
        .withRegistry("myacr.azurecr.io", "ai-app", "ci-sp", dag.setSecret("acr-password", ACR_PASSWORD))
        .ci("main"),
    { respond: responder({ pytestExit: 1 }) },
  );
  assert.match(error?.message ?? "", /app tests failed/);
  const fetched = firstQuery(engine, isCli("fetch"));
  const tests = firstQuery(engine, (c) => runs("pytest")(lastExec(c)));
  assert.ok(fetched >= 0 && tests > fetched, `model fetched (${fetched}) before the tests (${tests})`);
  assert.is(engine.find("publish").length, 0);
  assert.is(engine.find("withRegistryAuth").length, 0);
});

test("ci: a pull request build (store, no registry) publishes nothing", async () => {
  const { engine, error, result } = await recordGraph(
    () => pipeline().withStore("models", "acct01", undefined, undefined, undefined, dag.setSecret("k", "key==")).ci(),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.is(engine.find("publish").length, 0);
  assert.match(result!.summary, /image: not published/);
  assert.is(result!.image, "");
  assert.equal(result!.tags, []);
});

test("ci with with-aws-store: the model resolved and fetched from the S3 bucket, its keys only as AWS_* secret variables", async () => {
  const SECRET = "aws-SECRET-plaintext-0123456789";
  const { engine, error, result } = await recordGraph(
    () =>
      pipeline()
        .withAwsStore("ml-models", "eu-west-1", undefined, false, dag.setSecret("aws-id", "AKIAEXAMPLE"), dag.setSecret("aws-key", SECRET))
        .ci(),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.is(engine.find("start").length, 0, "no Azurite: the store is the bucket");
  for (const cmd of ["resolve", "fetch"]) {
    const exec = engine.find("withExec").find((e) => isCli(cmd)([...e.prefix, e.op]));
    assert.ok(exec, `${cmd} ran`);
    const argv = argvOf(exec!.op);
    assert.equal([flagValue(argv, "--s3-bucket"), flagValue(argv, "--s3-region")], ["ml-models", "eu-west-1"], cmd);
    const secretVars = exec!.prefix.filter((o) => o.field === "withSecretVariable").map((o) => o.args.name);
    assert.equal(secretVars, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], cmd);
  }
  for (const q of queriesOutsideSetSecret(engine)) assert.not.ok(q.includes(SECRET), "no plaintext secret outside setSecret");
  assert.match(result!.summary, /^mode: configured/m);
});

test("ci publishing to a configured registry must name its channel and the real revision; nothing runs otherwise", async () => {
  const withAzure = (p: AiAppPipeline) =>
    p
      .withStore("models", "acct01", undefined, undefined, undefined, dag.setSecret("k", "key=="))
      .withRegistry("myacr.azurecr.io", "ai-app", "ci-sp", dag.setSecret("acr-password", ACR_PASSWORD));
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ["no channel", () => withAzure(pipeline()).ci(), /myacr\.azurecr\.io\/ai-app needs:\n {2}- the channel tag it moves: --channel/],
    [
      "the default revision",
      () => withAzure(new AiAppPipeline(contextDir("/"), UNSET_REVISION, "", "")).ci("main"),
      /--revision "\$\(git rev-parse HEAD\)"/,
    ],
  ];
  for (const [label, fn, re] of cases) {
    const { engine, error } = await recordGraph(fn, { respond: responder() });
    assert.match(error?.message ?? "(no error)", re, label);
    assert.is(engine.find("withExec").length, 0, `${label}: nothing ran`);
  }
});

test("with-registry: half a credential is refused where it was typed, before anything runs", async () => {
  const { engine, error } = await recordGraph(async () => pipeline().withRegistry("myacr.azurecr.io", "ai-app", "user").ci(), {
    respond: responder(),
  });
  assert.match(error?.message ?? "", /--username needs --password/);
  assert.is(engine.find("withExec").length, 0);
});

test("release without with-registry or with-cluster says which builder to start with", async () => {
  const noRegistry = await recordGraph(() => pipeline().withCluster(dag.setSecret("kubeconfig", KUBECONFIG)).release(), {
    respond: responder(),
  });
  assert.match(noRegistry.error?.message ?? "", /no registry configured: start the call with with-registry/);
  const noCluster = await recordGraph(() => pipeline().withRegistry("myacr.azurecr.io").release(), { respond: responder() });
  assert.match(noCluster.error?.message ?? "", /no cluster configured: start the call with with-cluster/);
});

let registry: RunningRegistry | undefined;
test.after(async () => {
  await registry?.stop();
});

/** A real registry (Debian's docker-registry on 127.0.0.1) holding ai-app:main; returns its digest. */
async function registryWithMain(): Promise<string> {
  registry ??= await startRegistry();
  const pushed = await pushImage({ url: registry.url }, "ai-app", ["main"], { seed: "release-test" });
  return pushed.digest;
}

test("release through the SDK entrypoint: main resolved to its digest by the real registry, deployed by digest, smoke-tested", async () => {
  const digest = await registryWithMain();
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "release",
      parent: {
        source: contextDirectoryId("/"),
        revision: "dev",
        created: "",
        sourceUrl: "",
        registry: { address: registry!.address, repository: "ai-app" },
        // Saved state as the engine sends it back: the Secret is an id string inside the nested object.
        cluster: { kubeconfig: namedObjectId("secret", "kubeconfig"), namespace: "ai-app" },
      },
      inputArgs: {},
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.error);
  assert.is(run.exitCode, 0, run.output);
  const ref = `${registry!.address}/ai-app@${digest}`;
  assert.match(
    String((run.value as { summary?: unknown }).summary),
    new RegExp(`released: main -> ${ref.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`),
  );
  const kubectl = run.engine.find("withExec").filter((e) => runs("kubectl")(e.op));
  const apply = kubectl.find((e) => runs("kubectl", "apply")(e.op) && !argvOf(e.op).includes("--dry-run=server"))!;
  const rollout = kubectl.find((e) => runs("kubectl", "rollout status")(e.op))!;
  const smoke = kubectl.find((e) => runs("kubectl", "run")(e.op))!;
  assert.ok(apply && rollout && smoke, "apply, rollout status and the smoke pod ran");
  assert.is(flagValue(argvOf(smoke.op), "--image"), ref, "the smoke pod runs the released digest");
  assert.ok(argvOf(smoke.op).includes("--namespace") && argvOf(smoke.op).includes("ai-app"));
  for (const e of kubectl) {
    assert.ok(
      e.prefix.some((o) => o.field === "withMountedSecret" && o.args.path === "/run/kube/config"),
      "kubeconfig mounted as a secret",
    );
    assert.not.ok(e.prefix.some((o) => o.field === "withEnvVariable" && String(o.args.value).includes("KUBE-TOKEN")));
  }
});

test("release: a failed smoke test after a good rollout rolls back to the previous revision and fails", async () => {
  await registryWithMain();
  const bad = '{"ok": false, "problems": ["/score classified a known 0 as 6"], "seen": {}}';
  const { engine, error } = await recordGraph(
    () => pipeline().withRegistry(registry!.address).withCluster(dag.setSecret("kubeconfig", KUBECONFIG)).release("main"),
    { respond: responder({ smoke: bad }) },
  );
  assert.match(
    error?.message ?? "",
    /the smoke test of \S+ in deployment\/ai-app .*failed \(kubectl exit 1\): \/score classified a known 0 as 6/,
  );
  assert.match(error?.message ?? "", /Rolled back deployment\/ai-app to revision 3/);
  const undo = engine.find("withExec").find((e) => argvOf(e.op).slice(1, 3).join(" ") === "rollout undo");
  assert.ok(undo, "rollout undo ran");
  assert.ok(argvOf(undo!.op).includes("--to-revision=3"));
});

test("ci with no Azure arguments: a failed smoke test rolls back the way release does (one owner: the deploy step)", async () => {
  const bad = '{"ok": false, "problems": ["/version reports another model"], "seen": {}}';
  const { engine, error } = await recordGraph(() => pipeline().ci(), { respond: responder({ smoke: bad }) });
  assert.match(
    error?.message ?? "",
    /the smoke test of registry:5000\/ai-app@sha256:\S+ .*failed \(kubectl exit 1\): \/version reports another model/,
  );
  assert.match(error?.message ?? "", /Rolled back deployment\/ai-app to revision 3/);
  const steps = engine
    .find("withExec")
    .map((e) => argvOf(e.op))
    .filter((a) => a[0] === "kubectl")
    .map((a) => `${a[1]} ${a[2]}`);
  const smoke = steps.indexOf(`run ${steps.find((x) => x.startsWith("run "))?.slice(4)}`);
  assert.ok(smoke > 0 && steps.slice(smoke).includes("rollout undo"), steps.join("\n"));
  assert.is(engine.find("stop").length, 3, "every service stopped");
});

test("release: a tag that does not exist deploys nothing", async () => {
  await registryWithMain();
  const { engine, error } = await recordGraph(
    () => pipeline().withRegistry(registry!.address).withCluster(dag.setSecret("kubeconfig", KUBECONFIG)).release("no-such-tag"),
    { respond: responder() },
  );
  assert.match(error?.message ?? "", /no-such-tag/);
  assert.is(engine.find("withExec").length, 0);
});

test.run();
