/**
 * Pushing an image tarball to a plain-HTTP registry with regctl (regclient), one argv per step.
 *
 * Why not `Container.publish`: in Dagger 0.21 the engine pushes over HTTPS to every host except
 * localhost unless its own configuration marks the host insecure, and a registry started as a
 * Dagger service speaks plain HTTP. So the embedded default exports the image (`asTarball`) and
 * regctl, bound to the registry service, imports it under each tag with TLS off for that one
 * host. Then each tag is read back from the registry: all must name one digest.
 */

/** Where the tarball is mounted in the regctl container. */
export const TARBALL_PATH = "/work/image.tar";

/** The official regctl image's binary (a scratch image: no shell). */
export const REGCTL_BINARY = "/regctl";

/**
 * The user the official regctl image runs as (`appuser`, uid 1000). `asTarball` writes the file
 * 0600 and root-owned, so the mount must be handed to this user or regctl cannot open it.
 */
export const REGCTL_USER = "1000:1000";

export interface TarballPush {
  /** `host:port` of a plain-HTTP registry. */
  registry: string;
  repository: string;
  tags: string[];
}

/** `--host` tells regctl this registry speaks plain HTTP; nothing else is configured. */
function hostFlag(registry: string): string[] {
  return ["--host", `reg=${registry},tls=disabled`];
}

/** One import per tag (blobs already present are skipped by the registry's HEAD checks). */
export function importArgs(p: TarballPush, tag: string, regctl = REGCTL_BINARY, tarball = TARBALL_PATH): string[] {
  return [regctl, ...hostFlag(p.registry), "image", "import", `${p.registry}/${p.repository}:${tag}`, tarball];
}

/** The digest the registry holds for a tag (a HEAD on the manifest). */
export function digestArgs(p: TarballPush, tag: string, regctl = REGCTL_BINARY): string[] {
  return [regctl, ...hostFlag(p.registry), "image", "digest", `${p.registry}/${p.repository}:${tag}`];
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/** The one digest every tag names, from `regctl image digest` outputs in tag order; throws otherwise. */
export function agreedDigest(p: TarballPush, outputs: string[]): string {
  const digests = outputs.map((o) => o.trim());
  digests.forEach((d, i) => {
    if (!DIGEST.test(d)) {
      throw new Error(
        `the registry returned no digest for ${p.registry}/${p.repository}:${p.tags[i]} after the push (got ${JSON.stringify(d.slice(0, 100))})`,
      );
    }
  });
  const distinct = [...new Set(digests)];
  if (distinct.length !== 1) {
    throw new Error(
      `the tags ${p.tags.join(", ")} of ${p.registry}/${p.repository} name different digests after the push: ${distinct.join(", ")}`,
    );
  }
  return distinct[0]!;
}
