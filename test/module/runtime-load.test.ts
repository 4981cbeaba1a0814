/**
 * The module loaded the way Dagger's TypeScript runtime loads it on a real engine (v0.21.x):
 * what the engine uploads (runtime-upload.ts), the runtime's package.json rewrite and
 * `npm install --omit=dev` (runtime-install.ts), the bundled SDK it generates (runtime-sdk.ts) and
 * its container layout and tsx entrypoint (runtime-container.ts), each following the Dagger source
 * file named there. Only what that install put in node_modules is reachable from the module.
 *
 * On 0.21 the engine takes the module's type definitions from the SDK's `ModuleTypes`
 * (runtime/introspector.go: a separate introspector with its own TypeScript that does not load the
 * module); the runtime container built here serves every function call, and each call starts with
 * the SDK's `scan`, which imports every module file and runs the TypeScript compiler from the
 * module's own node_modules (sdk/typescript/src/module/entrypoint/entrypoint.ts, introspector/index.ts).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DeploymentStatus } from "../../dagger/src/kubernetes/deployment-status.js";
import { renderAnnotations } from "../../dagger/src/kubernetes/render.js";
import { FunctionCallSpec, namedObjectId, Op } from "../support/fake-engine.js";
import { modelJsonReads, repositoryFiles, runs } from "../support/graph.js";
import { IMAGE, MODEL, REVISION } from "../support/kubernetes.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { introspectModule } from "../support/introspect.js";
import { RuntimeModule, runtimeModule, runRuntimeEntrypoint } from "../support/runtime-container.js";
import { rewritePackageJson } from "../support/runtime-install.js";
import { contextDirectoryId, ROOT } from "../support/session.js";

const MANIFEST = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: "c".repeat(64), size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const BUILD: FunctionCallSpec = {
  parentName: "AiAppPipeline",
  name: "build",
  parent: { source: contextDirectoryId("/"), revision: "abc1234" },
  inputArgs: { model: contextDirectoryId("/model/out") },
};

/** `dagger call with-cluster ... status`: a function that returns a module object (DeploymentStatus). */
const STATUS: FunctionCallSpec = {
  parentName: "AiAppPipeline",
  name: "status",
  parent: {
    source: contextDirectoryId("/"),
    revision: "abc1234",
    cluster: { kubeconfig: namedObjectId("secret", "kubeconfig"), namespace: "prod" },
  },
  inputArgs: {},
};
/** kubectl get's JSON reduced to what status reads (test/kubernetes/status-graph.test.ts parses the real kubectl's). */
const KUBECTL_GET = JSON.stringify({
  kind: "List",
  items: [
    {
      kind: "Deployment",
      metadata: { name: "ai-app", generation: 3, annotations: renderAnnotations(IMAGE, { revision: REVISION, model: MODEL }) },
      spec: { replicas: 2, template: { spec: { containers: [{ name: "app", image: IMAGE }] } } },
      status: { observedGeneration: 3, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 },
    },
    {
      kind: "Service",
      metadata: { name: "ai-app" },
      spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80 }] },
      status: { loadBalancer: { ingress: [{ ip: "20.31.4.5" }] } },
    },
  ],
});
const kubectlGetAnswers = (chain: Op[]): unknown => {
  const repo = repositoryFiles(chain);
  if (repo !== undefined) return repo;
  const leaf = chain.at(-1)!.field;
  if (!runs("kubectl", "get")(chain.at(-2))) return undefined;
  return ({ exitCode: 0, stdout: KUBECTL_GET, stderr: "" } as Record<string, unknown>)[leaf];
};

const PACKAGE_JSON = readFileSync(join(ROOT, "dagger/package.json"), "utf8");
let current: Promise<RuntimeModule> | undefined;
const currentModule = () => (current ??= runtimeModule());

/** dagger/package.json with `name` moved from dependencies to devDependencies. */
function withDevOnly(name: string): string {
  const pkg = JSON.parse(PACKAGE_JSON) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const version = pkg.dependencies[name];
  assert.ok(version, `${name} should be a run-time dependency of dagger/package.json`);
  delete pkg.dependencies[name];
  pkg.devDependencies[name] = version!;
  return JSON.stringify(pkg, null, 2);
}

