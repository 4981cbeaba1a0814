import { createHash, generateKeyPairSync } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  attestArgs,
  attestationStatements,
  cosignErrorLine,
  dockerConfigJson,
  signArgs,
  signedDigests,
  SIGNING_KEY_PATH,
  verifyArgs,
  verifyAttestationArgs,
} from "../../dagger/src/supply-chain/cosign.js";
import { keyFingerprint, refusal } from "../../dagger/src/supply-chain/verify.js";

const DIGEST = `sha256:${"a".repeat(64)}`;
const REF = `myacr.azurecr.io/ai-app@${DIGEST}`;

test("every cosign command works on the digest reference, never a tag, and never uploads to or needs a transparency log", () => {
  assert.equal(signArgs(REF), ["cosign", "sign", "--yes", "--key", SIGNING_KEY_PATH, "--tlog-upload=false", REF]);
  assert.ok(
    attestArgs(REF, "slsaprovenance1", "/p.json").join(" ").includes("--tlog-upload=false --type slsaprovenance1 --predicate /p.json"),
  );
  assert.ok(verifyArgs(REF).includes("--insecure-ignore-tlog=true"));
  assert.ok(verifyAttestationArgs(REF, "cyclonedx").join(" ").includes("--type cyclonedx"));
  for (const bad of ["myacr.azurecr.io/ai-app:main", "myacr.azurecr.io/ai-app", `myacr.azurecr.io/ai-app:main@sha256:${"a".repeat(63)}`]) {
    assert.throws(() => signArgs(bad), /by digest only/);
    assert.throws(() => verifyArgs(bad), /by digest only/);
  }
  // Plain HTTP only when asked (the embedded registry service).
  assert.not.ok(signArgs(REF).includes("--allow-http-registry"));
  assert.ok(signArgs(REF, true).includes("--allow-http-registry"));
});

test("the docker config holds the sign-in as base64 user:password under the registry", () => {
  const c = JSON.parse(dockerConfigJson("myacr.azurecr.io", "00000000-0000-0000-0000-000000000000", "tok:en")) as {
    auths: Record<string, { auth: string }>;
  };
  assert.is(Buffer.from(c.auths["myacr.azurecr.io"]!.auth, "base64").toString(), "00000000-0000-0000-0000-000000000000:tok:en");
});

// What cosign v2.6.5 printed against a local registry (kept verbatim in shape; digests shortened to fixtures).
const VERIFY_STDOUT = `[{"critical":{"identity":{"docker-reference":"127.0.0.1:5055/ai-app"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":null}]\n`;
const OTHER_KEY = [
  "WARNING: Skipping tlog verification is an insecure practice that lacks transparency and auditability verification for the signature.",
  "Error: no matching signatures: invalid signature when validating ASN.1 encoded signature",
  "error during command execution: no matching signatures: invalid signature when validating ASN.1 encoded signature",
].join("\n");

test("cosignErrorLine keeps cosign's own Error line, without the warnings and the repeat", () => {
  assert.is(cosignErrorLine(OTHER_KEY), "no matching signatures: invalid signature when validating ASN.1 encoded signature");
  assert.is(cosignErrorLine("Error: no signatures found\nerror during command execution: no signatures found"), "no signatures found");
  assert.is(cosignErrorLine("dial tcp: connection refused"), "dial tcp: connection refused");
  assert.is(cosignErrorLine(`Error: ${"x".repeat(400)}`).length, 300);
  assert.is(cosignErrorLine(""), "no output");
});

test("signedDigests reads cosign verify's JSON; anything else gives none", () => {
  assert.equal(signedDigests(VERIFY_STDOUT), [DIGEST]);
  assert.equal(signedDigests("not json"), []);
  assert.equal(signedDigests('{"critical":{}}'), []);
});

test("attestationStatements decodes each DSSE envelope's payload and skips what is not one", () => {
  const st = { _type: "https://in-toto.io/Statement/v0.1", predicateType: "https://slsa.dev/provenance/v1", subject: [] };
  const line = JSON.stringify({
    payloadType: "application/vnd.in-toto+json",
    payload: Buffer.from(JSON.stringify(st)).toString("base64"),
    signatures: [],
  });
  const notJson = JSON.stringify({ payload: Buffer.from("plain").toString("base64") });
  assert.equal(attestationStatements(`${line}\nVerification for x --\n${notJson}\n{broken\n${line}\n`), [st, st]);
});

test("keyFingerprint is the SHA-256 of the key's DER (SPKI) bytes; a private key or garbage is refused", () => {
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const pem = publicKey.export({ type: "spki", format: "pem" }).toString();
  const der = publicKey.export({ type: "spki", format: "der" });
  assert.is(keyFingerprint(pem), `key sha256:${createHash("sha256").update(der).digest("hex")}`);
  assert.throws(() => keyFingerprint(privateKey.export({ type: "pkcs8", format: "pem" }).toString()), /not a PEM public key/);
});

test("a refusal is one line: what, why, what to do", () => {
  const e = refusal(REF, "no signature by key sha256:ab verifies", "publish it with with-image-signing");
  assert.is(e.message, `refusing ${REF}: no signature by key sha256:ab verifies; publish it with with-image-signing`);
});

test.run();
