/**
 * The signing steps' own command lines, run for real: the argv that publish-model --signing-key
 * and fetch-model --public-key send to the Python container (taken from the recorded graph), with
 * its container paths mapped onto a temp directory, run by the repository's virtualenv (the same
 * pinned model-signing library) on a model trained by model/train.py. So the container's command
 * is accepted by sign_model.py's parser and does what the step expects, and its refusals come
 * back through the step's error explanation.
 */
import { execFile } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { writeFetchMarker } from "../../dagger/src/model-store/fetch-marker.js";
import { readLocalModel } from "../../dagger/src/model-store/publish.js";
import {
  explainSigningFailure,
  parseSigner,
  PUBLIC_KEY_PATH,
  SIGN_SCRIPT,
  SIGNING_DIR,
  SIGNING_KEY_PATH,
} from "../../dagger/src/model-store/signing.js";
import { Op } from "../support/fake-engine.js";
import { contextDir, execArgv, lastExec } from "../support/graph.js";
import { recordGraph, ROOT } from "../support/session.js";
import { dag, ExecError } from "../support/sdk.js";
import { tempDir } from "../support/temp.js";

const PYTHON = join(ROOT, ".venv/bin/python");
const RESOLVED = JSON.stringify({ name: "digits-classifier", version: "1.4.0", manifestSha256: "d".repeat(64) });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(argv: string[]): Promise<Run> {
  return new Promise((ok) =>
    execFile(argv[0]!, argv.slice(1), { timeout: 120_000 }, (error, stdout, stderr) =>
      ok({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

/** An EC P-256 key pair as PEM files, and the identity sign_model.py reports for it. */
function keyPair(dir: string, name: string): { key: string; pub: string; signer: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const key = join(dir, `${name}.key`);
  const pub = join(dir, `${name}.pub`);
  writeFileSync(key, privateKey.export({ type: "pkcs8", format: "pem" }));
  writeFileSync(pub, publicKey.export({ type: "spki", format: "pem" }));
  const der = publicKey.export({ type: "spki", format: "der" });
  return { key, pub, signer: `key sha256:${createHash("sha256").update(der).digest("hex")}` };
}

/** The sign and verify command lines the steps send, exactly as recorded. */
async function recordedCommands(): Promise<{ sign: string[]; verify: string[] }> {
  const respond = (chain: Op[]) => {
    const a = execArgv(lastExec(chain));
    if (chain.at(-1)?.field !== "stdout") return undefined;
    if (a[1] === SIGN_SCRIPT && a[2] === "verify") return JSON.stringify({ signer: `key sha256:${"5".repeat(64)}` });
    if (a.includes("resolve")) return RESOLVED;
    return undefined;
  };
  const { engine, error } = await recordGraph(
    async () => {
      const p = new AiAppPipeline(contextDir("/"), "dev", "", "").withStore("models", undefined, undefined, dag.setSecret("cs", "x"));
      await p.publishModel(contextDir("/model/out"), "1.4.0", dag.setSecret("model-signing-key", "pem"));
      await (await p.fetchModel("digits-classifier", "1.4.0", false, contextDir("/").file("model-signing.pub"))).id();
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const of = (verb: string) => {
    const found = engine.find("withExec").filter((e) => execArgv(e.op)[1] === SIGN_SCRIPT && execArgv(e.op)[2] === verb);
    assert.is(found.length, 1, verb);
    return execArgv(found[0]!.op);
  };
  return { sign: of("sign"), verify: of("verify") };
}

let root: string;
test.before(() => {
  root = tempDir("signing-container-");
});
test.after(() => rmSync(root, { recursive: true, force: true }));

test("the steps' sign and verify command lines run with the real library on a trained model; refusals come back as sign_model.py's line", async () => {
  const { sign, verify } = await recordedCommands();
  const trained = join(root, "trained");
  const train = await run([PYTHON, join(ROOT, "model/train.py"), "--out", trained, "--version", "1.4.0"]);
  assert.is(train.code, 0, train.stderr);
  const alice = keyPair(root, "alice");
  const mallory = keyPair(root, "mallory");

  /** The recorded argv with the container's paths put where this test keeps them. */
  const local = (argv: string[], model: string, keys: { key?: string; pub?: string }) => {
    const paths: Record<string, string | undefined> = {
      python: PYTHON,
      [SIGN_SCRIPT]: join(ROOT, "model/sign_model.py"),
      [SIGNING_DIR]: model,
      [SIGNING_KEY_PATH]: keys.key,
      [PUBLIC_KEY_PATH]: keys.pub,
    };
    return argv.map((w) => paths[w] ?? w);
  };

  // Signing: the model as publish-model hands it over, model.sig written beside its files.
  const signing = join(root, "signing");
  cpSync(trained, signing, { recursive: true });
  const signed = await run(local(sign, signing, { key: alice.key }));
  assert.is(signed.code, 0, signed.stderr);
  assert.equal(readdirSync(signing).sort(), ["model.json", "model.onnx", "model.sig"]);
  for (const f of ["model.json", "model.onnx"]) {
    assert.ok(readFileSync(join(signing, f)).equals(readFileSync(join(trained, f))), `${f} unchanged by signing`);
  }
  // What the store's command then publishes as it is (it is never asked to sign again).
  const publishable = await readLocalModel(signing);
  assert.ok(
    publishable.signature?.equals(readFileSync(join(signing, "model.sig"))),
    "the store's publish takes model.sig from the directory",
  );

  // Verifying: the directory as the store's fetch leaves it (model.sig and its own marker included).
  const fetched = join(root, "fetched");
  cpSync(signing, fetched, { recursive: true });
  await writeFetchMarker(fetched, publishable.manifestSha256);
  const ok = await run(local(verify, fetched, { pub: alice.pub }));
  assert.is(ok.code, 0, ok.stderr);
  assert.is(parseSigner(ok.stdout), alice.signer, "the signer label is the public key's fingerprint");

  const refused = async (model: string, pub: string, pattern: RegExp) => {
    const r = await run(local(verify, model, { pub }));
    assert.is(r.code, 1, r.stdout);
    const e = explainSigningFailure(
      new ExecError("exit 1", { cmd: verify, exitCode: 1, stdout: r.stdout, stderr: r.stderr }),
      "verification of x",
    );
    assert.match(e.message, /^model signature: verification of x refused: /);
    assert.match(e.message, pattern);
    assert.not.match(e.message, /Traceback/);
  };
  await refused(fetched, mallory.pub, /does not verify with this public key/);

  const changed = join(root, "changed");
  cpSync(fetched, changed, { recursive: true });
  const onnx = readFileSync(join(changed, "model.onnx"));
  onnx.writeUInt8(onnx.readUInt8(onnx.length - 1) ^ 0x01, onnx.length - 1); // one bit of the last byte
  writeFileSync(join(changed, "model.onnx"), onnx);
  await refused(changed, alice.pub, /does not match its signature \(a file was changed, added or removed\)/);

  const added = join(root, "added");
  cpSync(fetched, added, { recursive: true });
  appendFileSync(join(added, "extra.bin"), "x");
  await refused(added, alice.pub, /does not match its signature/);

  const unsigned = join(root, "unsigned");
  cpSync(fetched, unsigned, { recursive: true });
  rmSync(join(unsigned, "model.sig"));
  await refused(unsigned, alice.pub, /has no model\.sig: this model version is not signed/);
});

test.run();
