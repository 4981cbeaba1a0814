/**
 * Versions of one model as the store lists them, their completeness, and which one a
 * selector ("latest" or an exact semver) picks. Pure: the store feeds it listings and manifests.
 *
 * Versions equal in SemVer precedence (1.0.0+build.1, 1.0.0+build.2) are one version: the one
 * whose model.json was created first is it; any other is invalid. Publish refuses to make a second.
 */
import { StoreError } from "./errors.js";
import { METADATA_FOLDER_PREFIX, splitBlobName } from "./layout.js";
import { MANIFEST_NAME, ManifestError, ModelManifest, parseManifest } from "./manifest.js";
import { shown } from "./printable.js";
import { compareSemver, parseSemver, samePrecedence, Semver } from "./semver.js";

export interface BlobEntry {
  name: string;
  size: number;
  etag: string;
  lastModified?: Date;
  createdOn?: Date;
}

/** The blobs found under `<name>/<version>/`, keyed by their path inside the version. */
export interface VersionListing {
  version: string;
  semver: Semver;
  files: Map<string, BlobEntry>;
}

/**
 * complete: fetchable. incomplete: no model.json yet (an upload unfinished or abandoned).
 * invalid: a model.json that can never be fetched (unreadable, unfetchable paths, files missing,
 * or the same version as one published earlier).
 */
export type VersionStatus =
  { state: "complete"; manifest: ModelManifest } | { state: "incomplete"; reason: string } | { state: "invalid"; reason: string };

/** "latest", an exact version, or `@alias` (the version an alias points at, read when resolving). */
export type VersionSelector =
  { kind: "latest"; prerelease: boolean } | { kind: "exact"; version: string } | { kind: "alias"; alias: string };

/**
 * Groups a flat listing by version, highest precedence first, and among versions equal in
 * precedence the first published first; folders that are not semver are reported apart.
 */
export function groupVersions(name: string, entries: Iterable<BlobEntry>): { versions: VersionListing[]; ignored: string[] } {
  const byVersion = new Map<string, Map<string, BlobEntry>>();
  for (const e of entries) {
    const where = splitBlobName(name, e.name);
    if (!where || where.version.startsWith(METADATA_FOLDER_PREFIX)) continue; // aliases and yank marks, not versions
    let files = byVersion.get(where.version);
    if (!files) byVersion.set(where.version, (files = new Map()));
    files.set(where.path, e);
  }
  const versions: VersionListing[] = [];
  const ignored: string[] = [];
  for (const [version, files] of byVersion) {
    const semver = parseSemver(version);
    if (semver) versions.push({ version, semver, files });
    else ignored.push(version);
  }
  versions.sort((a, b) => compareSemver(b.semver, a.semver) || publishedFirst(a, b) || (a.version < b.version ? -1 : 1));
  return { versions, ignored: ignored.sort() };
}

/** Earlier model.json first; versions without one after those with one. */
function publishedFirst(a: VersionListing, b: VersionListing): number {
  const when = (v: VersionListing) => {
    const m = v.files.get(MANIFEST_NAME);
    return m ? ((m.createdOn ?? m.lastModified)?.getTime() ?? 0) : Infinity;
  };
  const [x, y] = [when(a), when(b)];
  return x === y ? 0 : x < y ? -1 : 1;
}

/**
 * The version that `listing` duplicates: another one equal in precedence whose model.json came
 * first (in groupVersions order). Undefined when `listing` is the one version of its precedence.
 */
export function earlierEqualVersion(listing: VersionListing, versions: readonly VersionListing[]): string | undefined {
  if (!listing.files.has(MANIFEST_NAME)) return undefined;
  const first = versions.find((v) => v.files.has(MANIFEST_NAME) && samePrecedence(v.semver, listing.semver));
  return first && first !== listing ? first.version : undefined;
}

/**
 * A version is complete when its manifest parses, names this model and version, and every
 * file it lists is there with the listed size. `manifestContent` is undefined when there is none.
 */
