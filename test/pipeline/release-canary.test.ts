/**
 * The recorded graph of `release --strategy canary` (and of promote, abort, releases, rollback):
 * the tag resolved by a real registry (Debian's docker-registry on 127.0.0.1), kubectl's answers
 * scripted per command, nothing run in a container or a cluster. What is shown: the order of the
 * kubectl commands, the canary Deployment written into the kubectl container, the stable never
 * applied before the analysis passed, the canary deleted on every way out, the ledger written, and
 * bad flags refused before anything is asked of the registry or the cluster.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { PATHS, STEP_FILES } from "../../dagger/src/kubernetes/commands.js";
import { ReleaseResult } from "../../dagger/src/pipeline/release-result.js";
import { ReleaseHistory } from "../../dagger/src/pipeline/release-control.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import { builtImageLabel, contextDir, execArgv, repositoryFiles } from "../support/graph.js";
import { dag } from "../support/sdk.js";
import { pushImage } from "../support/oci-push.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { recordGraph } from "../support/session.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const SHA = "e".repeat(64);
const OLD = `myacr.azurecr.io/ai-app@sha256:${"0".repeat(64)}`;
const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: KUBE-TOKEN-plaintext}}]\n";
const SMOKE_OK = '{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.0.0"}}}\n';
const SMOKE_BAD = '{"ok": false, "problems": ["/score answered 500"], "seen": {}}\n';
const CANARY_URL = "http://10.0.0.7:8000";

const list = (...items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items });
const STABLE = JSON.stringify({
  kind: "Deployment",
  metadata: { name: "ai-app", annotations: { "deployment.kubernetes.io/revision": "3" } },
  spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image: OLD }] } } },
});
const CANARY_PODS = list({
  metadata: { name: "ai-app-canary-x" },
  spec: { containers: [{ name: "app", ports: [{ name: "http", containerPort: 8000 }] }] },
  status: { podIP: "10.0.0.7", conditions: [{ type: "Ready", status: "True" }], containerStatuses: [{ name: "app", restartCount: 0 }] },
});

interface Knobs {
  canarySmoke?: string;
  leftover?: boolean;
  /** What `kubectl get configmap/... deployment/...` answers (the ledger read). */
  ledger?: string;
  /** What `kubectl get deployment/ai-app-canary service/ai-app` answers (promote's read). */
  liveCanary?: string;
}

function responder(k: Knobs = {}) {
  return (chain: Op[]): unknown => {
    const repo = repositoryFiles(chain);
    if (repo !== undefined) return repo;
    const leaf = chain.at(-1)!;
    const label = builtImageLabel(chain, { revision: REVISION, modelSha256: SHA });
    if (label !== undefined) return label;
    const argv = chain.at(-2)?.field === "withExec" ? execArgv(chain.at(-2)) : [];
    if (argv[0] !== "kubectl" || leaf.field !== "stdout") return undefined;
    const a = argv.join(" ");
    if (a.startsWith("kubectl get deployments --selector=ai-app-pipeline/track=canary")) {
      return k.leftover
        ? list({
            kind: "Deployment",
            metadata: { name: "ai-app-canary", labels: { "ai-app-pipeline/release-id": "old1" } },
            spec: { template: { spec: { containers: [{ name: "app", image: OLD }] } } },
          })
        : list();
    }
    if (a.startsWith("kubectl get deployment/ai-app-canary")) return k.liveCanary ?? "";
    if (a.startsWith("kubectl get deployment/ai-app --ignore-not-found --output=json")) return STABLE;
    if (a.startsWith("kubectl get deployment/ai-app --ignore-not-found --output=jsonpath")) return "3\n";
    if (a.startsWith("kubectl get pods --selector=app.kubernetes.io/name=ai-app,ai-app-pipeline/track=canary")) return CANARY_PODS;
    if (a.startsWith("kubectl get configmap/")) return k.ledger ?? "";
    if (a.startsWith("kubectl run ")) return argv.includes(CANARY_URL) ? (k.canarySmoke ?? SMOKE_OK) : SMOKE_OK;
    return undefined;
  };
}

let registry: RunningRegistry | undefined;
test.after(async () => {
  await registry?.stop();
});

async function registryWithMain(): Promise<string> {
  registry ??= await startRegistry();
  const pushed = await pushImage({ url: registry.url }, "ai-app", ["main"], { seed: "release-canary-test" });
  return `${registry.address}/ai-app@${pushed.digest}`;
}

const cluster = () => new AiAppPipeline(contextDir("/"), REVISION, "", "").withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "ai-app");
const released = () => cluster().withRegistry(registry!.address);
const canaryRelease = (pause = false) => released().release("main", "5m", false, "canary", 10, "1s", "1s", 0, 0, pause);

/** Each kubectl command: its words up to the first flag (`get deployment/ai-app`, `rollout status`...). */
const kubectlCommands = (engine: FakeEngine) =>
  engine
    .find("withExec")
    .map((e) => execArgv(e.op))
    .filter((a) => a[0] === "kubectl")
    .map((a) =>
      a[1] === "run"
        ? "run"
        : a
            .slice(
              1,
              a.findIndex((w, i) => i > 0 && w.startsWith("-")),
            )
            .join(" "),
    );

