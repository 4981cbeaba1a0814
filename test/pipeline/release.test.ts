/**
 * `release` returns an object (ReleaseResult) the next CI step reads field by field, and
 * `release --dry-run` resolves, renders, validates and diffs without changing anything. Recorded
 * graph: the tag is resolved by a real registry (Debian's docker-registry on 127.0.0.1); kubectl's
 * answers are scripted; nothing runs a container or reaches a cluster.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseAllDocuments } from "yaml";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { IMAGES } from "../../dagger/src/images.js";
import { PATHS } from "../../dagger/src/kubernetes/commands.js";
import { ReleaseResult } from "../../dagger/src/pipeline/release-result.js";
import { leavesImageServing } from "../../dagger/src/pipeline/serving-alias.js";
import { FakeEngine, namedObjectId, Op } from "../support/fake-engine.js";
import { builtImageLabel, contextDir, execArgv, repositoryFiles, runs } from "../support/graph.js";
import { dag } from "../support/sdk.js";
import { pushImage } from "../support/oci-push.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph } from "../support/session.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const SHA = "e".repeat(64);
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: KUBE-TOKEN-plaintext}}]\n";
const SMOKE_OK = '{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.0.0"}}}';
const DIFF = `diff -u -N /tmp/LIVE-1/apps.v1.Deployment.ai-app.ai-app /tmp/MERGED-2/apps.v1.Deployment.ai-app.ai-app
-        image: registry/ai-app@sha256:${"0".repeat(64)}
+        image: registry/ai-app@sha256:(the released digest)
`;
const KUBELOGIN_MISSING =
  "Unable to connect to the server: getting credentials: exec: executable kubelogin not found\n\nIt looks like you are trying to use a client-go credential plugin that is not installed.";

interface Knobs {
  diff?: { exitCode: number; stdout?: string; stderr?: string };
  /** Exit code of `kubectl rollout status` (non-zero: the rollout fails and is undone). */
  rolloutExit?: number;
}

/** Answers what release reads: k8s/, the image's labels, and each kubectl command. */
function responder(k: Knobs = {}) {
  return (chain: Op[]): unknown => {
    const repo = repositoryFiles(chain);
    if (repo !== undefined) return repo;
    const leaf = chain.at(-1)!;
    const label = builtImageLabel(chain, { revision: REVISION, modelSha256: SHA });
    if (label !== undefined) return label;
    const ran = chain.at(-2)?.field === "withExec" ? chain.at(-2) : undefined;
    const is = (verb: string) => runs("kubectl", verb)(ran);
    if (is("diff")) {
      const d = k.diff ?? { exitCode: 1, stdout: DIFF };
      return ({ exitCode: d.exitCode, stdout: d.stdout ?? "", stderr: d.stderr ?? "" } as Record<string, unknown>)[leaf.field];
    }
    if (is("rollout status") && leaf.field === "exitCode") return k.rolloutExit ?? 0;
    if (ran && execArgv(ran).includes("alias") && leaf.field === "stdout") {
      const a = execArgv(ran);
      return `alias @${a[a.indexOf("set") + 1]} of "digits-classifier" now -> ${a[a.indexOf("--model-version") + 1]}\n`;
    }
    if (is("run") && leaf.field === "stdout") return SMOKE_OK + "\n";
    if (is("get deployment/ai-app") && leaf.field === "stdout") return "3\n";
    return undefined;
  };
}

const pipeline = () => new AiAppPipeline(contextDir("/"), REVISION, "", "");

let registry: RunningRegistry | undefined;
test.after(async () => {
  await registry?.stop();
});

/** A real registry holding ai-app:main; returns main's digest reference. */
async function registryWithMain(): Promise<string> {
  registry ??= await startRegistry();
  const pushed = await pushImage({ url: registry.url }, "ai-app", ["main"], { seed: "release-result-test" });
  return `${registry.address}/ai-app@${pushed.digest}`;
}

const kubectlVerbs = (engine: FakeEngine) =>
  engine
    .find("withExec")
    .map((e) => execArgv(e.op))
    .filter((a) => a[0] === "kubectl")
    .map((a) => (a[1] === "get" ? `get ${a[2]}` : a[1]));

const released = () => pipeline().withRegistry(registry!.address).withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "ai-app");

