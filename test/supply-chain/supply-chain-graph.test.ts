/**
 * Recorded-graph tests of the supply-chain steps: what publish sends to the engine with
 * with-image-signing (SBOM, sign, attest, in that order, before the channel tag moves; key and
 * password only as secrets), and that deploy with with-image-policy refuses an image whose
 * signature does not verify before any kubectl runs. Nothing here runs cosign or trivy: the fake
 * engine answers their exits and outputs (test/e2e/09-supply-chain runs them on the engine).
 */
import { generateKeyPairSync } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { PublishResult } from "../../dagger/src/pipeline/publish-result.js";
import { PREDICATE_DIR, SIGNING_KEY_PATH } from "../../dagger/src/supply-chain/cosign.js";
import { SBOM_OUTPUT } from "../../dagger/src/supply-chain/sbom.js";
import { keyFingerprint } from "../../dagger/src/supply-chain/verify.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import { contextDir, execArgv, lastExec, modelJsonReads, publishReads, runs } from "../support/graph.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { dag } from "../support/sdk.js";
import { recordGraph } from "../support/session.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const SOURCE_URL = "https://github.com/contoso/ai-app";
const DIGEST = `sha256:${"d".repeat(64)}`;
const BASE = `docker.io/library/python:3.11.11-slim-bookworm@sha256:${"c".repeat(64)}`;
const PASSWORD = "sp-client-secret-Zq8~example";
const KEY_PASSWORD = "key-password-7Yx~example";
const KEY_TEXT = "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc2VjcmV0LWtleS1ib2R5\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
const PUBLIC_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({ type: "spki", format: "pem" }).toString();
const MANIFEST = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: "b".repeat(64), size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MANIFEST);
const publishAnswer = publishReads(DIGEST);
const SBOM = JSON.stringify({
  bomFormat: "CycloneDX",
  components: [
    { type: "library", name: "zlib1g", purl: "pkg:deb/debian/zlib1g@1.2.13" },
    { type: "library", name: "flask", purl: "pkg:pypi/flask@3.1.0" },
  ],
});

interface Answers {
  /** Exit of each cosign command by its subcommand (default 0). */
  cosignExit?: Record<string, number>;
  cosignStderr?: string;
}

function responder(a: Answers = {}) {
  return (chain: Op[]) => {
    const leaf = chain.at(-1)!;
    const manifest = modelJson(chain);
    if (manifest !== undefined) return manifest;
    const exec = lastExec(chain);
    const argv = execArgv(exec);
    if (argv[0] === "cosign" && ["exitCode", "stdout", "stderr"].includes(leaf.field)) {
      const exit = a.cosignExit?.[argv[1]!] ?? 0;
      if (leaf.field === "exitCode") return exit;
      if (leaf.field === "stderr") return exit ? (a.cosignStderr ?? "Error: failed") : "";
      return argv[1] === "public-key" ? PUBLIC_KEY : "";
    }
    if (leaf.field === "contents" && chain.some((o) => o.field === "file" && o.args.path === SBOM_OUTPUT)) return SBOM;
    if (leaf.field === "contents" && chain.some((o) => o.field === "file" && String(o.args.path).endsWith("cosign.pub"))) return PUBLIC_KEY;
    if (leaf.field === "imageRef") return BASE;
    return publishAnswer(chain);
  };
}

let local: RunningRegistry | undefined;
const localRegistry = async () => (local ??= await startRegistry());
test.after(async () => {
  await local?.stop();
});

const signedPublish = async (address: string) =>
  new AiAppPipeline(contextDir("/"), REVISION, "", SOURCE_URL)
    .withRegistry(address, "ai-app", "acr-push-sp", dag.setSecret("acr-password", PASSWORD))
    .withImageSigning(dag.setSecret("cosign-key", KEY_TEXT), dag.setSecret("cosign-password", KEY_PASSWORD), "urn:test:builder")
    .publish("main", contextDir("/model/out"));

const indexOf = (engine: FakeEngine, pred: (chain: Op[]) => boolean) => engine.recorded.findIndex((r) => pred(r.chain));
const cosignRan = (verb: string) => (chain: Op[]) => runs("cosign", verb)(lastExec(chain)) && chain.at(-1)?.field === "exitCode";

