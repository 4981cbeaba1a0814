/**
 * A channel tag (main) only moves forward: publish and ci refuse to point it at an image built
 * from a commit older than the one it points at now, unless forced. "Older" is the image's
 * `org.opencontainers.image.created` label, which CI sets to the commit time (`--created
 * "$(git log -1 --format=%cI)"`, the committer date): two runs of quick merges that finish out
 * of order then leave the channel on the newer commit. The channel's image is found through the
 * registry API (tag -> digest), its labels read by the engine, as release reads them.
 */
import { Container } from "@dagger.io/dagger";
import { IMAGE_LABELS } from "../app-image/labels.js";
import { RegistryCredentials, resolveDigest } from "../registry/client.js";
import { HttpOptions, RegistryError } from "../registry/http.js";

/** The image a channel tag points at, with the labels that date it. */
export interface ChannelImage {
  /** registry/repository@sha256:... */
  reference: string;
  revision?: string;
  /** RFC 3339, the commit time of `revision` as CI passed it. */
  created?: string;
}

/** What is about to be pushed under the channel. */
export interface NextImage {
  revision: string;
  created?: string;
}

/**
 * Why moving `channel` from `now` to `next` is refused, or undefined when it may move: the tag is
 * new, `force` is set, the revision is the same (a rebuild, e.g. with another model), the image
 * there carries no commit time (not dated by this pipeline), or `next` is not older. Refused: an
 * older commit time, or no commit time for `next` while the image there has one (it cannot tell).
 */
export function channelMoveRefusal(channel: string, now: ChannelImage | undefined, next: NextImage, force: boolean): string | undefined {
  if (!now || force || !now.created || now.revision === next.revision) return undefined;
  const there = `the channel tag ${channel} points at ${now.reference} (revision ${now.revision ?? "unknown"}, committed ${now.created})`;
  const how =
    "Nothing moved the channel; the revision and model tags were pushed. To move it back on purpose, run again with --force; to run an older image, use rollback.";
  if (!next.created) {
    return `${there}, and this image has no commit time to compare with: pass --created "$(git log -1 --format=%cI)". ${how}`;
  }
  if (Date.parse(next.created) < Date.parse(now.created)) {
    return `${there}; revision ${next.revision} was committed earlier (${next.created}), so moving ${channel} would take it back. ${how}`;
  }
  return undefined;
}

export class ChannelMoveRefused extends Error {
  override name = "ChannelMoveRefused";
}

/** The image `repository:tag` points at now, its revision and commit time read by the engine; undefined when the tag (or the repository) does not exist yet. */
export async function readChannelImage(
  target: { registry: string; repository: string; tag: string },
  credentials: RegistryCredentials,
  engine: Container,
  http?: HttpOptions,
): Promise<ChannelImage | undefined> {
  let reference: string;
  try {
    reference = (await resolveDigest(target, credentials, http)).reference;
  } catch (e) {
    if (e instanceof RegistryError && (e.code === "TAG_NOT_FOUND" || e.code === "REPOSITORY_NOT_FOUND")) return undefined;
    throw e;
  }
  const image = engine.from(reference);
  const [revision, created] = [await image.label(IMAGE_LABELS.revision), await image.label(IMAGE_LABELS.created)];
  return { reference, ...(revision ? { revision } : {}), ...(created ? { created } : {}) };
}