/** The text of a file a step wrote into the kubectl container before its command. */
function writtenFile(engine: FakeEngine, path: string): string[] {
  return engine
    .find("withNewFile")
    .filter((e) => e.op.args.path === path)
    .map((e) => String(e.op.args.contents));
}

test("release --strategy canary: leftovers looked for, the stable read, the canary applied and judged, then promoted and removed; recorded in the ledger", async () => {
  const ref = await registryWithMain();
  const { engine, error, result } = await recordGraph(() => canaryRelease(), { respond: responder() });
  assert.is(error, undefined, String(error));
  assert.equal(kubectlCommands(engine), [
    // the ledger first: a paused canary would hold the cluster (none here)
    "get configmap/ai-app-releases deployment/ai-app service/ai-app",
    "get deployments",
    "get deployment/ai-app",
    "apply",
    "rollout status deployment/ai-app-canary",
    "get pods",
    "run", // the smoke check via the Service
    "run", // the smoke check of one canary pod directly
    // analysis passed: promote = the deploy state machine on the stable, then the canary removed
    "get deployment/ai-app",
    "apply",
    "apply",
    "rollout status deployment/ai-app",
    "delete deployment/ai-app-canary",
    // the ledger: read, then create (nothing there yet); then the public address
    "get configmap/ai-app-releases deployment/ai-app",
    "create",
    "get deployment/ai-app service/ai-app",
  ]);
  const runs = engine
    .find("withExec")
    .map((e) => execArgv(e.op))
    .filter((a) => a[1] === "run");
  assert.equal(
    runs.map((a) => a.at(-2)),
    ["http://ai-app.ai-app.svc", CANARY_URL],
    "the smoke check via the Service, then against the canary pod",
  );
  // The canary Deployment, written into the kubectl container for its apply.
  const [canary] = writtenFile(engine, `${STEP_FILES}/canary.yaml`);
  const d = parse(canary!) as {
    metadata: { name: string; labels: Record<string, string> };
    spec: { replicas: number; selector: { matchLabels: Record<string, string> }; template: { spec: { containers: { image: string }[] } } };
  };
  assert.equal([d.metadata.name, d.spec.replicas, d.spec.template.spec.containers[0]!.image], ["ai-app-canary", 1, ref]);
  assert.is(d.spec.selector.matchLabels["ai-app-pipeline/track"], "canary");
  const [ledger] = writtenFile(engine, `${STEP_FILES}/ledger.json`);
  const entries = JSON.parse((JSON.parse(ledger!) as { data: Record<string, string> }).data["releases.json"]!) as {
    strategy: string;
    outcome: string;
    image: string;
  }[];
  assert.equal(
    entries.map((e) => [e.strategy, e.outcome, e.image]),
    [["canary", "succeeded", ref]],
  );

  const r = result as ReleaseResult;
  assert.equal([r.action, r.strategy, r.image], ["release", "canary", ref]);
  assert.match(r.canary, "canary ai-app-canary: 1 pod(s) beside 2 stable (33.3% of the pods for 10% asked)");
  assert.match(r.canary, "analysis passed: 1 round(s)");
  assert.match(r.deployed, `promoted: deployed ${ref} to deployment/ai-app`);
  assert.match(r.ledger, "recorded in configmap/ai-app-releases");
  assert.is((JSON.parse(r.json) as { strategy: string }).strategy, "canary");
});

test("release --strategy canary --pause: the canary keeps serving, the stable is never applied; the ledger says paused", async () => {
  const ref = await registryWithMain();
  const { engine, error, result } = await recordGraph(() => canaryRelease(true), { respond: responder() });
  assert.is(error, undefined, String(error));
  const commands = kubectlCommands(engine);
  assert.is(commands.filter((c) => c === "apply").length, 1, "only the canary is applied");
  assert.not.ok(
    commands.some((c) => c.startsWith("delete")),
    "nothing deleted",
  );
  const r = result as ReleaseResult;
  assert.match(r.deployed, `canary serving beside the stable, paused (promote or abort release ${r.releaseId})`);
  const [ledger] = writtenFile(engine, `${STEP_FILES}/ledger.json`);
  assert.match(ledger!, '\\"outcome\\": \\"paused\\"');
  assert.match(ledger!, ref);
});

test("a failing canary: removed, the stable never applied, the call fails saying which check failed; recorded as aborted", async () => {
  await registryWithMain();
  const { engine, error } = await recordGraph(() => canaryRelease(), { respond: responder({ canarySmoke: SMOKE_BAD }) });
  assert.match(error?.message ?? "", "smoke test of canary pod http://10.0.0.7:8000 failed (kubectl exit 0): /score answered 500");
  assert.match(error?.message ?? "", "Aborted: the canary was removed; the stable deployment/ai-app was not changed");
  assert.match(error?.message ?? "", "ledger: recorded in configmap/ai-app-releases");
  const commands = kubectlCommands(engine);
  assert.equal(commands.filter((c) => c === "apply").length, 1, "the stable was never applied");
  assert.ok(commands.includes("delete deployment/ai-app-canary"));
  assert.match(writtenFile(engine, `${STEP_FILES}/ledger.json`)[0]!, '\\"outcome\\": \\"aborted\\"');
});

