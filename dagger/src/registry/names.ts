/**
 * OCI image names, checked before anything is built: registry host, repository, tag, digest,
 * and the tags a build is pushed under. Grammar from the OCI distribution spec and
 * distribution/reference; messages say what is wrong and what a valid value looks like.
 */

export class ImageNameError extends Error {
  override name = "ImageNameError";
}

/** `host[:port]` as `docker push` takes it, without a scheme or a path. */
export interface RegistryHost {
  host: string;
  port?: number;
  /** `host[:port]` exactly as it appears in image references. */
  address: string;
}

/** One image reference: `registry/repository` plus a tag, a digest, or both. */
export interface ImageReference {
  registry: string;
  repository: string;
  tag?: string;
  digest?: string;
}

const DNS_LABEL = /^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6_BRACKETED = /^\[[0-9a-fA-F:.]+(%[A-Za-z0-9]+)?\]$/;
/** One path component of a repository: lowercase alphanumerics joined by `.`, `_`, `__` or dashes. */
const COMPONENT_SOURCE = "[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG_SOURCE = "[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const HOST_SOURCE = "(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)";
const PATH_COMPONENT = new RegExp(`^${COMPONENT_SOURCE}$`);
const TAG = new RegExp(`^${TAG_SOURCE}$`);
/** `[host[:port]/]path[:tag][@sha256:<64 hex>]`, from the same parts as the checks above. */
const IMAGE_REF = new RegExp(
  `^((?:${HOST_SOURCE}/)?${COMPONENT_SOURCE}(?:/${COMPONENT_SOURCE})*)(?::(${TAG_SOURCE}))?(?:@(sha256:[0-9a-f]{64}))?$`,
);
const DIGEST = /^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$/;
/** distribution/reference: a full name (registry + "/" + repository) stays within 255 characters. */
const MAX_NAME_LENGTH = 255;

/** Parses and checks a registry address such as `myacr.azurecr.io` or `127.0.0.1:5000`. */
export function parseRegistry(value: string): RegistryHost {
  const where = `registry ${JSON.stringify(value)}`;
  if (value.trim() === "") throw new ImageNameError("registry is empty: give a host such as myacr.azurecr.io");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    throw new ImageNameError(
      `${where} must be a host[:port] without a scheme (e.g. ${value.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "").replace(/\/.*$/, "")})`,
    );
  }
  if (value.includes("/")) {
    throw new ImageNameError(
      `${where} must be a host[:port] only; put the path in --repository (e.g. registry ${value.split("/")[0]}, repository ${value.split("/").slice(1).join("/")})`,
    );
  }
  let host = value;
  let portText: string | undefined;
  const bracket = /^(\[[^\]]*\])(?::(.*))?$/.exec(value);
  if (bracket) {
    host = bracket[1]!;
    portText = bracket[2];
  } else if (value.includes(":")) {
    const i = value.lastIndexOf(":");
    host = value.slice(0, i);
    portText = value.slice(i + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) throw new ImageNameError(`${where} has an invalid port ${JSON.stringify(portText)} (1-65535)`);
  }
  const validHost = IPV4.test(host) || IPV6_BRACKETED.test(host) || (host.length <= 253 && host.split(".").every((l) => DNS_LABEL.test(l)));
  if (!validHost) {
    throw new ImageNameError(
      `${where}: ${JSON.stringify(host)} is not a valid host name (letters, digits, dashes and dots, e.g. myacr.azurecr.io)`,
    );
  }
  return { host, ...(port !== undefined ? { port } : {}), address: value };
}

/** Checks a repository path such as `ai-app` or `team/ai-app`; returns it unchanged. */
export function checkRepository(value: string, registry?: string): string {
  const where = `repository ${JSON.stringify(value)}`;
  if (value === "") throw new ImageNameError("repository is empty: give a name such as ai-app");
  if (value.includes(":") || value.includes("@")) {
    throw new ImageNameError(`${where} must not carry a tag or digest; pass tags separately`);
  }
  const bad = value.split("/").filter((c) => !PATH_COMPONENT.test(c));
  if (bad.length > 0) {
    const hint = value !== value.toLowerCase() ? " (repository names are lowercase)" : "";
    throw new ImageNameError(
      `${where} is not a valid OCI repository name${hint}: each "/"-separated part must be lowercase letters and digits, ` +
        `optionally joined by ".", "_", "__" or "-" (invalid part${bad.length > 1 ? "s" : ""}: ${bad.map((b) => JSON.stringify(b)).join(", ")})`,
    );
  }
  const full = registry ? `${registry}/${value}` : value;
  if (full.length > MAX_NAME_LENGTH) {
    throw new ImageNameError(
      `${where}: the full name ${registry ? "with the registry " : ""}is ${full.length} characters, over the ${MAX_NAME_LENGTH} allowed`,
    );
  }
  return value;
}

/** Checks a tag (`[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`); returns it unchanged. */
export function checkTag(value: string): string {
  if (!TAG.test(value)) {
    throw new ImageNameError(
      `tag ${JSON.stringify(value)} is not a valid OCI tag: 1-128 characters of letters, digits, "_", "." and "-", not starting with "." or "-"`,
    );
  }
  return value;
}

