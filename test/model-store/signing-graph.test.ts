/**
 * Recorded-graph tests of signed models in Dagger: publish-model --signing-key signs in the pinned
 * Python container with the key as a mounted secret file, and the store's command publishes that
 * signed directory; --public-key on fetch-model, ci and publish verifies the model there before
 * anything is built from it, and the image carries the signer. Nothing runs a container here;
 * test/model-store/signing-container.test.ts runs the same command lines with the real library.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { IMAGES } from "../../dagger/src/images.js";
import { IMAGE_LABELS } from "../../dagger/src/app-image/labels.js";
import { CLI, FETCH_OUT } from "../../dagger/src/model-store/step.js";
import {
  explainSigningFailure,
  PUBLIC_KEY_PATH,
  SIGN_SCRIPT,
  SIGNING_DIR,
  SIGNING_KEY_PATH,
} from "../../dagger/src/model-store/signing.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import { contextDir, execArgv, lastExec, modelJsonReads, queriesOutsideSetSecret, rootLayerCopies } from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { recordGraph } from "../support/session.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { dag, ExecError } from "../support/sdk.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const STORAGE_KEY = "account-KEY-plaintext-0123456789==";
/** A private key's stand-in: only its plaintext matters here, which must never leave setSecret. */
const SIGNING_KEY = "-----BEGIN PRIVATE KEY-----\nSIGNING-KEY-plaintext-MIGHAgEAMBMGByqGSM49\n-----END PRIVATE KEY-----\n";
const SIGNER = `key sha256:${"5".repeat(64)}`;
const MODEL_SHA = "b".repeat(64);
const MODEL_JSON = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: MODEL_SHA, size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MODEL_JSON);
const RESOLVED = JSON.stringify({ name: "digits-classifier", version: "1.4.0", manifestSha256: "d".repeat(64) });
const REGISTRY = "myacr.azurecr.io";
/**
 * A real registry (Debian's docker-registry on 127.0.0.1) for the calls that reach the push: just
 * before the channel tag moves, publish asks the registry what it points at now.
 */
let local: RunningRegistry | undefined;
const localRegistry = async () => (local ??= await startRegistry()).address;
test.after(async () => {
  await local?.stop();
});

const argv = execArgv;
/** sign_model.py's subcommand when `op` runs it in the signing container. */
const signingVerb = (op: Op | undefined) => {
  const a = argv(op);
  return a[0] === "python" && a[1] === SIGN_SCRIPT ? a[2] : undefined;
};
const cliVerb = (op: Op | undefined) => {
  const a = argv(op);
  return CLI.every((w, i) => a[i] === w) ? a[CLI.length] : undefined;
};

interface Knobs {
  /** Makes the verify step fail, as an exec that exits 1 does. */
  refuse?: boolean;
}

function responder(k: Knobs = {}) {
  return (chain: Op[]): unknown => {
    const leaf = chain.at(-1)!;
    const manifest = modelJson(chain);
    if (manifest !== undefined) return manifest;
    const ran = lastExec(chain);
    if (leaf.field === "stdout" && signingVerb(ran) === "verify") {
      if (k.refuse) throw new Error("verify exited 1");
      return JSON.stringify({ signer: SIGNER }) + "\n";
    }
    if (leaf.field === "stdout" && signingVerb(ran) === "sign") return JSON.stringify({ signature: `${SIGNING_DIR}/model.sig` }) + "\n";
    if (leaf.field === "stdout" && cliVerb(ran) === "resolve") return RESOLVED + "\n";
    if (leaf.field === "stdout" && cliVerb(ran) === "publish")
      return 'published digits-classifier 1.4.0 to container "models": 1 file(s), signed, manifest sha256 d\n';
    if (leaf.field === "combinedOutput") return "4 passed in 0.1s\n";
    if (leaf.field === "publish") return `${String(leaf.args.address)}@sha256:${"a".repeat(64)}`;
    return undefined;
  };
}

const withStore = () =>
  new AiAppPipeline(contextDir("/"), REVISION, "", "").withStore(
    "models",
    "acct01",
    undefined,
    undefined,
    undefined,
    dag.setSecret("storage-key", STORAGE_KEY),
  );
const publicKey = () => contextDir("/").file("model-signing.pub");