test("an interrupted run's canary: removed first, the ledger records it as interrupted beside this release", async () => {
  await registryWithMain();
  const { engine, error, result } = await recordGraph(() => canaryRelease(), { respond: responder({ leftover: true }) });
  assert.is(error, undefined, String(error));
  assert.equal(kubectlCommands(engine).slice(0, 4), [
    "get configmap/ai-app-releases deployment/ai-app service/ai-app",
    "get deployments",
    "delete deployment/ai-app-canary",
    "get deployment/ai-app",
  ]);
  assert.match((result as ReleaseResult).canary, "left by an interrupted run (ai-app-canary, release old1");
  const entries = JSON.parse(
    (JSON.parse(writtenFile(engine, `${STEP_FILES}/ledger.json`)[0]!) as { data: Record<string, string> }).data["releases.json"]!,
  ) as {
    id: string;
    outcome: string;
  }[];
  assert.equal(
    entries.map((e) => [e.id, e.outcome]),
    [
      ["old1", "interrupted"],
      [(result as ReleaseResult).releaseId, "succeeded"],
    ],
  );
});

test("a paused canary holds the cluster: release (either strategy) refuses, naming it, and changes nothing; once it is gone, a paused entry holds nothing", async () => {
  await registryWithMain();
  const paused = LEDGER([entry("1", "a"), { ...entry("old1", "b", "paused"), strategy: "canary" }]);
  for (const run of [() => released().release("main"), () => canaryRelease()]) {
    const { engine, error } = await recordGraph(run, { respond: responder({ leftover: true, ledger: paused }) });
    assert.match(error?.message ?? "", "refused: release old1 (myacr.azurecr.io/ai-app@sha256:bbbb");
    assert.match(error?.message ?? "", "paused canary waiting for promote or abort");
    const commands = kubectlCommands(engine);
    assert.not.ok(
      commands.some((c) => c === "apply" || c.startsWith("delete") || c === "create" || c === "replace"),
      `changed the cluster: ${commands.join(", ")}`,
    );
  }
  const gone = await recordGraph(() => released().release("main"), { respond: responder({ ledger: paused }) });
  assert.is(gone.error, undefined, String(gone.error));
});

test("a rolling release also removes a canary left by an interrupted run first, and records it", async () => {
  await registryWithMain();
  const { engine, error, result } = await recordGraph(() => released().release("main"), { respond: responder({ leftover: true }) });
  assert.is(error, undefined, String(error));
  assert.equal(kubectlCommands(engine).slice(0, 4), [
    "get configmap/ai-app-releases deployment/ai-app service/ai-app",
    "get deployments",
    "delete deployment/ai-app-canary",
    "get deployment/ai-app",
  ]);
  assert.match(
    (result as ReleaseResult).deployed,
    "removed a canary left by an interrupted run first (aborted: removed ai-app-canary (release old1",
  );
  const entries = JSON.parse(
    (JSON.parse(writtenFile(engine, `${STEP_FILES}/ledger.json`)[0]!) as { data: Record<string, string> }).data["releases.json"]!,
  ) as {
    id: string;
    outcome: string;
    strategy: string;
  }[];
  assert.equal(
    entries.map((e) => [e.id, e.strategy, e.outcome]),
    [
      ["old1", "canary", "interrupted"],
      [(result as ReleaseResult).releaseId, "rolling", "succeeded"],
    ],
  );
});

// ---- what the engine is relied on for (docs/engine-notes.md section 19, desk check) ----

/** The environment a chain sets, last value wins. */
const envOf = (prefix: Op[]) =>
  Object.fromEntries(prefix.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));

