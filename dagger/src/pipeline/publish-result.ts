/**
 * What `publish` returns: one field per fact for the next CI step (`dagger call ... publish
 * --channel main image`), all of them at once as JSON (`publish ... json`: a second call would
 * push again), and a summary for people. The same facts as `ci`'s, named the same way.
 */
import { func, object } from "@dagger.io/dagger";
import { channelTag } from "../registry/names.js";
import { PublishedImage } from "./publish.js";

/** The image publish pushed and what is inside it. Every field is set ("" when it does not apply). */
@object()
export class PublishResult {
  /** The pushed image by digest, registry/repository@sha256:... (what deploy, diff and manifests take). */
  @func() image = "";
  /** The image's digest alone, sha256:... . */
  @func() digest = "";
  /** The channel tag this push moved (refs/heads/feature/x is feature-x). */
  @func() channel = "";
  /** The tags pushed, all naming that digest: revision, model-<version> and the channel. */
  @func() tags: string[] = [];
  /** The git revision the image was built from (the constructor's --revision). */
  @func() revision = "";
  /** pytest's summary line. */
  @func() tests = "";
  /** Name of the model built into the image. */
  @func() modelName = "";
  /** Version of the model built into the image. */
  @func() modelVersion = "";
  /** The model's digest as the image's labels record it: its one file's sha256, or the sha256 of the list of its files' sha256s. */
  @func() modelSha256 = "";
  /** Who signed the model ("key sha256:<fingerprint>") when publish --public-key verified it; "" otherwise. */
  @func() modelSigner = "";
  /** The signature and attestations on the digest (with-image-signing): signer, SBOM contents, time taken; "" when not signed. */
  @func() signature = "";
  /** All of the above for people, a few lines. */
  @func() summary = "";
  /** All of the above as one JSON object, for scripts that need several fields from one run. */
  @func() json = "";
}

/** The push as the returned object (only declared fields: the SDK refuses any other key). */
export function publishResult(p: PublishedImage, channel: string, revision: string): PublishResult {
  const facts = {
    image: p.reference,
    digest: p.digest,
    channel: channelTag(channel),
    tags: p.tags,
    revision,
    tests: p.tests,
    modelName: p.model.name,
    modelVersion: p.model.version,
    modelSha256: p.model.sha256,
    modelSigner: p.model.signer ?? "",
    signature: p.signature,
  };
  const summary = [
    `tests: ${facts.tests}`,
    `model: ${facts.modelName} ${facts.modelVersion} sha256:${facts.modelSha256}${facts.modelSigner ? `, signed by ${facts.modelSigner}` : ""}`,
    `image: ${facts.image}`,
    `tags: ${facts.tags.join(", ")}`,
    ...(facts.signature ? [`signature: ${facts.signature}`] : []),
  ].join("\n");
  return Object.assign(new PublishResult(), facts, { summary, json: JSON.stringify(facts) });
}
