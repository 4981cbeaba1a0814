/**
 * Verify before deploy: the exact digest about to be applied must carry a cosign signature by the
 * policy's key and a signed SLSA provenance naming the expected source repository. Anything else
 * is refused with one line naming the image, what failed and what to do.
 */
import { createHash, randomUUID } from "node:crypto";
import { ExecSession, joinedOutput } from "../shared/exec.js";
import {
  attestationStatements,
  cosignContainer,
  cosignErrorLine,
  CosignLogin,
  signedDigests,
  verifyArgs,
  verifyAttestationArgs,
  withPublicKey,
} from "./cosign.js";
import { checkProvenance, ProvenanceFacts, ProvenanceMismatch, SLSA_PROVENANCE_V1 } from "./provenance.js";
import { PolicyTarget } from "./settings.js";

export class ImageVerificationRefused extends Error {
  override name = "ImageVerificationRefused";
}

export interface VerifiedImage {
  image: string;
  /** "key sha256:<fingerprint of the policy's public key>". */
  signer: string;
  provenance: ProvenanceFacts;
}

export interface VerifyImageInputs {
  /** registry/repository@sha256:<digest> */
  image: string;
  policy: PolicyTarget;
  /** Sign-in for the image's registry (cosign reads signatures there). */
  login?: CosignLogin | undefined;
  plainHttp?: boolean;
}

const DIGEST_REF = /^([^@\s]+)@(sha256:[0-9a-f]{64})$/;

/** "key sha256:<hex>" of a PEM public key: the SHA-256 of its DER bytes (what `openssl pkey -pubin -outform DER | sha256sum` prints). */
export function keyFingerprint(pem: string): string {
  const body = /-----BEGIN PUBLIC KEY-----([\s\S]+?)-----END PUBLIC KEY-----/.exec(pem)?.[1];
  if (!body) {
    throw new Error(
      "the public key given to with-image-policy is not a PEM public key (-----BEGIN PUBLIC KEY-----): pass cosign.pub as written by cosign generate-key-pair",
    );
  }
  return `key sha256:${createHash("sha256")
    .update(Buffer.from(body.replace(/\s+/g, ""), "base64"))
    .digest("hex")}`;
}

/** The refusal, one line: what is refused, why, and what to do. */
export function refusal(image: string, why: string, todo: string): ImageVerificationRefused {
  return new ImageVerificationRefused(`refusing ${image}: ${why}; ${todo}`);
}

const SIGN_IT = "publish it through publish or ci with with-image-signing (the key pair whose public key with-image-policy has)";

/** Signature, then provenance, of exactly `image`; throws ImageVerificationRefused. Never cached. */
export async function verifyImage(i: VerifyImageInputs): Promise<VerifiedImage> {
  const m = DIGEST_REF.exec(i.image);
  if (!m) throw new Error(`only an image by digest can be verified: ${JSON.stringify(i.image)} is not registry/repository@sha256:<digest>`);
  const digest = m[2]!;
  const signer = keyFingerprint(await i.policy.publicKey.contents());
  const ctr = withPublicKey(await cosignContainer(i.login), i.policy.publicKey)
    // Every check asks the registry again: signatures can be added or removed at any time.
    .withEnvVariable("AI_APP_VERIFY_RUN", randomUUID());
  const session = new ExecSession(ctr);

  const sig = await session.run(verifyArgs(i.image, i.plainHttp));
  if (sig.exitCode !== 0) {
    throw refusal(i.image, `no signature by ${signer} verifies (cosign: ${cosignErrorLine(joinedOutput(sig))})`, SIGN_IT);
  }
  if (!signedDigests(sig.stdout).includes(digest)) {
    throw refusal(i.image, `cosign's verified signatures name other digests (${signedDigests(sig.stdout).join(", ") || "none"})`, SIGN_IT);
  }

  const att = await session.run(verifyAttestationArgs(i.image, "slsaprovenance1", i.plainHttp));
  if (att.exitCode !== 0) {
    throw refusal(i.image, `no SLSA provenance signed by ${signer} (cosign: ${cosignErrorLine(joinedOutput(att))})`, SIGN_IT);
  }
  const provenance = provenanceOf(i.image, attestationStatements(att.stdout), digest, i.policy.sourceRepository);
  return { image: i.image, signer, provenance };
}

/**
 * Every signed provenance statement for the digest must name the repository: one that names
 * another is a build from elsewhere signed with this key, and is refused rather than outvoted.
 */
export function provenanceOf(image: string, statements: unknown[], digest: string, sourceRepository: string): ProvenanceFacts {
  const slsa = statements.filter((s) => (s as { predicateType?: unknown } | null)?.predicateType === SLSA_PROVENANCE_V1);
  if (!slsa.length) throw refusal(image, "cosign verified no SLSA v1 provenance statement", SIGN_IT);
  let facts: ProvenanceFacts | undefined;
  for (const s of slsa) {
    try {
      facts = checkProvenance(s, { digest, sourceUrl: sourceRepository });
    } catch (e) {
      if (!(e instanceof ProvenanceMismatch)) throw e;
      throw refusal(image, e.message, `only images built from ${sourceRepository} are deployed (with-image-policy --source-repository)`);
    }
  }
  return facts!;
}

/** One line for reports: who signed and where it was built from. */
export function describeVerified(v: VerifiedImage): string {
  const rev = v.provenance.revision ? ` at ${v.provenance.revision}` : "";
  return `signed by ${v.signer}; provenance: built from ${v.provenance.sourceUrl}${rev} by ${v.provenance.builderId}`;
}