test("release returns an object: the digest, the channel, the model and revision from the image's labels, the deploy and smoke outcome", async () => {
  const ref = await registryWithMain();
  const { engine, error, result } = await recordGraph(() => released().release("main"), { respond: responder() });
  assert.is(error, undefined, String(error));
  assert.ok(result instanceof ReleaseResult, "a ReleaseResult");
  const r = result as ReleaseResult;
  assert.equal(
    [r.image, r.channel, r.modelName, r.modelVersion, r.modelSha256, r.revision, r.dryRun, r.diff],
    [ref, "main", "digits-classifier", "1.0.0", SHA, REVISION, false, ""],
  );
  assert.match(r.deployed, `deployed ${ref} to deployment/ai-app in namespace ai-app: rollout complete (previous revision 3)`);
  assert.match(r.smoke, "passed (/readyz 200, model digits-classifier 1.0.0");
  // Several facts from one run (a second `dagger call ... release image` would release again).
  assert.equal(JSON.parse(r.json), {
    image: ref,
    channel: "main",
    modelName: "digits-classifier",
    modelVersion: "1.0.0",
    modelSha256: SHA,
    revision: REVISION,
    deployed: r.deployed,
    smoke: r.smoke,
    dryRun: false,
    diff: "",
    action: "release",
    strategy: "rolling",
    releaseId: r.releaseId,
    canary: "",
    ledger: "recorded in configmap/ai-app-releases in namespace ai-app",
    url: "",
    address: "none (no service/ai-app)",
    alias: "",
    signature: "",
  });
  assert.match(r.releaseId, /^[0-9a-f]{8}$/);
  // After the deploy: the attempt recorded in the ledger (read it, then create it, as nothing was there), and the address read.
  assert.equal(kubectlVerbs(engine).slice(-3), ["get configmap/ai-app-releases", "create", "get deployment/ai-app"]);
  assert.equal(r.summary.split("\n").slice(0, 3), [
    `released: main -> ${ref}`,
    `model: digits-classifier 1.0.0 sha256:${SHA}`,
    `revision: ${REVISION}`,
  ]);
});

test("release --dry-run: the tag resolved to its digest, rendered and validated, only kubectl diff (server-side) runs; the result says dry run and carries the diff", async () => {
  const ref = await registryWithMain();
  const { engine, error, result } = await recordGraph(() => released().release("main", "5m", true), { respond: responder() });
  assert.is(error, undefined, String(error));
  assert.equal(
    kubectlVerbs(engine),
    ["get service/ai-app", "diff"],
    "the Service's DNS label read, then kubectl diff: no apply, no rollout, no smoke pod",
  );
  const diff = engine.find("withExec").find((e) => runs("kubectl", "diff")(e.op))!;
  const argv = execArgv(diff.op);
  assert.ok(argv.includes("--server-side") && argv.includes("--namespace=ai-app"), argv.join(" "));
  assert.is(diff.prefix.find((o) => o.field === "from")?.args.address, IMAGES.python, "kubectl diff needs diff(1): the Debian-based image");
  // What was diffed is the rendered k8s/: the resolved digest, annotated with the image's model.
  const mount = diff.prefix.find((o) => o.field === "withDirectory" && o.args.path === PATHS.manifests)!;
  const deployment = engine.chainOf(String(mount.args.source)).find((o) => o.field === "withNewFile" && o.args.path === "deployment.yaml")!;
  const doc = (parseAllDocuments(String(deployment.args.contents))[0] as { toJS(): unknown }).toJS() as {
    spec: { template: { metadata: { annotations: Record<string, string> }; spec: { containers: { image: string }[] } } };
  };
  assert.is(doc.spec.template.spec.containers[0]!.image, ref);
  assert.is(doc.spec.template.metadata.annotations["ai-app-pipeline/model-version"], "1.0.0");

  const r = result as ReleaseResult;
  assert.equal([r.dryRun, r.image, r.deployed, r.smoke, r.diff], [true, ref, "not deployed (dry run)", "not run (dry run)", DIFF]);
  assert.match(r.summary, `dry run: main -> ${ref} (nothing was changed)`);
  assert.match(r.summary, `diff (kubectl diff --server-side):\n${DIFF}`);
});