test("a 2-round analysis: each round's checks are their own execs, chained in one kubectl session, with the interval waited between rounds", async () => {
  await registryWithMain();
  const base = responder();
  /** When each exec's first read (exitCode) reached the engine: that is when the engine would run it. */
  const ranAt: { argv: string[]; at: number }[] = [];
  const { engine, error } = await recordGraph(
    // window 2s / interval 1s = 2 rounds; --pause so the analysis is the end of the run
    () => released().release("main", "5m", false, "canary", 10, "2s", "1s", 0, 0, true),
    {
      respond: (chain) => {
        const ran = chain.at(-2);
        if (chain.at(-1)?.field === "exitCode" && ran?.field === "withExec") ranAt.push({ argv: execArgv(ran), at: Date.now() });
        return base(chain);
      },
    },
  );
  assert.is(error, undefined, String(error));
  const kubectlExecs = engine.find("withExec").filter((e) => execArgv(e.op)[0] === "kubectl");
  const isPods = (a: string[]) => a[1] === "get" && a[2] === "pods";
  // Identical argv in both rounds: only the chain makes them two recipes (the engine would otherwise answer round 2 from round 1).
  const pods = kubectlExecs.filter((e) => isPods(execArgv(e.op)));
  assert.is(pods.length, 2, "two distinct `kubectl get pods` recipes, one per round");
  assert.equal(execArgv(pods[0]!.op), execArgv(pods[1]!.op));
  const round1 = pods[0]!.prefix.length < pods[1]!.prefix.length ? pods[0]! : pods[1]!;
  const round2 = round1 === pods[0] ? pods[1]! : pods[0]!;
  assert.equal(
    round2.prefix.slice(0, round1.prefix.length + 1),
    [...round1.prefix, round1.op],
    "round 2 runs on the container round 1 left",
  );
  const runsBefore = round2.prefix.filter((o) => o.field === "withExec" && execArgv(o)[1] === "run").length;
  assert.is(runsBefore, 2, "round 1's two smoke checks are in round 2's recipe too");
  // One session nonce for the whole chain, so no earlier call's result can stand in for any of it.
  const sessionOf = (e: { prefix: Op[] }) => envOf(e.prefix).AI_APP_PIPELINE_KUBECTL_SESSION;
  const nonces = new Set(kubectlExecs.map(sessionOf));
  assert.ok(sessionOf(round1) && sessionOf(round1) === sessionOf(round2), "the rounds share the canary session's nonce");
  assert.ok(nonces.size >= 2, "the ledger and the address read run in sessions of their own");
  // Each smoke check makes its own one-off pod.
  const smokePods = kubectlExecs.map((e) => execArgv(e.op)).filter((a) => a[1] === "run");
  assert.is(new Set(smokePods.map((a) => a[2])).size, 4, smokePods.map((a) => a[2]).join());
  // The interval is real: round 2 reaches the engine a full interval after round 1's last check.
  const firstPods = ranAt.findIndex((r) => isPods(r.argv));
  const secondPods = ranAt.findIndex((r, i) => i > firstPods && isPods(r.argv));
  const lastOfRound1 = ranAt[secondPods - 1]!;
  assert.is(lastOfRound1.argv[1], "run", "round 1 ends with a smoke check");
  assert.ok(ranAt[secondPods]!.at - lastOfRound1.at >= 950, `waited ${ranAt[secondPods]!.at - lastOfRound1.at} ms`);
  // kubectl reads the kubeconfig as the image's user (root in registry.k8s.io/kubectl): no user set, the mount left at the engine's root-owned 0400.
  for (const e of kubectlExecs)
    assert.not.ok(
      e.prefix.some((o) => o.field === "withUser"),
      "no user set on the kubectl container",
    );
  const mounts = engine.find("withMountedSecret").filter((m) => m.op.args.path === PATHS.kubeconfig);
  assert.ok(mounts.length > 0);
  for (const m of mounts) assert.equal(Object.keys(m.op.args).sort(), ["path", "source"], "no owner or mode: uid 0, 0400");
});

test("bad flags are refused before the registry or the cluster is asked anything", async () => {
  for (const [call, message] of [
    [() => released().release("main", "5m", false, "blue-green"), '--strategy "blue-green" is not one of rolling, canary'],
    [() => released().release("main", "5m", false, "canary", 100), "--canary-percent must be a whole number from 1 to 99"],
    [() => released().release("main", "5m", false, "rolling", 10, "2m", "30s", 0, 0, true), "--pause stops a canary after its analysis"],
    [() => released().release("main", "5m", false, "canary", 10, "2m", "soon"), '--analysis-interval "soon" is not a duration'],
    [
      () => released().release("main", "5m", false, "rolling", 10, "2m", "30s", 0, 0, false, "Bad_Label"),
      '--dns-label "Bad_Label" is not a valid Azure DNS label',
    ],
  ] as const) {
    const { engine, error } = await recordGraph(call, { respond: responder() });
    assert.match(error?.message ?? "", message);
    assert.equal(engine.recorded.length, 0, `nothing asked for ${message}`);
  }
});

const CANARY_IMAGE = `myacr.azurecr.io/ai-app@sha256:${"c".repeat(64)}`;
/** promote's read: the canary Deployment (release `id`, `image`), the ledger (`entries`) and the Service. */
const liveCanary = (entries: unknown[], id = "r9", image = CANARY_IMAGE) =>
  list(
    {
      kind: "Deployment",
      metadata: { name: "ai-app-canary", labels: { "ai-app-pipeline/release-id": id } },
      spec: { template: { spec: { containers: [{ name: "app", image }] } } },
    },
    { kind: "ConfigMap", metadata: { name: "ai-app-releases", resourceVersion: "7" }, data: { "releases.json": JSON.stringify(entries) } },
    { kind: "Service", metadata: { name: "ai-app" } },
  );