/** Checks a digest such as `sha256:<64 hex>`; returns it unchanged. */
export function checkDigest(value: string): string {
  if (!DIGEST.test(value))
    throw new ImageNameError(`digest ${JSON.stringify(value)} is not a sha256:<64 lowercase hex> (or sha512) digest`);
  return value;
}

/** `registry/repository[:tag][@digest]` from its parts, each checked. */
export function formatReference(ref: ImageReference): string {
  parseRegistry(ref.registry);
  checkRepository(ref.repository, ref.registry);
  const tag = ref.tag !== undefined ? `:${checkTag(ref.tag)}` : "";
  const digest = ref.digest !== undefined ? `@${checkDigest(ref.digest)}` : "";
  return `${ref.registry}/${ref.repository}${tag}${digest}`;
}

/**
 * Splits a full reference such as `myacr.azurecr.io/ai-app:main@sha256:...`. The first path
 * part is the registry (references here always name their registry explicitly).
 */
export function parseReference(value: string): ImageReference {
  const at = value.indexOf("@");
  const digest = at >= 0 ? value.slice(at + 1) : undefined;
  const rest = at >= 0 ? value.slice(0, at) : value;
  const slash = rest.indexOf("/");
  if (slash <= 0)
    throw new ImageNameError(
      `image reference ${JSON.stringify(value)} must start with a registry host (e.g. myacr.azurecr.io/ai-app:main)`,
    );
  const registry = rest.slice(0, slash);
  let repository = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = repository.lastIndexOf(":");
  if (colon >= 0) {
    tag = repository.slice(colon + 1);
    repository = repository.slice(0, colon);
  }
  const ref: ImageReference = { registry, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
  formatReference(ref);
  return ref;
}

/** Loopback registries (tests, the embedded default) are spoken to over plain HTTP; all others over HTTPS. */
export function isLoopbackRegistry(registry: RegistryHost): boolean {
  const h = registry.host.toLowerCase();
  return h === "localhost" || h === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** Base URL of the registry's HTTP API. */
export function registryBaseUrl(registry: RegistryHost): string {
  return `${isLoopbackRegistry(registry) ? "http" : "https"}://${registry.address}`;
}

// ---- the tags one build is pushed under ------------------------------------------------

/** Turns free text into a valid tag: disallowed runs become "-", lowercase, no leading "." or "-", at most 128 chars. */
export function sanitizeTag(value: string): string {
  const cleaned = value
    .replace(/[^A-Za-z0-9_.-]+/g, "-")
    .replace(/-{2,}/g, "-")
    .replace(/^[.-]+/, "")
    .toLowerCase()
    .slice(0, 128)
    .replace(/[.-]+$/, "");
  return cleaned;
}

/** The git revision's tag: the commit id as given (full sha recommended), sanitized. */
export function revisionTag(revision: string): string {
  const tag = sanitizeTag(revision.trim());
  if (tag === "")
    throw new ImageNameError(`revision ${JSON.stringify(revision)} gives an empty tag: pass the commit id, e.g. $(git rev-parse HEAD)`);
  return checkTag(tag);
}

/** The model version's tag: `model-<semver>` (build metadata's "+" becomes "_", which tags allow). */
export function modelVersionTag(version: string): string {
  const tag = sanitizeTag(`model-${version.trim().replace(/\+/g, "_")}`);
  if (tag === "model") throw new ImageNameError(`model version ${JSON.stringify(version)} gives an empty tag`);
  return checkTag(tag);
}

/**
 * The moving channel tag from a branch name: `refs/heads/feature/Login` -> `feature-login`,
 * `main` -> `main`. Azure DevOps' Build.SourceBranch and GitHub's GITHUB_REF both work as-is.
 */
export function channelTag(branch: string): string {
  const name = branch.trim().replace(/^refs\/(heads|tags)\//, "");
  const tag = sanitizeTag(name);
  if (tag === "") throw new ImageNameError(`branch ${JSON.stringify(branch)} gives an empty channel tag: pass a branch name such as main`);
  return checkTag(tag);
}

/** The distinct tags for one build, in push order: revision, model version, channel. */
export function buildTags(opts: { revision: string; modelVersion: string; channel: string }): string[] {
  return [...new Set([revisionTag(opts.revision), modelVersionTag(opts.modelVersion), channelTag(opts.channel)])];
}

// ---- references as manifests and deploys take them: what "deployed by digest" means ----

/** `[registry[:port]/]path[:tag]@sha256:<64 hex>`: the parts of a reference that pins content. */
export interface ImageRef {
  /** Everything before the tag and digest, e.g. `myacr.azurecr.io/ai-app`. */
  repository: string;
  tag?: string;
  /** `sha256:<64 lowercase hex>`, when the reference has one. */
  digest?: string;
}

/** Parses a reference; `undefined` when it is not one. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const m = IMAGE_REF.exec(ref);
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