test("release --dry-run diffs what a release would apply: the Service's DNS label kept, read from the cluster first (--remove-dns-label: removed)", async () => {
  await registryWithMain();
  const labelled = JSON.stringify({
    kind: "Service",
    metadata: { name: "ai-app", annotations: { "service.beta.kubernetes.io/azure-dns-label-name": "ai-app-prod" } },
  });
  const respond = (chain: Op[]) =>
    runs("kubectl", "get service/ai-app")(chain.at(-2)) && chain.at(-1)!.field === "stdout" ? labelled : responder()(chain);
  /** The Service text kubectl diff was given. */
  const diffedService = (engine: FakeEngine) => {
    const diff = engine.find("withExec").find((e) => runs("kubectl", "diff")(e.op))!;
    const mount = diff.prefix.find((o) => o.field === "withDirectory" && o.args.path === PATHS.manifests)!;
    return String(
      engine.chainOf(String(mount.args.source)).find((o) => o.field === "withNewFile" && o.args.path === "service.yaml")!.args.contents,
    );
  };
  const kept = await recordGraph(() => released().release("main", "5m", true), { respond });
  assert.is(kept.error, undefined, String(kept.error));
  assert.equal(kubectlVerbs(kept.engine), ["get service/ai-app", "diff"], "one read, then the diff; nothing applied");
  assert.match(diffedService(kept.engine), "service.beta.kubernetes.io/azure-dns-label-name: ai-app-prod");
  const removed = await recordGraph(
    () => released().release("main", "5m", true, "rolling", 10, "2m", "30s", 0, 0, false, undefined, undefined, undefined, true),
    { respond },
  );
  assert.is(removed.error, undefined, String(removed.error));
  assert.not.match(diffedService(removed.engine), "azure-dns-label-name");
});

test("release --dry-run with nothing to change says so; a kubectl failure is an error with kubectl's words and what to do", async () => {
  const ref = await registryWithMain();
  const same = await recordGraph(() => released().release("main", "5m", true), { respond: responder({ diff: { exitCode: 0 } }) });
  assert.is(same.error, undefined, String(same.error));
  assert.is((same.result as ReleaseResult).diff, `no differences: the cluster already runs these manifests for ${ref} in namespace ai-app`);

  const failed = await recordGraph(() => released().release("main", "5m", true), {
    // What the real kubectl 1.32 answers with a kubelogin kubeconfig and no kubelogin: exit 2 (test/kubernetes/kubelogin.test.ts).
    respond: responder({ diff: { exitCode: 2, stderr: KUBELOGIN_MISSING } }),
  });
  assert.match(failed.error?.message ?? "", "kubectl diff failed");
  assert.match(failed.error?.message ?? "", "--entra-token env://AKS_TOKEN");
});

test("release through the SDK entrypoint: --dry-run decoded, the ReleaseResult saved with every field for the engine", async () => {
  const ref = await registryWithMain();
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "release",
      parent: {
        source: contextDirectoryId("/"),
        revision: REVISION,
        created: "",
        sourceUrl: "",
        registry: { address: registry!.address, repository: "ai-app" },
        cluster: { kubeconfig: namedObjectId("secret", "kubeconfig"), namespace: "ai-app" },
      },
      inputArgs: { dryRun: true },
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.error);
  assert.is(run.exitCode, 0, run.output);
  const value = run.value as Record<string, unknown>;
  assert.equal(Object.keys(value).sort(), Object.keys(new ReleaseResult()).sort(), "every declared field, nothing else");
  assert.equal([value.image, value.channel, value.dryRun, value.diff, value.modelVersion], [ref, "main", true, DIFF, "1.0.0"]);
  assert.equal((JSON.parse(String(value.json)) as { dryRun: boolean }).dryRun, true);
  assert.equal(kubectlVerbs(run.engine), ["get service/ai-app", "diff"]);
});

// ---- release marks production: --mark-alias moves the store's alias to the model that serves ----

const STORE_KEY = "store-KEY-plaintext-0123456789==";
const withStore = () =>
  pipeline()
    .withStore("models", "acct01", undefined, undefined, undefined, dag.setSecret("store-key", STORE_KEY))
    .withRegistry(registry!.address)
    .withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "ai-app");
/** release(tag, timeout, dryRun, strategy, ..., pause, dnsLabel, region, markAlias) */
const releaseMarking = (p: AiAppPipeline, alias: string, o: { dryRun?: boolean; strategy?: string; pause?: boolean } = {}) =>
  p.release("main", "5m", o.dryRun ?? false, o.strategy ?? "rolling", 10, "2m", "30s", 0, 0, o.pause ?? false, undefined, undefined, alias);
