/**
 * Semantic Versioning 2.0.0 through the `semver` package (the parser npm uses), held to one
 * exact spelling. model.schema.json states the same grammar and length limit for the trainer and
 * the app (app/scoring/contract.py adds the 2^53-1 limit below); test/model-store/semver.test.ts checks
 * all three against the same cases.
 */
import semver, { SemVer } from "semver";

export type Semver = SemVer;

/** The semver package refuses longer versions; the Python side states the same limit. */
export const MAX_VERSION_LENGTH = 256;

/**
 * The version `v` exactly as written, or undefined. Beyond the package's own rules: no "v"
 * prefix or surrounding spaces (a store folder is one spelling), and no numeric identifier past
 * 2^53-1 (the package would compare those as rounded numbers or as text).
 */
export function parseSemver(v: string): Semver | undefined {
  if (v.length > MAX_VERSION_LENGTH) return undefined;
  const parsed = semver.parse(v);
  if (!parsed || canonical(parsed) !== v) return undefined;
  if (parsed.prerelease.some((id) => typeof id === "string" && /^\d+$/.test(id) && Number(id) > Number.MAX_SAFE_INTEGER)) return undefined;
  return parsed;
}

/** Negative when a < b in SemVer precedence; build metadata is ignored (SemVer §10). */
export function compareSemver(a: Semver, b: Semver): number {
  return semver.compare(a, b);
}

/** Equal in precedence: one version as far as ordering goes, however their build metadata differs. */
export function samePrecedence(a: Semver, b: Semver): boolean {
  return compareSemver(a, b) === 0;
}

/** A version to suggest after `v`: the next prerelease of a prerelease, else the next patch. */
export function suggestNextVersion(v: string): string {
  const parsed = parseSemver(v);
  if (!parsed) return v;
  return semver.inc(parsed.version, parsed.prerelease.length > 0 ? "prerelease" : "patch") ?? v;
}

function canonical(v: Semver): string {
  return v.build.length > 0 ? `${v.version}+${v.build.join(".")}` : v.version;
}