test("publish with with-image-signing: SBOM, then sign, attest provenance, attest SBOM on the pushed digest, all before the channel tag moves", async () => {
  const { address } = await localRegistry();
  const { engine, error, result } = await recordGraph(() => signedPublish(address), { respond: responder() });
  assert.is(error, undefined, String(error));
  const r = result as PublishResult;
  assert.match(
    r.signature,
    new RegExp(
      `^signed by ${keyFingerprint(PUBLIC_KEY)}; attested: SLSA provenance, CycloneDX SBOM \\(1 OS packages, 1 Python packages, 1 model files\\)`,
    ),
  );

  const ref = `${address}/ai-app@${DIGEST}`;
  const cosigns = engine.find("withExec").filter((e) => execArgv(e.op)[0] === "cosign");
  const verbs = [
    ...new Set(
      cosigns.map((e) =>
        execArgv(e.op)
          .slice(1, 2)
          .concat(execArgv(e.op).includes("--type") ? [execArgv(e.op)[execArgv(e.op).indexOf("--type") + 1]!] : [])
          .join(" "),
      ),
    ),
  ];
  assert.equal(verbs, ["public-key", "sign", "attest slsaprovenance1", "attest cyclonedx"]);
  for (const c of cosigns.filter((e) => execArgv(e.op)[1] !== "public-key"))
    assert.is(execArgv(c.op).at(-1), ref, "every cosign step names the pushed digest");

  const publishOf = (tag: string) =>
    indexOf(engine, (c) => c.at(-1)?.field === "publish" && c.at(-1)!.args.address === `${address}/ai-app:${tag}`);
  const sbom = indexOf(engine, (c) => c.at(-1)?.field === "contents" && c.some((o) => o.field === "file" && o.args.path === SBOM_OUTPUT));
  const [sign, attestLast] = [
    indexOf(engine, cosignRan("sign")),
    engine.recorded.map((q) => cosignRan("attest")(q.chain)).lastIndexOf(true),
  ];
  assert.ok(publishOf(REVISION) < sbom && sbom < sign, "the SBOM is made after the first push, before signing");
  assert.ok(attestLast < publishOf("main"), "every attestation lands before the channel tag moves");

  // The key only as a secret file, its password only as a secret variable; neither in any argument or variable.
  const signExec = cosigns.find((e) => execArgv(e.op)[1] === "sign")!;
  const mounted = signExec.prefix
    .filter((o) => o.field === "withMountedSecret")
    .map((o) => [o.args.path, engine.chainOf(String(o.args.source))[0]?.args.name]);
  assert.equal(
    mounted.find(([p]) => p === SIGNING_KEY_PATH),
    [SIGNING_KEY_PATH, "cosign-key"],
  );
  const password = signExec.prefix.find((o) => o.field === "withSecretVariable" && o.args.name === "COSIGN_PASSWORD");
  assert.is(engine.chainOf(String(password?.args.secret))[0]?.args.name, "cosign-password");
  const plain = JSON.stringify(
    engine
      .allOps()
      .filter((o) => o.op.field !== "setSecret")
      .map((o) => o.op.args),
  );
  for (const secret of [KEY_PASSWORD, "c2VjcmV0LWtleS1ib2R5", PASSWORD])
    assert.not.ok(plain.includes(secret), "a secret outside setSecret");

  // The provenance handed to cosign attest: source, revision, model, the base image by digest, the builder.
  const file = signExec.prefix.find((o) => o.field === "withNewFile" && o.args.path === `${PREDICATE_DIR}/provenance.json`);
  const predicate = JSON.parse(String(file?.args.contents)) as {
    buildDefinition: { externalParameters: { source: unknown }; resolvedDependencies: { digest: Record<string, string> }[] };
    runDetails: { builder: { id: string } };
  };
  assert.equal(predicate.buildDefinition.externalParameters.source, { uri: SOURCE_URL, revision: REVISION });
  assert.equal(
    predicate.buildDefinition.resolvedDependencies.map((d) => d.digest),
    [{ gitCommit: REVISION }, { sha256: "b".repeat(64) }, { sha256: "c".repeat(64) }],
  );
  assert.is(predicate.runDetails.builder.id, "urn:test:builder");
});