test("promote reads the canary's image and model from the cluster and rolls the stable to it; keeps the Service's DNS label", async () => {
  const image = CANARY_IMAGE;
  const pausedEntry = { ...entry("r9", "c", "paused"), strategy: "canary" };
  const live = list(
    {
      kind: "ConfigMap",
      metadata: { name: "ai-app-releases", resourceVersion: "7" },
      data: { "releases.json": JSON.stringify([pausedEntry]) },
    },
    {
      kind: "Deployment",
      metadata: {
        name: "ai-app-canary",
        labels: { "ai-app-pipeline/release-id": "r9" },
        annotations: {
          "ai-app-pipeline/model-name": "digits-classifier",
          "ai-app-pipeline/model-version": "1.0.0",
          "ai-app-pipeline/model-sha256": SHA,
        },
      },
      spec: { template: { spec: { containers: [{ name: "app", image }] } } },
    },
    { kind: "Service", metadata: { name: "ai-app", annotations: { "service.beta.kubernetes.io/azure-dns-label-name": "ai-app-prod" } } },
  );
  const { engine, error, result } = await recordGraph(() => cluster().promote("r9", "5m", "westeurope"), {
    respond: responder({ liveCanary: live }),
  });
  assert.is(error, undefined, String(error));
  assert.equal(kubectlCommands(engine), [
    "get deployment/ai-app-canary configmap/ai-app-releases service/ai-app",
    "get deployment/ai-app",
    "apply",
    "apply",
    "rollout status deployment/ai-app",
    "delete deployment/ai-app-canary",
    "get configmap/ai-app-releases deployment/ai-app",
    "create",
    "get deployment/ai-app service/ai-app",
  ]);
  const service = engine.find("withNewFile").find((e) => e.op.args.path === "service.yaml");
  assert.match(String(service?.op.args.contents), "service.beta.kubernetes.io/azure-dns-label-name: ai-app-prod");
  const r = result as ReleaseResult;
  assert.equal([r.action, r.image, r.releaseId, r.modelVersion], ["promote", image, "r9", "1.0.0"]);
  const byDigest = await recordGraph(() => cluster().promote(`sha256:${"c".repeat(64)}`), { respond: responder({ liveCanary: live }) });
  assert.is(byDigest.error, undefined, "the canary image's digest names the approved release too");
  const none = await recordGraph(() => cluster().promote("r9"), { respond: responder() });
  assert.match(none.error?.message ?? "", "no canary to promote: deployment/ai-app-canary does not exist in namespace ai-app");
});

test("promote is tied to the approved release: another canary, or one the ledger does not hold as its paused canary, is refused and nothing changes", async () => {
  const paused = { ...entry("r9", "c", "paused"), strategy: "canary" };
  const cases: [string, string, string][] = [
    // a second canary run replaced the approved one
    [
      "r9",
      liveCanary(
        [paused, { ...entry("r10", "d", "paused"), strategy: "canary" }],
        "r10",
        `myacr.azurecr.io/ai-app@sha256:${"d".repeat(64)}`,
      ),
      "the canary in the cluster is release r10",
    ],
    [
      "r9",
      liveCanary([paused], "r9", `myacr.azurecr.io/ai-app@sha256:${"d".repeat(64)}`),
      "the ledger holds no canary entry r9 for myacr.azurecr.io/ai-app@sha256:dddd",
    ],
    // a canary labelled with a good rolling release's id
    ["r9", liveCanary([entry("r9", "c")]), "the ledger holds no canary entry r9"],
    ["r9", liveCanary([{ ...paused, outcome: "aborted" }]), "release r9 is aborted in the ledger, not a paused canary"],
    ["r9", liveCanary([]), "the ledger holds no canary entry r9"],
    [`sha256:${"d".repeat(64)}`, liveCanary([paused]), "the canary in the cluster is release r9"],
    ["not an id!", liveCanary([paused]), "is neither a release id"],
  ];
  for (const [id, live, message] of cases) {
    const { engine, error } = await recordGraph(() => cluster().promote(id), { respond: responder({ liveCanary: live }) });
    assert.match(error?.message ?? "", "promote refused: ");
    assert.match(error?.message ?? "", message);
    assert.equal(
      kubectlCommands(engine),
      ["get deployment/ai-app-canary configmap/ai-app-releases service/ai-app"],
      `${message}: changed the cluster`,
    );
  }
});

const LEDGER = (entries: unknown[]) =>
  list(
    { kind: "ConfigMap", metadata: { name: "ai-app-releases", resourceVersion: "7" }, data: { "releases.json": JSON.stringify(entries) } },
    {
      kind: "Deployment",
      metadata: { name: "ai-app" },
      spec: { template: { spec: { containers: [{ name: "app", image: `myacr.azurecr.io/ai-app@sha256:${"b".repeat(64)}` }] } } },
    },
  );
const entry = (id: string, c: string, outcome = "succeeded") => ({
  id,
  time: "2026-01-01T00:00:00Z",
  strategy: "rolling",
  outcome,
  image: `myacr.azurecr.io/ai-app@sha256:${c.repeat(64)}`,
  modelName: "digits-classifier",
  modelVersion: `1.0.${c === "a" ? 0 : 1}`,
  modelSha256: SHA,
  revision: REVISION,
  deploymentRevision: "3",
  detail: "",
});

const withAcr = () => cluster().withRegistry("myacr.azurecr.io");

