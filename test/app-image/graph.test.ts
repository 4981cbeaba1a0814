/**
 * Recorded-graph tests of test/train/build/serve: the graph the module would send to a
 * Dagger engine, captured by the fake engine. Nothing here runs a container.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { APP_UID, IMAGES, MODEL_DIR } from "../../dagger/src/images.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import {
  baseImages,
  contextDir,
  execsStartingWith,
  indexOf,
  isPinnedImage,
  modelJsonReads,
  rootLayerCopies,
  runs,
} from "../support/graph.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph } from "../support/session.js";
import { execFailure } from "../support/exec-errors.js";
import { APP_TEST_COMMAND } from "../../dagger/src/app-image/test.js";

const SHA = "b".repeat(64);
const MANIFEST = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: SHA, size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MANIFEST);

/** Answers model.json reads with MANIFEST, and lets `overrides` fail chosen steps. */
function responder(overrides: (chain: Op[]) => unknown = () => undefined) {
  return (chain: Op[]) => {
    const o = overrides(chain);
    if (o !== undefined) return o;
    return modelJson(chain);
  };
}

/** The exit code of a command run by `tool` (a named matcher, see test/support/graph.ts). */
const isExec = (tool: string) => (chain: Op[]) => chain.at(-1)?.field === "exitCode" && runs(tool)(chain.at(-2));

/** pytest exiting `exitCode` with `stdout`, as the engine reports an exec that must succeed and did not. */
const pytestFails = (exitCode: number, stdout: string) => (chain: Op[]) => {
  if (runs("pytest")(chain.at(-2))) throw execFailure({ cmd: APP_TEST_COMMAND, exitCode, stdout });
  return undefined;
};

const pipeline = () => new AiAppPipeline(contextDir("/"), "0123456789abcdef0123456789abcdef01234567");

/** The file `op` (a withFile) copies, when it is model.json's schema from this module's own source. */
function isModuleSchema(engine: FakeEngine, op: Op | undefined): boolean {
  if (op?.field !== "withFile") return false;
  const file = engine.chainOf(String(op.args.source));
  return (
    file.at(-1)?.field === "file" &&
    file.at(-1)!.args.path === "src/model-store/model.schema.json" &&
    file.some((o) => o.field === "currentModule")
  );
}

test("test: pinned python, requirements layer before the source, pytest last", async () => {
  const { engine, error, result } = await recordGraph(() => pipeline().test(), {
    respond: responder((c) => (c.at(-1)?.field === "combinedOutput" ? "....\n4 passed in 0.1s\n" : undefined)),
  });
  assert.is(error, undefined, String(error));
  assert.is(result, "4 passed in 0.1s");
  assert.ok(baseImages(engine).every(isPinnedImage), baseImages(engine).join());
  assert.ok(baseImages(engine).includes(IMAGES.python));
  const [pytest] = execsStartingWith(engine, ["python", "-m", "pytest"]);
  assert.ok(pytest, "pytest exec missing");
  const chain = pytest!.prefix;
  const install = indexOf(chain, runs("pip"));
  const source = indexOf(chain, (o) => o.field === "withDirectory" && o.args.path === "/src/app");
  assert.ok(install >= 0 && source > install, "pip install must come before the app source is copied");
  const schema = indexOf(chain, (o) => o.args.path === "/src/app/scoring/model.schema.json");
  assert.ok(schema > source && isModuleSchema(engine, chain[schema]), "model.json's schema beside the app's checker, as in the image");
  assert.ok(
    chain.some((o) => o.field === "withMountedCache" && o.args.path === "/root/.cache/pip"),
    "pip cache volume",
  );
});

test("test: pytest must exit 0 (default expect), so a failing run is an exec error the engine keeps no result for", async () => {
  const { engine, error } = await recordGraph(() => pipeline().test(), {
    respond: responder((c) => (c.at(-1)?.field === "combinedOutput" ? "4 passed in 0.1s\n" : undefined)),
  });
  assert.is(error, undefined, String(error));
  const [pytest] = execsStartingWith(engine, ["python", "-m", "pytest"]);
  // Under expect ANY a failing run is a successful, persisted withExec result: every later run
  // with the same source would replay the failure (docs/engine-notes.md section 21).
  assert.is(pytest!.op.args.expect, undefined, "no expect: the engine's default, SUCCESS");
});

test("test: a failing suite fails the function with pytest's output", async () => {
  const { error } = await recordGraph(() => pipeline().test(), {
    respond: responder(pytestFails(1, "FAILED tests/test_api.py::test_score - assert 400 == 200\n1 failed in 0.2s")),
  });
  assert.ok(error, "expected a failure");
  assert.match(error!.message, /app tests failed \(pytest exit code 1\)/);
  assert.match(error!.message, /FAILED tests\/test_api.py::test_score/);
});

test("test: a failure before pytest (the requirements install) is the engine's own error, not a test failure", async () => {
  const pip = (c: Op[]) => {
    const exec = c.at(-2);
    if (runs("pytest")(exec))
      throw execFailure({ cmd: ["pip", "install", "-r", "requirements.txt"], exitCode: 1, stderr: "No matching distribution" });
    return undefined;
  };
  const { error } = await recordGraph(() => pipeline().test(), { respond: responder(pip) });
  assert.is(error?.name, "ExecError");
  assert.not.match(error!.message, "app tests failed");
});