/** Every exec of sign_model.py with `verb`, with the chain leading to it. */
const signingExecs = (engine: FakeEngine, verb: string) => engine.find("withExec").filter((e) => signingVerb(e.op) === verb);
/** Position of the first recorded query whose chain matches. */
const firstQuery = (engine: FakeEngine, pred: (chain: Op[]) => boolean) => engine.recorded.findIndex((r) => pred(r.chain));
const isSha256Check = (chain: Op[]) => argv(lastExec(chain))[0] === "sha256sum";
/** A Directory id's chain is the signing container's output after its `verb` exec. */
function isSigningOutput(engine: FakeEngine, dirId: unknown, verb: string): boolean {
  const chain = engine.chainOf(String(dirId));
  const last = chain.at(-1);
  return last?.field === "directory" && last.args.path === SIGNING_DIR && signingVerb(lastExec(chain)) === verb;
}

test("publish-model --signing-key: signed once, in the pinned Python container, and the store's command publishes that directory", async () => {
  const { engine, error, result } = await recordGraph(
    () => withStore().publishModel(contextDir("/model/out"), "1.4.0", dag.setSecret("model-signing-key", SIGNING_KEY)),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.match(String(result), /signed/);
  const signs = signingExecs(engine, "sign");
  assert.is(signs.length, 1, "one signing step");
  const sign = signs[0]!;
  assert.equal(argv(sign.op), ["python", SIGN_SCRIPT, "sign", "--model", SIGNING_DIR, "--private-key", SIGNING_KEY_PATH]);
  assert.is(sign.prefix.find((o) => o.field === "from")?.args.address, IMAGES.python);

  // dependency layer (the pinned library) before the script and the model
  const pip = sign.prefix.findIndex((o) => o.field === "withExec" && argv(o)[0] === "pip");
  assert.ok(argv(sign.prefix[pip]).join(" ").includes("-r /tmp/req/requirements-signing.txt"), argv(sign.prefix[pip]).join(" "));
  const reqFile = sign.prefix.find((o) => o.field === "withFile" && o.args.path === "/tmp/req/requirements-signing.txt");
  assert.equal(engine.chainOf(String(reqFile!.args.source)).slice(-2), [
    { field: "directory", args: { path: "model" } },
    { field: "file", args: { path: "requirements-signing.txt" } },
  ]);
  const script = sign.prefix.findIndex((o) => o.field === "withFile" && o.args.path === SIGN_SCRIPT);
  const model = sign.prefix.findIndex((o) => o.field === "withDirectory" && o.args.path === SIGNING_DIR);
  assert.ok(pip >= 0 && pip < script && script < model, "pip install, then sign_model.py, then the model");

  // the key: a secret file mounted outside the signed directory, nothing else
  const mounts = sign.prefix.filter((o) => o.field === "withMountedSecret");
  assert.equal(
    mounts.map((m) => m.args.path),
    [SIGNING_KEY_PATH],
  );
  assert.not.ok(SIGNING_KEY_PATH.startsWith(`${SIGNING_DIR}/`), "the key is not inside the directory that is returned");
  assert.equal(engine.chainOf(String(mounts[0]!.args.source)), [
    { field: "setSecret", args: { name: "model-signing-key", plaintext: SIGNING_KEY } },
  ]);
  assert.is(sign.prefix.filter((o) => o.field === "withSecretVariable").length, 0, "no key in the environment");

  // the store's command publishes the signed output and is not asked to sign again
  const publishes = engine.find("withExec").filter((e) => cliVerb(e.op) === "publish");
  assert.is(publishes.length, 1);
  const pub = publishes[0]!;
  assert.not.ok(argv(pub.op).includes("--signing-key"), "signed once, in the Python container");
  const mount = pub.prefix.find((o) => o.field === "withDirectory" && o.args.path === "/in/model");
  assert.ok(isSigningOutput(engine, mount?.args.source, "sign"), "the store publishes the signed directory");
  assert.is(pub.prefix.filter((o) => o.field === "withMountedSecret").length, 0, "the store's container never sees the signing key");
  const signed = firstQuery(engine, (c) => signingVerb(lastExec(c)) === "sign");
  const published = firstQuery(engine, (c) => cliVerb(lastExec(c)) === "publish");
  assert.ok(signed >= 0 && signed < published, "the signing step ran (and could fail on its own) before the upload");

  const leaks = queriesOutsideSetSecret(engine).filter((q) => q.includes("SIGNING-KEY-plaintext"));
  assert.equal(leaks, [], "the signing key's plaintext appears only in setSecret");
  assert.is(engine.find("withNewFile").filter((f) => String(f.op.args.contents).includes("SIGNING-KEY")).length, 0, "never a layer");
});

test("the key is readable by sign_model.py: the signing container keeps the Python image's root user and the mount the engine's default owner and mode", async () => {
  // docs/engine-notes.md section 20: a secret file mount with no owner is uid 0, gid 0, mode 0400.
  // That is readable only because nothing changes the user: a withUser here needs an owner on the mount.
  const { engine, error } = await recordGraph(
    () => withStore().publishModel(contextDir("/model/out"), "1.4.0", dag.setSecret("model-signing-key", SIGNING_KEY)),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  const [sign] = signingExecs(engine, "sign");
  assert.is(sign!.prefix.find((o) => o.field === "from")?.args.address, IMAGES.python, "the official Python image, which sets no USER");
  assert.equal(
    sign!.prefix.filter((o) => o.field === "withUser"),
    [],
    "runs as the image's user (root)",
  );
  const [mount] = sign!.prefix.filter((o) => o.field === "withMountedSecret");
  assert.equal(Object.keys(mount!.args).sort(), ["path", "source"], "no owner or mode: uid 0, 0400");
});

test("publish-model without a key publishes the directory as given (no signing step)", async () => {
  const { engine, error } = await recordGraph(() => withStore().publishModel(contextDir("/model/out"), "1.4.0"), { respond: responder() });
  assert.is(error, undefined, String(error));
  assert.is(signingExecs(engine, "sign").length, 0);
});

test("fetch-model --public-key: the returned directory is the verify step's output, fed by the store's download", async () => {
  const { engine, error, result } = await recordGraph(
    async () => (await withStore().fetchModel("digits-classifier", "latest", false, publicKey())).id(),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.ok(isSigningOutput(engine, result, "verify"), engine.describe(engine.chainOf(String(result))));
  const [verify] = signingExecs(engine, "verify");
  assert.equal(argv(verify!.op), ["python", SIGN_SCRIPT, "verify", "--model", SIGNING_DIR, "--public-key", PUBLIC_KEY_PATH]);
  const input = verify!.prefix.find((o) => o.field === "withDirectory" && o.args.path === SIGNING_DIR);
  const fetched = engine.chainOf(String(input!.args.source));
  assert.equal(fetched.at(-1), { field: "directory", args: { path: FETCH_OUT } });
  assert.is(cliVerb(lastExec(fetched)), "fetch");
  const key = verify!.prefix.find((o) => o.field === "withFile" && o.args.path === PUBLIC_KEY_PATH);
  assert.equal(engine.chainOf(String(key!.args.source)).at(-1), { field: "file", args: { path: "model-signing.pub" } });
  const verified = firstQuery(engine, (c) => c.at(-1)?.field === "stdout" && signingVerb(lastExec(c)) === "verify");
  assert.ok(verified >= 0, "the verification ran inside the call, so a refusal fails fetch-model itself");
});

test("ci --public-key: verified before the model check and the build, the image built from the verified directory and labelled with its signer", async () => {
  const address = await localRegistry();
  const { engine, error, result } = await recordGraph(
    () => withStore().withRegistry(address, "ai-app").ci("main", undefined, "digits-classifier", "latest", false, publicKey()),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  // ci's result names the signer for the next step, as the image label does
  assert.is(result!.modelSigner, SIGNER);
  assert.match(result!.summary, `signed by ${SIGNER}`);
  const verified = firstQuery(engine, (c) => signingVerb(lastExec(c)) === "verify");
  const checked = firstQuery(engine, isSha256Check);
  const pushed = firstQuery(engine, (c) => c.at(-1)?.field === "publish");
  assert.ok(verified >= 0 && verified < checked && checked < pushed, `verify ${verified}, sha256 check ${checked}, push ${pushed}`);
  const pushes = engine.find("publish");
  assert.is(pushes.length, 3);
  for (const p of pushes) {
    const [models] = rootLayerCopies(engine, p.prefix);
    assert.ok(isSigningOutput(engine, models!.copy.args.source, "verify"), "the model layer comes from the verified directory");
    const labels = Object.fromEntries(p.prefix.filter((o) => o.field === "withLabel").map((o) => [o.args.name, o.args.value]));
    assert.is(labels[IMAGE_LABELS.modelSigner], SIGNER);
    assert.is(labels[IMAGE_LABELS.modelSha256], MODEL_SHA, "next to the model's sha256");
  }
  const [check] = engine.find("withExec").filter((e) => argv(e.op)[0] === "sha256sum");
  const checkedDir = check!.prefix.find((o) => o.field === "withDirectory" && o.args.path === "/check");
  assert.ok(isSigningOutput(engine, checkedDir?.args.source, "verify"), "the sha256 check reads the verified directory too");
});

test("publish --public-key with --model: the given directory is verified, and the image built from the verified one", async () => {
  const address = await localRegistry();
  const { engine, error } = await recordGraph(
    () => withStore().withRegistry(address, "ai-app").publish("main", contextDir("/model/out"), publicKey()),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  const [verify] = signingExecs(engine, "verify");
  const input = verify!.prefix.find((o) => o.field === "withDirectory" && o.args.path === SIGNING_DIR);
  assert.equal(engine.chainOf(String(input!.args.source)).at(-1), { field: "directory", args: { path: "context:/model/out" } });
  for (const p of engine.find("publish")) {
    const [models] = rootLayerCopies(engine, p.prefix);
    assert.ok(isSigningOutput(engine, models!.copy.args.source, "verify"));
  }
  assert.ok(firstQuery(engine, (c) => signingVerb(lastExec(c)) === "verify") < firstQuery(engine, isSha256Check));
});

test("without --public-key nothing is verified and no signer label is written", async () => {
  const address = await localRegistry();
  const { engine, error } = await recordGraph(() => withStore().withRegistry(address, "ai-app").publish("main", contextDir("/model/out")), {
    respond: responder(),
  });
  assert.is(error, undefined, String(error));
  assert.is(signingExecs(engine, "verify").length, 0);
  for (const p of engine.find("publish")) {
    assert.not.ok(p.prefix.some((o) => o.field === "withLabel" && o.args.name === IMAGE_LABELS.modelSigner));
  }
});

test("a refused signature stops ci and publish: no model check, no build, no push", async () => {
  const calls: (() => Promise<unknown>)[] = [
    () => withStore().withRegistry(REGISTRY, "ai-app").ci("main", undefined, "digits-classifier", "latest", false, publicKey()),
    () => withStore().withRegistry(REGISTRY, "ai-app").publish("main", undefined, publicKey()),
  ];
  for (const call of calls) {
    const { engine, error } = await recordGraph(call, { respond: responder({ refuse: true }) });
    assert.match(error?.message ?? "", /verify exited 1/);
    assert.is(firstQuery(engine, isSha256Check), -1, "no model check");
    assert.is(engine.find("publish").length, 0, "nothing pushed");
    assert.is(engine.find("withLabel").length, 0, "no image assembled");
  }
});

test("the functions take the signing key as a Secret and the public key as a File, both optional", async () => {
  const m = await introspectModule();
  const f = m.main.functions;
  assert.equal([f.publishModel?.args.signingKey?.type, f.publishModel?.args.signingKey?.optional], ["Secret", true]);
  for (const name of ["fetchModel", "ci", "publish"]) {
    assert.equal([f[name]?.args.publicKey?.type, f[name]?.args.publicKey?.optional], ["File", true], name);
  }
});

test("a failing signing step surfaces sign_model.py's own error line", () => {
  const e = new ExecError("process exited", {
    cmd: ["python", SIGN_SCRIPT, "verify"],
    exitCode: 1,
    stdout: "",
    stderr: `error: ${SIGNING_DIR} has no model.sig: this model version is not signed, and a public key makes the signature mandatory\n`,
  });
  assert.is(
    explainSigningFailure(e, "verification of digits-classifier latest").message,
    `model signature: verification of digits-classifier latest refused: ${SIGNING_DIR} has no model.sig: this model version is not signed, and a public key makes the signature mandatory`,
  );
  const other = new Error("graphql down");
  assert.is(explainSigningFailure(other, "signing"), other);
});

test.run();