test("releases lists the ledger; rollback deploys the last good release from it, smoke-tests it and records a rollback", async () => {
  const ledger = LEDGER([entry("1", "a"), entry("2", "b")]);
  const h = await recordGraph(() => cluster().releases(), { respond: responder({ ledger }) });
  assert.is(h.error, undefined, String(h.error));
  const history = h.result as ReleaseHistory;
  assert.equal([history.count, history.goodImages.length, history.running.endsWith("b".repeat(64))], [2, 2, true]);
  assert.match(history.summary.split("\n")[0]!, /succeeded\s+rolling\s+myacr.azurecr.io\/ai-app@sha256:b{64}/);

  const { engine, error, result } = await recordGraph(() => withAcr().rollback(), { respond: responder({ ledger }) });
  assert.is(error, undefined, String(error));
  const commands = kubectlCommands(engine);
  assert.equal(commands.slice(0, 6), [
    "get configmap/ai-app-releases deployment/ai-app service/ai-app",
    "get deployment/ai-app",
    "apply",
    "apply",
    "rollout status deployment/ai-app",
    "run",
  ]);
  assert.is(commands.filter((c) => c === "replace").length, 1, "the ledger, replaced with the resourceVersion read");
  const r = result as ReleaseResult;
  assert.equal([r.action, r.strategy, r.image.endsWith("a".repeat(64)), r.modelVersion], ["rollback", "rollback", true, "1.0.0"]);
  assert.match(r.deployed, "rolled back from myacr.azurecr.io/ai-app@sha256:bbbb");
  assert.match(r.smoke, "passed");

  const nothing = await recordGraph(() => withAcr().rollback(), { respond: responder({ ledger: LEDGER([entry("2", "b")]) }) });
  assert.match(nothing.error?.message ?? "", "cannot roll back: no earlier good release to go back to");
  const noRegistry = await recordGraph(() => cluster().rollback(), { respond: responder({ ledger }) });
  assert.match(noRegistry.error?.message ?? "", "no registry configured: start the call with with-registry");
  assert.equal(kubectlCommands(noRegistry.engine), [], "the cluster is asked nothing without a registry to check against");
});

test("rollback trusts the ledger only to choose: a planted entry for another registry is passed over or refused; labels that differ from the entry are refused", async () => {
  const evil = `evil.example.com/x@sha256:${"e".repeat(64)}`;
  const ledger = LEDGER([entry("1", "a"), entry("2", "b"), { ...entry("666", "a"), image: evil }]);
  const passed = await recordGraph(() => withAcr().rollback(), { respond: responder({ ledger }) });
  assert.is(passed.error, undefined, String(passed.error));
  const r = passed.result as ReleaseResult;
  assert.ok(r.image.endsWith("a".repeat(64)) && !r.image.startsWith("evil"), `went to ${r.image}`);
  assert.match(r.deployed, "passed over: release 666: evil.example.com/x@sha256:eeee");
  const manifests = passed.engine.find("withNewFile").filter((e) => e.op.args.path !== `${STEP_FILES}/ledger.json`);
  assert.ok(manifests.length > 0);
  assert.not.ok(
    manifests.some((e) => String(e.op.args.contents).includes("evil.example.com")),
    "the planted image reached a manifest",
  );

  const byDigest = await recordGraph(() => withAcr().rollback(evil), { respond: responder({ ledger }) });
  assert.match(byDigest.error?.message ?? "", "release 666 in the ledger is refused: evil.example.com/x@sha256:eeee");
  assert.match(byDigest.error?.message ?? "", "is not an image of myacr.azurecr.io/ai-app by digest");
  const otherRepo = await recordGraph(() => cluster().withRegistry("myacr.azurecr.io", "other").rollback(), {
    respond: responder({ ledger }),
  });
  assert.match(otherRepo.error?.message ?? "", "no earlier good release");

  // the ledger says model 1.0.0 of revision REVISION; the image's labels say otherwise
  const relabelled = await recordGraph(() => withAcr().rollback(), {
    respond: (chain) => builtImageLabel(chain, { revision: "f".repeat(40), modelSha256: SHA }) ?? responder({ ledger })(chain),
  });
  assert.match(relabelled.error?.message ?? "", "the image's labels do not match its ledger entry (revision: ledger");
  assert.not.ok(kubectlCommands(relabelled.engine).includes("apply"), "applied although the labels differ");
});

test("abort removes the canary and marks its ledger entry aborted", async () => {
  const { engine, error, result } = await recordGraph(() => cluster().abort(), {
    respond: (chain) => {
      const argv = execArgv(chain.at(-2));
      if (
        chain.at(-1)?.field === "stdout" &&
        argv.join(" ").startsWith("kubectl get deployments --selector=ai-app-pipeline/track=canary")
      ) {
        return list({
          kind: "Deployment",
          metadata: { name: "ai-app-canary", labels: { "ai-app-pipeline/release-id": "r9" } },
          spec: { template: { spec: { containers: [{ name: "app", image: OLD }] } } },
        });
      }
      if (chain.at(-1)?.field === "stdout" && argv[2]?.startsWith("configmap/"))
        return LEDGER([{ ...entry("r9", "c", "paused"), strategy: "canary" }]);
      return responder()(chain);
    },
  });
  assert.is(error, undefined, String(error));
  assert.equal(kubectlCommands(engine), [
    "get deployments",
    "delete deployment/ai-app-canary",
    "get configmap/ai-app-releases deployment/ai-app",
    "replace",
  ]);
  assert.match((result as ReleaseResult).deployed, "aborted: removed ai-app-canary (release r9");
  assert.match(writtenFile(engine, `${STEP_FILES}/ledger.json`)[0]!, '\\"outcome\\": \\"aborted\\"');
});