test("train: train.py runs with the app's model.json checker and the module's schema beside it", async () => {
  const { engine, error } = await recordGraph(async () => pipeline().trainSampleModel().id(), { respond: responder() });
  assert.is(error, undefined, String(error));
  const [train] = execsStartingWith(engine, ["python", "model/train.py"]);
  assert.ok(train, "train.py exec missing");
  const copied = (path: string) => train!.prefix.find((o) => o.field === "withFile" && o.args.path === path);
  const checker = copied("/src/app/scoring/contract.py");
  assert.ok(checker, "app/scoring/contract.py copied where train.py loads it");
  assert.equal(engine.chainOf(String(checker?.args.source)).at(-1), { field: "file", args: { path: "app/scoring/contract.py" } });
  assert.ok(isModuleSchema(engine, copied("/src/app/scoring/model.schema.json")), "the schema the module's model store applies");
});

test("build: verified model mounted at /models, non-root, labelled, deps before code", async () => {
  const { engine, error, result } = await recordGraph(
    async () => {
      const ctr = await pipeline().build(contextDir("/model/out"));
      return ctr.id();
    },
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  const chain = engine.chainOf(String(result));
  const verify = execsStartingWith(engine, ["sha256sum", "--check"]);
  assert.is(verify.length, 1, "model verified once before building");
  const [model, app] = rootLayerCopies(engine, chain);
  assert.is(model?.path, MODEL_DIR.slice(1), "model directory at /models");
  assert.equal(engine.chainOf(String(model!.copy.args.source)).at(-1), { field: "directory", args: { path: "context:/model/out" } });
  const env = Object.fromEntries(chain.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));
  assert.is(env.MODEL_DIR, MODEL_DIR);
  const user = chain.filter((o) => o.field === "withUser").at(-1);
  assert.is(user?.args.name, `${APP_UID}:${APP_UID}`);
  const labels = Object.fromEntries(chain.filter((o) => o.field === "withLabel").map((o) => [o.args.name, o.args.value]));
  assert.is(labels["org.opencontainers.image.revision"], "0123456789abcdef0123456789abcdef01234567");
  assert.is(labels["ai-app-pipeline.model.version"], "1.4.0");
  assert.is(labels["ai-app-pipeline.model.sha256"], SHA);
  const deps = indexOf(chain, runs("pip"));
  assert.is(app?.path, "app");
  const code = engine.chainOf(String(app!.copy.args.source));
  assert.equal(code.at(-1)?.args.path, "scoring/model.schema.json", "model.json's schema in the code layer, where the app reads it");
  assert.ok(isModuleSchema(engine, code.at(-1)), "the schema the module's model store applies");
  const copies = chain.flatMap((o, i) => (o.field === "withDirectory" && o.args.path === "/" ? [i] : []));
  assert.ok(deps >= 0 && copies.length === 2 && copies[0]! > deps, "dependencies layer before the model and the app code");
  assert.ok(indexOf(chain, (o) => o.field === "withoutMount") > deps, "pip cache mount dropped from the image");
  assert.ok(baseImages(engine).every(isPinnedImage));
  const entry = chain.filter((o) => o.field === "withEntrypoint").at(-1);
  assert.equal((entry?.args.args as string[])[0], "gunicorn");
});

test("build: no manifest or a hash mismatch fails before anything is built", async () => {
  const noManifest = await recordGraph(() => pipeline().build(contextDir("/empty")), {
    respond: responder((c) => (c.at(-1)?.field === "exists" ? false : undefined)),
  });
  assert.match(noManifest.error?.message ?? "", /has no model\.json/);
  assert.is(noManifest.engine.find("withLabel").length, 0);

  const corrupt = await recordGraph(() => pipeline().build(contextDir("/bad")), {
    respond: responder((c) =>
      isExec("sha256sum")(c)
        ? 1
        : c.at(-1)?.field === "combinedOutput"
          ? "model.onnx: FAILED\nsha256sum: WARNING: 1 computed checksum did NOT match"
          : undefined,
    ),
  });
  assert.match(corrupt.error?.message ?? "", /does not match its model\.json/);
  assert.match(corrupt.error?.message ?? "", /model\.onnx: FAILED/);
});

test("through the SDK entrypoint: build decodes --model and returns a container", async () => {
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "build",
      parent: { source: contextDirectoryId("/"), revision: "abc1234" },
      inputArgs: { model: contextDirectoryId("/model/out") },
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  const chain = run.engine.chainOf(String(run.value));
  assert.equal(
    rootLayerCopies(run.engine, chain).map((l) => l.path),
    [MODEL_DIR.slice(1), "app"],
  );
  assert.ok(chain.some((o) => o.field === "withLabel" && o.args.value === "abc1234"));
});

test("through the SDK entrypoint: a failing test suite is returned as the function's error", async () => {
  const run = await callThroughEntrypoint({
    call: { parentName: "AiAppPipeline", name: "test", parent: { source: contextDirectoryId("/"), revision: "dev" } },
    respond: responder(pytestFails(2, "ERROR collecting tests")),
  });
  assert.is(run.exitCode, 1);
  assert.match(run.error ?? "", /app tests failed \(pytest exit code 2\)/);
  assert.match(run.error ?? "", "ERROR collecting tests");
});

test.run();