test("a signing that fails leaves the channel tag where it was, and says which step of which digest failed", async () => {
  const { address } = await localRegistry();
  const { engine, error } = await recordGraph(() => signedPublish(address), {
    respond: responder({
      cosignExit: { sign: 1 },
      cosignStderr: "Error: signing [x]: PUT https://x: UNAUTHORIZED\nerror during command execution: ...",
    }),
  });
  assert.match(String(error), `signing of ${address}/ai-app@${DIGEST} failed: signing [x]: PUT https://x: UNAUTHORIZED`);
  assert.equal(
    engine.find("publish").map((p) => String(p.op.args.address).split(":").at(-1)),
    [REVISION, "model-1.4.0"],
    "the channel tag was not pushed",
  );
});

test("with-image-signing without --source-url is refused before anything runs", async () => {
  const { engine, error } = await recordGraph(
    () =>
      new AiAppPipeline(contextDir("/"), REVISION, "", "")
        .withRegistry("myacr.azurecr.io", "ai-app", "u", dag.setSecret("p", PASSWORD))
        .withImageSigning(dag.setSecret("cosign-key", KEY_TEXT))
        .publish("main", contextDir("/model/out")),
    { respond: responder() },
  );
  assert.match(String(error), /with-image-signing needs the source repository .*--source-url/);
  assert.is(engine.find("withExec").length, 0, "nothing ran");
});

const IMAGE = `myacr.azurecr.io/ai-app@${DIGEST}`;
const policyDeploy = () =>
  new AiAppPipeline(contextDir("/"), REVISION, "", SOURCE_URL)
    .withCluster(dag.setSecret("kubeconfig", "apiVersion: v1\nkind: Config\n"), "ai-app")
    .withImagePolicy(contextDir("/keys").file("cosign.pub"), SOURCE_URL)
    .deploy(IMAGE);

test("deploy with with-image-policy: an image without a verifying signature is refused in one line, and no kubectl runs", async () => {
  const { engine, error } = await recordGraph(policyDeploy, {
    respond: responder({
      cosignExit: { verify: 1 },
      cosignStderr: "WARNING: x\nError: no signatures found\nerror during command execution: no signatures found",
    }),
  });
  assert.is(
    (error as Error).message,
    `refusing ${IMAGE}: no signature by ${keyFingerprint(PUBLIC_KEY)} verifies (cosign: no signatures found); publish it through publish or ci with with-image-signing (the key pair whose public key with-image-policy has)`,
  );
  assert.equal(engine.find("withExec").filter((e) => execArgv(e.op)[0] === "kubectl").length, 0, "kubectl ran");
  const verify = engine.find("withExec").find((e) => runs("cosign", "verify")(e.op))!;
  assert.is(execArgv(verify.op).at(-1), IMAGE, "the exact digest is verified");
});

test("deploy with with-image-policy: a provenance statement naming another repository is refused", async () => {
  const statement = {
    _type: "https://in-toto.io/Statement/v0.1",
    predicateType: "https://slsa.dev/provenance/v1",
    subject: [{ name: "myacr.azurecr.io/ai-app", digest: { sha256: DIGEST.slice(7) } }],
    predicate: {
      buildDefinition: { externalParameters: { source: { uri: "https://github.com/mallory/ai-app" } } },
      runDetails: { builder: { id: "x" } },
    },
  };
  const envelope = JSON.stringify({
    payloadType: "application/vnd.in-toto+json",
    payload: Buffer.from(JSON.stringify(statement)).toString("base64"),
  });
  const verified = `[{"critical":{"image":{"docker-manifest-digest":"${DIGEST}"}}}]`;
  const base = responder();
  const { engine, error } = await recordGraph(policyDeploy, {
    respond: (chain) => {
      const argv = execArgv(lastExec(chain));
      if (argv[0] === "cosign" && chain.at(-1)?.field === "stdout") return argv[1] === "verify" ? verified : envelope;
      return base(chain);
    },
  });
  assert.match(
    String(error),
    `refusing ${IMAGE}: the provenance names source repository "https://github.com/mallory/ai-app", not ${SOURCE_URL}`,
  );
  assert.equal(engine.find("withExec").filter((e) => execArgv(e.op)[0] === "kubectl").length, 0, "kubectl ran");
});

test.run();