/** abort's answers: the canary (release `id`, image OLD) and the ledger read. */
const abortResponder = (id: string, ledger: string) => (chain: Op[]) => {
  const argv = execArgv(chain.at(-2));
  if (chain.at(-1)?.field === "stdout" && argv.join(" ").startsWith("kubectl get deployments --selector=ai-app-pipeline/track=canary")) {
    return list({
      kind: "Deployment",
      metadata: { name: "ai-app-canary", labels: { "ai-app-pipeline/release-id": id } },
      spec: { template: { spec: { containers: [{ name: "app", image: OLD }] } } },
    });
  }
  if (chain.at(-1)?.field === "stdout" && argv[2]?.startsWith("configmap/")) return ledger;
  return responder()(chain);
};
const writtenEntries = (engine: FakeEngine) =>
  JSON.parse(
    (JSON.parse(writtenFile(engine, `${STEP_FILES}/ledger.json`)[0]!) as { data: Record<string, string> }).data["releases.json"]!,
  ) as {
    id: string;
    outcome: string;
    image: string;
    detail: string;
  }[];

test("abort --release-id removes only that release's canary; a canary labelled with a good release's id never rewrites that entry", async () => {
  const oldCanary = { ...entry("r9", "0", "paused"), strategy: "canary" };
  const other = await recordGraph(() => cluster().abort("r8"), { respond: abortResponder("r9", LEDGER([oldCanary])) });
  assert.match(other.error?.message ?? "", "abort refused: the canary in the cluster is release r9");
  assert.equal(kubectlCommands(other.engine), ["get deployments"], "nothing removed, nothing recorded");

  const mine = await recordGraph(() => cluster().abort("r9"), { respond: abortResponder("r9", LEDGER([oldCanary])) });
  assert.is(mine.error, undefined, String(mine.error));
  assert.equal(
    writtenEntries(mine.engine).map((e) => [e.id, e.outcome]),
    [["r9", "aborted"]],
  );

  // the canary's label names release 1, a good rolling release of another image
  const good = entry("1", "a");
  const planted = await recordGraph(() => cluster().abort(), { respond: abortResponder("1", LEDGER([good])) });
  assert.is(planted.error, undefined, String(planted.error));
  const [kept, added] = writtenEntries(planted.engine);
  assert.equal(kept, good, "the good release's entry is unchanged");
  assert.is.not(added!.id, "1");
  assert.equal([added!.outcome, added!.image], ["aborted", OLD]);
  assert.match(added!.detail, "its label names release 1, which is not this canary's entry");
});

// ---- --mark-alias on the on-call functions: rollback names the model it went back to; a paused canary moves nothing ----

const storeKey = () => dag.setSecret("store-key", "store-KEY-plaintext==");
const withStore = (p: AiAppPipeline) => p.withStore("models", "acct01", undefined, undefined, undefined, storeKey());
const aliasMoves = (engine: FakeEngine) =>
  engine
    .find("withExec")
    .map((e) => execArgv(e.op))
    .filter((a) => a.includes("alias"))
    .map((a) => a.slice(a.indexOf("alias"), a.indexOf("alias") + 7).join(" "));

test("rollback --mark-alias production moves the alias to the model of the release it went back to; a paused canary leaves it", async () => {
  const ledger = LEDGER([entry("1", "a"), entry("2", "b")]);
  const p = withStore(new AiAppPipeline(contextDir("/"), REVISION, "", "")).withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "ai-app");
  const back = await recordGraph(() => p.withRegistry("myacr.azurecr.io").rollback(undefined, "5m", undefined, "production"), {
    respond: responder({ ledger }),
  });
  assert.is(back.error, undefined, String(back.error));
  assert.equal(aliasMoves(back.engine), ["alias set production --model-version 1.0.0 --model-name digits-classifier"]);
  assert.match((back.result as ReleaseResult).alias, /production/);

  await registryWithMain();
  const paused = await recordGraph(
    () => withStore(released()).release("main", "5m", false, "canary", 10, "1s", "1s", 0, 0, true, undefined, undefined, "production"),
    { respond: responder() },
  );
  assert.is(paused.error, undefined, String(paused.error));
  assert.equal(aliasMoves(paused.engine), [], "the canary serves beside the stable: the alias waits for promote");
});

// ---- the public DNS name: kept unless changed or removed on purpose ----

