/** Container image references: what "deployed by digest" means, checked without a registry. */

/** `[registry[:port]/]path[:tag]@sha256:<64 hex>`: the parts of a reference that pins content. */
export interface ImageRef {
  /** Everything before the tag and digest, e.g. `myacr.azurecr.io/ai-app`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 lowercase hex>`, when the reference has one. */
  digest?: string;
}

// The distribution reference grammar (github.com/distribution/reference), simplified to what an
// image for this pipeline can be: lowercase path components, an optional registry host[:port].
const COMPONENT = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const HOST = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)";
const REFERENCE = new RegExp(
  `^((?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*)(?::([A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$`,
);

/** Parses a reference; `undefined` when it is not one. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = REFERENCE.exec(ref);
  if (!m) return undefined;
  const [, repository, tag, digest] = m;
  return { repository: repository!, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/**
 * Why `ref` is not an acceptable image for a deployment, or `undefined` when it is: a digest
 * reference (`repo@sha256:<64 hex>`, optionally with a tag that is not `latest`).
 */
export function digestRefProblem(ref: string): string | undefined {
  const parsed = parseImageRef(ref);
  if (!parsed) {
    return /@sha256:/.test(ref) && !/@sha256:[0-9a-f]{64}$/.test(ref)
      ? `image "${ref}" has a malformed digest: expected @sha256: followed by 64 lowercase hex digits`
      : `image "${ref}" is not a valid image reference`;
  }
  if (parsed.tag === "latest") return `image "${ref}" uses the tag "latest": deploy by digest (repo@sha256:...)`;
  if (!parsed.digest) {
    return parsed.tag
      ? `image "${ref}" is referenced by tag only: deploy by digest (repo@sha256:...), a tag can move`
      : `image "${ref}" has neither tag nor digest: deploy by digest (repo@sha256:...)`;
  }
  return undefined;
}

/** Throws with `digestRefProblem`'s message unless `ref` is a digest reference. */
export function requireDigestRef(ref: string): string {
  const problem = digestRefProblem(ref);
  if (problem) throw new Error(problem);
  return ref;
}