export function versionStatus(name: string, listing: VersionListing, manifestContent: string | Uint8Array | undefined): VersionStatus {
  if (manifestContent === undefined) return { state: "incomplete", reason: `no ${MANIFEST_NAME} (upload unfinished or abandoned)` };
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(manifestContent, `${name}/${listing.version}/${MANIFEST_NAME}`);
  } catch (e) {
    if (e instanceof ManifestError) return { state: "invalid", reason: e.message };
    throw e;
  }
  if (manifest.name !== name || manifest.version !== listing.version) {
    return {
      state: "invalid",
      reason: `${MANIFEST_NAME} describes ${manifest.name} ${manifest.version}, not ${name} ${listing.version}`,
    };
  }
  const problems: string[] = [];
  for (const f of manifest.files) {
    const blob = listing.files.get(f.path);
    if (!blob) problems.push(`${shown(f.path)} is missing`);
    else if (blob.size !== f.size) problems.push(`${shown(f.path)} is ${blob.size} bytes, ${MANIFEST_NAME} says ${f.size}`);
  }
  if (problems.length > 0) return { state: "invalid", reason: problems.join("; ") };
  return { state: "complete", manifest };
}

/** The status of a version that repeats `earlier` (equal in precedence, published after it). */
export function duplicateStatus(earlier: string): VersionStatus {
  return {
    state: "invalid",
    reason: `same version as ${earlier}, published earlier (build metadata does not order versions); pin ${earlier} or publish a new version`,
  };
}

/** "latest", an exact semantic version or `@alias`; anything else is a clear error. */
export function parseSelector(text: string, prerelease = false): VersionSelector {
  const t = text.trim();
  if (t === "" || t === "latest") return { kind: "latest", prerelease };
  if (t.startsWith("@")) return { kind: "alias", alias: checkAliasName(t.slice(1)) };
  const v = t.replace(/^v(?=\d)/, "");
  if (!parseSemver(v)) {
    throw new StoreError(
      `version ${shown(text)} is not "latest" or a semantic version such as 1.2.0 or 1.3.0-rc.1, nor an alias such as @champion`,
    );
  }
  return { kind: "exact", version: v };
}

/** The versions a selector may pick, in the order to try them (best first). */
export function candidates(versions: readonly VersionListing[], selector: Exclude<VersionSelector, { kind: "alias" }>): VersionListing[] {
  if (selector.kind === "exact") {
    // A pin with build metadata names one folder; without, it names the version of that precedence.
    const wanted = parseSemver(selector.version);
    if (!wanted || wanted.build.length > 0) return versions.filter((v) => v.version === selector.version);
    return versions.filter((v) => samePrecedence(v.semver, wanted));
  }
  return versions.filter((v) => selector.prerelease || v.semver.prerelease.length === 0);
}

export function describeSelector(selector: VersionSelector): string {
  if (selector.kind === "exact") return `version ${selector.version}`;
  if (selector.kind === "alias") return `alias @${selector.alias}`;
  return selector.prerelease ? "the latest version (prereleases included)" : "the latest release";
}

/** Lowercase letters, digits and inner dashes, starting with a letter (never a version): champion, production, canary-eu. */
const ALIAS_NAME = /^[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Names that already mean something where a version is chosen. */
const RESERVED_ALIASES = new Set(["latest"]);

/** `alias` when it is a valid alias name (a leading @ is dropped), else a StoreError saying what is allowed. */
export function checkAliasName(alias: string): string {
  const a = alias.startsWith("@") ? alias.slice(1) : alias;
  if (RESERVED_ALIASES.has(a)) throw new StoreError(`"${a}" cannot be an alias: it already selects the highest complete release`);
  if (!ALIAS_NAME.test(a)) {
    throw new StoreError(
      `alias ${shown(alias)} is invalid: use 1-63 lowercase letters, digits and dashes, starting with a letter (e.g. champion, production)`,
    );
  }
  return a;
}
