/**
 * The apply side of the deploy through the real kubectl against the stand-in API server: the
 * server-side dry run and apply of the rendered k8s/ files (kubectl reads the files, builds the
 * apply patches and sends them; the stand-in validates and stores them), `kubectl diff`, and then
 * the whole deploy decision path with every command run by kubectl, none scripted.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { applyArgs, diffArgs, PATHS } from "../../dagger/src/kubernetes/commands.js";
import { runDeploy } from "../../dagger/src/kubernetes/decide.js";
import { ManifestFile } from "../../dagger/src/kubernetes/documents.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { IMAGE, renderShipped, writeTemp } from "../support/kubernetes.js";

const NS = "ai-app";
const T = { namespace: NS };

/** The argv as the module builds it, with the rendered files where the container mounts them. */
function onDisk(argv: string[], dir: string): string[] {
  return argv.slice(1).map((a) => (a === `--filename=${PATHS.manifests}` ? `--filename=${dir}` : a));
}

async function withServer<T>(fn: (api: FakeApiServer) => Promise<T>): Promise<T> {
  const api = await new FakeApiServer({ namespace: NS, replicaSets: {}, pods: [], events: [] }).start();
  try {
    return await fn(api);
  } finally {
    await api.stop();
  }
}

interface SentDeployment {
  kind: string;
  spec: { template: { spec: { containers: { image: string; securityContext?: Record<string, unknown> }[] } } };
}

test("server-side dry run: kubectl sends every rendered object as an apply patch, strict validation, nothing stored", async () => {
  await withServer(async (api) => {
    const r = await api.kubectl(onDisk(applyArgs(T, { dryRun: true }), writeTemp(renderShipped())));
    assert.is(r.exitCode, 0, r.stderr);
    const patches = api.requests.filter((q) => q.method === "PATCH");
    assert.equal(patches.map((p) => (JSON.parse(p.body) as { kind: string }).kind).sort(), [
      "Deployment",
      "PodDisruptionBudget",
      "Service",
    ]);
    for (const p of patches) {
      assert.match(p.url, /dryRun=All/);
      assert.match(p.url, /fieldManager=ai-app-pipeline/);
      assert.match(p.url, /fieldValidation=Strict/);
    }
    const deployment = JSON.parse(patches.find((p) => p.url.includes("/deployments/"))!.body) as SentDeployment;
    const c = deployment.spec.template.spec.containers[0]!;
    assert.is(c.image, IMAGE, "the image by digest");
    assert.is(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(Object.keys(api.applied), [], "a dry run stores nothing");
  });
});

test("diff shows the new digest, then apply stores every object and the Deployment runs that digest", async () => {
  await withServer(async (api) => {
    const dir = writeTemp(renderShipped());
    const before = await api.kubectl(onDisk(diffArgs(T, {}), dir));
    assert.is(before.exitCode, 1, `differences before the apply: ${before.stderr}`);
    assert.match(before.stdout, IMAGE);
    const applied = await api.kubectl(onDisk(applyArgs(T, {}), dir));
    assert.is(applied.exitCode, 0, applied.stderr);
    assert.equal(Object.keys(api.applied).sort(), ["Deployment/ai-app", "PodDisruptionBudget/ai-app", "Service/ai-app"]);
    assert.is(api.state.deployment?.image, IMAGE);
    assert.match(applied.stdout, "deployment.apps/ai-app serverside-applied");
  });
});

test("the stand-in rejects a Deployment whose container has no image, as the API server does", async () => {
  await withServer(async (api) => {
    const broken: ManifestFile[] = renderShipped().map((f) =>
      f.path === "deployment.yaml" ? { ...f, text: f.text.replace(/^(\s+)image: .*$/m, "$1imagePullPolicy: IfNotPresent") } : f,
    );
    const r = await api.kubectl(onDisk(applyArgs(T, { dryRun: true }), writeTemp(broken)));
    assert.is(r.exitCode, 1);
    assert.match(r.stderr, 'Deployment "ai-app" is invalid: spec.template.spec.containers[0].image: Required value');
  });
});

test("the whole deploy with every kubectl command real: read revision, dry run, apply, rollout status -> rolled out", async () => {
  await withServer(async (api) => {
    const dir = writeTemp(renderShipped());
    const { outcome, history } = await runDeploy(
      { deployment: "ai-app", selector: { "app.kubernetes.io/name": "ai-app" }, namespace: NS, image: IMAGE, timeout: "10s" },
      (_step, args) => api.kubectl(onDisk(args, dir)),
    );
    assert.equal(
      history.map((h) => h.step),
      ["read-revision", "dry-run", "apply", "rollout-status"],
    );
    assert.ok(outcome.ok, outcome.message);
    assert.is(api.state.deployment?.image, IMAGE);
  });
});

test.run();