const DNS_ANNOTATION = "service.beta.kubernetes.io/azure-dns-label-name";
/** The ledger read when the Service carries the DNS label `label` (set by an earlier release, or by hand). */
const ledgerWithLabel = (label: string) =>
  list(
    { kind: "ConfigMap", metadata: { name: "ai-app-releases", resourceVersion: "7" }, data: { "releases.json": "[]" } },
    { kind: "Service", metadata: { name: "ai-app", annotations: { [DNS_ANNOTATION]: label } } },
  );
/** The Service manifests written for kubectl (each render's service.yaml), and the DNS label each carries ("" for none). */
const serviceLabels = (engine: FakeEngine) =>
  writtenFile(engine, "service.yaml").map(
    (text) => (parse(text) as { metadata?: { annotations?: Record<string, string> } }).metadata?.annotations?.[DNS_ANNOTATION] ?? "",
  );
/** Each value once, in order. */
const distinct = (xs: string[]) => [...new Set(xs)];
/** release(tag, timeout, dryRun, strategy, percent, window, interval, maxFailures, maxRestarts, pause, dnsLabel, region, markAlias, removeDnsLabel) */
const releaseWith = (strategy: string, dnsLabel?: string, removeDnsLabel = false) =>
  released().release("main", "5m", false, strategy, 10, "1s", "1s", 0, 0, false, dnsLabel, undefined, undefined, removeDnsLabel);

test("a release without --dns-label keeps the Service's DNS label (rolling and canary); --dns-label replaces it; --remove-dns-label removes it", async () => {
  await registryWithMain();
  for (const strategy of ["rolling", "canary"]) {
    const kept = await recordGraph(() => releaseWith(strategy), { respond: responder({ ledger: ledgerWithLabel("ai-app-prod") }) });
    assert.is(kept.error, undefined, String(kept.error));
    const labels = serviceLabels(kept.engine);
    assert.ok(labels.length > 0, `${strategy}: the Service was rendered`);
    assert.equal(distinct(labels), ["ai-app-prod"], `${strategy}: the label read from the cluster is applied again`);

    const replaced = await recordGraph(() => releaseWith(strategy, "ai-app-new"), {
      respond: responder({ ledger: ledgerWithLabel("ai-app-prod") }),
    });
    assert.is(replaced.error, undefined, String(replaced.error));
    assert.equal(distinct(serviceLabels(replaced.engine)), ["ai-app-new"], `${strategy}: --dns-label wins`);

    const removed = await recordGraph(() => releaseWith(strategy, undefined, true), {
      respond: responder({ ledger: ledgerWithLabel("ai-app-prod") }),
    });
    assert.is(removed.error, undefined, String(removed.error));
    assert.equal(distinct(serviceLabels(removed.engine)), [""], `${strategy}: removed only when asked`);
  }
  const none = await recordGraph(() => releaseWith("rolling"), { respond: responder() });
  assert.is(none.error, undefined, String(none.error));
  assert.equal(distinct(serviceLabels(none.engine)), [""], "no label in the cluster, none asked: none");

  const both = await recordGraph(() => releaseWith("rolling", "ai-app-new", true), { respond: responder() });
  assert.match(both.error?.message ?? "", "--dns-label and --remove-dns-label");
  assert.equal(both.engine.recorded.length, 0, "refused before anything is asked");
});

test("promote and rollback keep the Service's DNS label, or set the one --dns-label names", async () => {
  const paused = { ...entry("r9", "c", "paused"), strategy: "canary" };
  const live = list(
    {
      kind: "Deployment",
      metadata: { name: "ai-app-canary", labels: { "ai-app-pipeline/release-id": "r9" } },
      spec: { template: { spec: { containers: [{ name: "app", image: CANARY_IMAGE }] } } },
    },
    { kind: "ConfigMap", metadata: { name: "ai-app-releases", resourceVersion: "7" }, data: { "releases.json": JSON.stringify([paused]) } },
    { kind: "Service", metadata: { name: "ai-app", annotations: { [DNS_ANNOTATION]: "ai-app-prod" } } },
  );
  const promoted = await recordGraph(() => cluster().promote("r9", "5m", "westeurope", undefined, "ai-app-new"), {
    respond: responder({ liveCanary: live }),
  });
  assert.is(promoted.error, undefined, String(promoted.error));
  assert.equal(distinct(serviceLabels(promoted.engine)), ["ai-app-new"]);

  const ledger = list(...(JSON.parse(LEDGER([entry("1", "a"), entry("2", "b")])) as { items: unknown[] }).items, {
    kind: "Service",
    metadata: { name: "ai-app", annotations: { [DNS_ANNOTATION]: "ai-app-prod" } },
  });
  const back = await recordGraph(() => withAcr().rollback(), { respond: responder({ ledger }) });
  assert.is(back.error, undefined, String(back.error));
  assert.equal(distinct(serviceLabels(back.engine)), ["ai-app-prod"], "rollback keeps it");
  const renamed = await recordGraph(() => withAcr().rollback(undefined, "5m", "westeurope", undefined, "ai-app-new"), {
    respond: responder({ ledger }),
  });
  assert.is(renamed.error, undefined, String(renamed.error));
  assert.equal(distinct(serviceLabels(renamed.engine)), ["ai-app-new"], "rollback --dns-label sets it");
});

test.run();