const aliasMoves = (engine: FakeEngine) =>
  engine
    .find("withExec")
    .map((e) => execArgv(e.op))
    .filter((a) => a.includes("alias"));

test("release --mark-alias production: once the image serves, the store's alias moves to its model, after the ledger; the store key only as a secret", async () => {
  await registryWithMain();
  const { engine, error, result } = await recordGraph(() => releaseMarking(withStore(), "production"), { respond: responder() });
  assert.is(error, undefined, String(error));
  const r = result as ReleaseResult;
  assert.match(r.alias, /@production .*1\.0\.0/);
  assert.match(r.summary, /^model alias: .*@production/m);
  const [move, ...more] = aliasMoves(engine);
  assert.equal(more, [], "moved once");
  const args = move!.slice(move!.indexOf("alias"));
  assert.equal(args.slice(0, 7), ["alias", "set", "production", "--model-version", "1.0.0", "--model-name", "digits-classifier"]);
  assert.match(args[args.indexOf("--by") + 1]!, new RegExp(`^ai-app-pipeline release ${r.releaseId} of `));
  const order = (pred: (a: string[]) => boolean) =>
    engine.recorded.findIndex((q) => q.chain.some((o) => o.field === "withExec" && pred(execArgv(o))));
  const ledger = order((a) => a[0] === "kubectl" && (a[1] === "create" || a[1] === "replace"));
  const moved = order((a) => a.includes("alias"));
  assert.ok(ledger >= 0 && moved > ledger, `ledger written (${ledger}) before the alias moves (${moved})`);
  // never answered from an earlier call's cache: the store's step carries a fresh nonce
  const [aliasExec] = engine.find("withExec").filter((e) => execArgv(e.op).includes("alias"));
  const nonce = aliasExec!.prefix.find((o) => o.field === "withEnvVariable" && o.args.name === "MODEL_STORE_CALL_ID");
  assert.match(String(nonce?.args.value), /^[0-9a-f-]{36}$/);
  for (const q of engine.recorded)
    if (!q.query.includes("setSecret")) assert.not.ok(q.query.includes(STORE_KEY), "store key outside setSecret");
});

test("only a report that leaves its image serving moves the alias: not a dry run, a paused canary or an abort", () => {
  const report = { action: "release", dryRun: false } as Parameters<typeof leavesImageServing>[0];
  assert.ok(leavesImageServing(report, false));
  assert.ok(leavesImageServing({ ...report, action: "promote" }, false));
  assert.ok(leavesImageServing({ ...report, action: "rollback" }, false));
  assert.not.ok(leavesImageServing(report, true), "a paused canary serves beside the stable");
  assert.not.ok(leavesImageServing({ ...report, dryRun: true }, false));
  assert.not.ok(leavesImageServing({ ...report, action: "abort" }, false));
});

test("release --mark-alias: a failed rollout (rolled back) or a dry run leave the alias where it is", async () => {
  await registryWithMain();
  const failed = await recordGraph(() => releaseMarking(withStore(), "production"), { respond: responder({ rolloutExit: 1 }) });
  assert.match(failed.error?.message ?? "(no error)", /rolled back/i, failed.error?.message);
  assert.equal(aliasMoves(failed.engine), [], "a rolled-back release moves nothing: the alias still names the model that kept serving");
  const dry = await recordGraph(() => releaseMarking(withStore(), "production", { dryRun: true }), { respond: responder() });
  assert.is(dry.error, undefined, String(dry.error));
  assert.equal(aliasMoves(dry.engine), []);
  assert.is((dry.result as ReleaseResult).alias, "");
});

test("release --mark-alias is checked where it was typed: a store is needed and the name must be an alias; nothing runs otherwise", async () => {
  await registryWithMain();
  const released = () => pipeline().withRegistry(registry!.address).withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "ai-app");
  for (const [call, expected] of [
    [
      () => releaseMarking(released(), "production"),
      /--mark-alias production moves an alias in the model store: configure it first \(dagger call with-store/,
    ],
    [() => releaseMarking(withStore(), "Production!"), /alias "Production!" is invalid/],
    [() => releaseMarking(withStore(), "latest"), /"latest" cannot be an alias/],
  ] as const) {
    const { engine, error } = await recordGraph(call, { respond: responder() });
    assert.match(error?.message ?? "(no error)", expected);
    assert.is(engine.find("withExec").length, 0, "nothing ran");
  }
});

test.run();
