/**
 * What with-image-signing and with-image-policy configure: the key the pipeline signs pushed
 * images with, and the public key plus source repository a deploy requires of an image.
 */
import { File, object, Secret } from "@dagger.io/dagger";
import { restoredFile, restoredSecret } from "../shared/object-state.js";
import { DEFAULT_BUILDER_ID } from "./provenance.js";

/** The cosign key pair with-image-signing configured (kept for publish and ci after it in the chain). */
@object()
export class ImageSigningSettings {
  signingKey?: Secret;
  signingPassword?: Secret;
  builderId?: string;
}

/** The key and source repository with-image-policy configured (kept for the deploying functions after it in the chain). */
@object()
export class ImagePolicySettings {
  publicKey?: File;
  sourceRepository?: string;
}

export interface SigningTarget {
  key: Secret;
  password?: Secret;
  builderId: string;
}

export interface PolicyTarget {
  publicKey: File;
  sourceRepository: string;
}

const URI = /^[a-z][a-z0-9+.-]*:\S+$/i;

/** Checks the builder id now, where the user typed it: SLSA names builders by URI. */
export function imageSigningSettings(signingKey: Secret, signingPassword: Secret | undefined, builderId: string): ImageSigningSettings {
  const id = builderId.trim() || DEFAULT_BUILDER_ID;
  if (!URI.test(id)) {
    throw new Error(
      `--builder-id ${JSON.stringify(builderId)} is not a URI: SLSA provenance names its builder by URI, e.g. "$(System.CollectionUri)$(System.TeamProject)/_build?definitionId=$(System.DefinitionId)" or https://github.com/org/repo/.github/workflows/ci.yml`,
    );
  }
  return Object.assign(new ImageSigningSettings(), { signingKey, signingPassword, builderId: id });
}

/** Checks the repository URL now: verification compares it with the provenance's source. */
export function imagePolicySettings(publicKey: File, sourceRepository: string): ImagePolicySettings {
  const repo = sourceRepository.trim();
  if (!/^(https?|ssh|git):\/\/[^/\s]+\/\S+$/i.test(repo)) {
    throw new Error(
      `--source-repository ${JSON.stringify(sourceRepository)} is not a repository URL: give the URL images are built from, the same as ci's --source-url (e.g. https://dev.azure.com/org/project/_git/ai-app or https://github.com/org/ai-app)`,
    );
  }
  return Object.assign(new ImagePolicySettings(), { publicKey, sourceRepository: repo });
}

export function signingTarget(s: ImageSigningSettings): SigningTarget {
  const key = restoredSecret(s.signingKey);
  const password = restoredSecret(s.signingPassword);
  if (!key) throw new Error("with-image-signing: no --signing-key");
  return { key, builderId: s.builderId ?? DEFAULT_BUILDER_ID, ...(password ? { password } : {}) };
}

export function policyTarget(s: ImagePolicySettings): PolicyTarget {
  const publicKey = restoredFile(s.publicKey);
  if (!publicKey || !s.sourceRepository) throw new Error("with-image-policy: no --public-key or --source-repository");
  return { publicKey, sourceRepository: s.sourceRepository };
}
