/**
 * After a push: the image's SBOM, its signature and two signed attestations (SLSA provenance and
 * the SBOM), all on the pushed digest. The key is checked first (`cosign public-key`, which needs
 * the password), so a wrong key or password stops before anything is written to the registry.
 */
import { randomUUID } from "node:crypto";
import { Container, dag } from "@dagger.io/dagger";
import { ModelManifest } from "../model-store/manifest.js";
import { ExecSession, joinedOutput } from "../shared/exec.js";
import { IMAGES } from "../images.js";
import {
  attestArgs,
  cosignContainer,
  cosignErrorLine,
  CosignLogin,
  PREDICATE_DIR,
  SIGNING_KEY_PATH,
  signArgs,
  withSigningKey,
} from "./cosign.js";
import { provenancePredicate } from "./provenance.js";
import { imageSbom, sbomSummary } from "./sbom.js";
import { SigningTarget } from "./settings.js";
import { keyFingerprint } from "./verify.js";

export interface SignInputs {
  /** The pushed image: registry/repository@sha256:<digest>. */
  reference: string;
  /** The image as built (the SBOM is read from it, not pulled back). */
  image: Container;
  manifest: Pick<ModelManifest, "name" | "version" | "files">;
  model: { name: string; version: string; sha256: string; signer?: string | undefined };
  signing: SigningTarget;
  sourceUrl: string;
  revision: string;
  channel?: string | undefined;
  login?: CosignLogin | undefined;
  plainHttp?: boolean;
  /** When the build started (RFC 3339), for the provenance. */
  startedOn: string;
}

export interface SignedImage {
  signer: string;
  /** What the SBOM lists. */
  sbom: { os: number; python: number; modelFiles: number };
  /** Seconds spent on the SBOM and on signing + attesting: the supply-chain cost of a push. */
  seconds: { sbom: number; sign: number };
}

export class SigningFailed extends Error {
  override name = "SigningFailed";
}

/** Base images of the build, by digest (resolved by the engine as it pulls them). */
export async function baseImageDigests(): Promise<string[]> {
  return [await dag.container().from(IMAGES.python).imageRef()];
}

/** The SBOM, then sign + attest provenance + attest SBOM on `reference`. */
export async function signPublishedImage(i: SignInputs): Promise<SignedImage> {
  if (!i.sourceUrl.trim()) {
    throw new SigningFailed(
      "signing needs the source repository for the provenance: start the call with dagger call --source-url https://... (the URL with-image-policy --source-repository will require)",
    );
  }
  const sbomStart = Date.now();
  const { file: sbom, text: sbomText } = await imageSbom(i.image, i.manifest);
  const sbomSeconds = (Date.now() - sbomStart) / 1000;

  const signStart = Date.now();
  const predicate = provenancePredicate({
    sourceUrl: i.sourceUrl,
    revision: i.revision,
    channel: i.channel,
    model: i.model,
    baseImages: await baseImageDigests(),
    builderId: i.signing.builderId,
    startedOn: i.startedOn,
    finishedOn: new Date().toISOString(),
  });
  const ctr = withSigningKey(await cosignContainer(i.login), i.signing.key, i.signing.password)
    .withNewFile(`${PREDICATE_DIR}/provenance.json`, JSON.stringify(predicate))
    .withFile(`${PREDICATE_DIR}/sbom.cdx.json`, sbom)
    // A push signs every time, even an image signed before.
    .withEnvVariable("AI_APP_SIGN_RUN", randomUUID());
  const session = new ExecSession(ctr);
  const step = async (what: string, args: string[]): Promise<string> => {
    const r = await session.run(args);
    if (r.exitCode !== 0) throw new SigningFailed(`${what} of ${i.reference} failed: ${cosignErrorLine(joinedOutput(r))}`);
    return r.stdout;
  };
  const publicKey = await step("reading the signing key (wrong --signing-password, or not a cosign key?)", [
    "cosign",
    "public-key",
    "--key",
    SIGNING_KEY_PATH,
  ]);
  await step("signing", signArgs(i.reference, i.plainHttp));
  await step("attesting the provenance", attestArgs(i.reference, "slsaprovenance1", `${PREDICATE_DIR}/provenance.json`, i.plainHttp));
  await step("attesting the SBOM", attestArgs(i.reference, "cyclonedx", `${PREDICATE_DIR}/sbom.cdx.json`, i.plainHttp));
  return {
    signer: keyFingerprint(publicKey),
    sbom: sbomSummary(sbomText),
    seconds: { sbom: sbomSeconds, sign: (Date.now() - signStart) / 1000 },
  };
}

/** One line for reports. */
export function describeSigned(s: SignedImage): string {
  return (
    `signed by ${s.signer}; attested: SLSA provenance, CycloneDX SBOM (${s.sbom.os} OS packages, ${s.sbom.python} Python packages, ${s.sbom.modelFiles} model files); ` +
    `SBOM ${s.seconds.sbom.toFixed(1)} s, signing ${s.seconds.sign.toFixed(1)} s`
  );
}