test("the runtime's package.json rewrite: type module, typescript only when absent, @dagger.io/dagger dropped", () => {
  const rewritten = (pkg: object) => JSON.parse(rewritePackageJson(JSON.stringify(pkg))) as Record<string, Record<string, string>>;
  assert.equal(rewritten({}), { type: "module", dependencies: { typescript: "5.9.3" } } as never);
  const devOnly = rewritten({ dependencies: {}, devDependencies: { typescript: "6.0.3", "@dagger.io/dagger": "0.21.9" } });
  assert.equal(devOnly.dependencies, { typescript: "5.9.3" }, "a dev-only typescript does not count as present");
  assert.equal(devOnly.devDependencies, { typescript: "6.0.3" });
  assert.equal(rewritten({ dependencies: { typescript: "6.0.3", "@dagger.io/dagger": "0.21.9" } }).dependencies, { typescript: "6.0.3" });
});

test("a function call through the runtime's container (dagger call build) returns its container", async () => {
  const run = await runRuntimeEntrypoint(await currentModule(), { call: BUILD, respond: modelJsonReads(MANIFEST) });
  assert.is(run.exitCode, 0, run.output);
  assert.is(run.error, undefined, run.output);
  assert.ok(run.engine.isId(run.value), `build should return a Container id, got ${JSON.stringify(run.value)}`);
  const chain = run.engine.chainOf(String(run.value));
  assert.ok(
    chain.some((o) => o.field === "withLabel" && o.args.value === "abc1234"),
    "the revision label is on the returned image",
  );
});

test("a function returning a module object through the runtime's container (dagger call status): the object's fields reach the engine", async () => {
  const run = await runRuntimeEntrypoint(await currentModule(), { call: STATUS, respond: kubectlGetAnswers });
  assert.is(run.exitCode, 0, run.output);
  assert.is(run.error, undefined, run.output);
  // The SDK's loadResult sends the object as its state: every declared field, nothing else.
  const value = run.value as Record<string, unknown>;
  assert.equal(Object.keys(value).sort(), Object.keys(new DeploymentStatus()).sort());
  assert.equal(
    [value.deployed, value.image, value.modelVersion, value.replicasReady, value.rollout, value.url],
    [true, IMAGE, MODEL.version, 2, "complete", "http://20.31.4.5"],
  );
  assert.equal((JSON.parse(String(value.json)) as Record<string, unknown>).replicasDesired, 2);
});

test("the runtime container's scan (the module's own TypeScript) finds every function, check and up service", async () => {
  const run = await runRuntimeEntrypoint(await currentModule(), { call: { parentName: "", name: "" } });
  assert.is(run.exitCode, 0, run.output);
  // `function("")` is the constructor; the others are the module's functions.
  const registered = run.engine
    .find("function")
    .map((f) => String(f.op.args.name))
    .filter(Boolean)
    .sort();
  const expected = Object.keys((await introspectModule()).main.functions).sort();
  assert.equal(registered, expected);
  assert.is(run.engine.find("withConstructor").length, 1);
  assert.is(run.engine.find("withCheck").length, 1);
  assert.is(run.engine.find("withUp").length, 1);
});

// The harness must see a run-time import that npm leaves out. These rebuild the install from a
// changed package.json (cached like the real one) and expect the load to fail naming the package.
for (const [pkg, why] of [
  ["typescript", "the SDK's introspector imports it on every call (dagger/package.json before 8b82a78)"],
  ["yaml", "module files import it"],
] as const) {
  test(`${pkg} as a dev dependency only fails the load: ${why}`, async () => {
    const mod = await runtimeModule({ packageJson: withDevOnly(pkg) });
    const run = await runRuntimeEntrypoint(mod, { call: BUILD, respond: modelJsonReads(MANIFEST) });
    assert.is.not(run.exitCode, 0, run.output);
    assert.match(run.output, new RegExp(`Cannot find (package|module) '${pkg}'`), run.output);
    assert.is(run.value, undefined, "no value may reach the engine");
  });
}

test.run();
