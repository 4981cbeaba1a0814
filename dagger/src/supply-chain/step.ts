/**
 * The supply-chain checks as the Dagger functions use them: a verifier for the deploying
 * functions (with the registry's sign-in when the image is in with-registry's registry), the
 * status line, and the options publish and ci pass on.
 */
import { Directory } from "@dagger.io/dagger";
import { registryLogin } from "../registry/push.js";
import { RegistryTarget } from "../registry/settings.js";
import { ImageVerifier } from "../release/release-steps.js";
import { PolicyTarget, SigningTarget } from "./settings.js";
import { describeVerified, ImageVerificationRefused, verifyImage } from "./verify.js";
import { parseSeverity, Severity } from "./vuln-gate.js";

/** What publish and ci do around the push: sign and attest after it, scan before it. */
export interface SupplyChainOptions {
  /** Sign the pushed digest and attest its SLSA provenance and SBOM (with-image-signing). */
  signing?: SigningTarget | undefined;
  /** Fail before anything is pushed when the image has a vulnerability at or above this severity. */
  gate?: { threshold: Severity; database?: Directory | undefined } | undefined;
}

/** The verifier the deploying functions call on the exact digest they apply. */
export function imageVerifier(policy: PolicyTarget, registry?: RegistryTarget): ImageVerifier {
  return async (image) => {
    const login = registry && image.startsWith(`${registry.registry}/`) ? await registryLogin(registry.registry, registry.auth) : undefined;
    const verified = await verifyImage({
      image,
      policy,
      ...(login && registry ? { login: { registry: registry.registry, ...login } } : {}),
    });
    return describeVerified(verified);
  };
}

/** status's line: verified, NOT verified (and why), or not checked. Never throws for a refusal. */
export function signatureLine(verify: ImageVerifier | undefined): (image: string) => Promise<string> {
  return async (image) => {
    if (!verify) return "not checked (start the call with with-image-policy to verify the running digest)";
    if (!/@sha256:[0-9a-f]{64}$/.test(image)) return "NOT verified: the running image is not pinned by digest";
    try {
      return `verified: ${await verify(image)}`;
    } catch (e) {
      if (e instanceof ImageVerificationRefused) return `NOT verified: ${e.message}`;
      throw e;
    }
  };
}

/** ci's and publish's supply-chain options, checked before anything runs. */
export function supplyChainOptions(o: {
  signing?: SigningTarget | undefined;
  sourceUrl: string;
  failOnSeverity?: string | undefined;
  vulnerabilityDb?: Directory | undefined;
}): SupplyChainOptions | undefined {
  if (o.signing && !o.sourceUrl.trim()) {
    throw new Error(
      "with-image-signing needs the source repository for the provenance: start the call with dagger call --source-url https://... (the URL with-image-policy --source-repository requires)",
    );
  }
  if (o.vulnerabilityDb && !o.failOnSeverity)
    throw new Error("--vulnerability-db is the gate's database: give --fail-on-severity too (e.g. --fail-on-severity high)");
  const gate = o.failOnSeverity
    ? { threshold: parseSeverity(o.failOnSeverity), ...(o.vulnerabilityDb ? { database: o.vulnerabilityDb } : {}) }
    : undefined;
  if (!o.signing && !gate) return undefined;
  return { ...(o.signing ? { signing: o.signing } : {}), ...(gate ? { gate } : {}) };
}
