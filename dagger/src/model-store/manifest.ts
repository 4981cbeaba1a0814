/**
 * The model manifest (`model.json`) written by `model/train.py`: the contract between the
 * data-science stream and the pipeline. Parsed and validated here without any I/O, including
 * that every listed path can be written as-is on the file systems models are fetched to.
 */
import { createHash } from "node:crypto";
import { shown, UNPRINTABLE } from "./printable.js";
import { parseSemver } from "./semver.js";

export interface ModelFile {
  path: string;
  sha256: string;
  size: number;
}

export interface ModelManifest {
  name: string;
  version: string;
  files: ModelFile[];
  /** Everything else the manifest carries (metrics, created, framework, ...), kept as-is. */
  extra: Record<string, unknown>;
}

export const MANIFEST_NAME = "model.json";
/** Manifests are small; a larger one is not read into memory (list, fetch) nor published. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** One file or folder name: the limit of ext4, XFS, btrfs, APFS and NTFS. */
export const MAX_NAME_BYTES = 255;
/** A whole path inside the model: leaves room for the target directory under Linux's 4096-byte PATH_MAX. */
export const MAX_PATH_BYTES = 1024;
/** Written by fetch into each directory it creates (see fetch-marker.ts); no model file may take its name. */
export const FETCH_MARKER_NAME = ".model-store-fetch.json";
const RESERVED_NAMES = [MANIFEST_NAME, FETCH_MARKER_NAME];
const SHA256 = /^[0-9a-f]{64}$/;
const MODEL_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class ManifestError extends Error {
  override name = "ManifestError";
}

/** Parses and validates a manifest; every problem is reported at once, prefixed by `origin`. */
export function parseManifest(text: string, origin = MANIFEST_NAME): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ManifestError(`${origin}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ManifestError(`${origin}: expected a JSON object`);
  }
  const { name, version, files, ...extra } = raw as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof name !== "string" || !MODEL_NAME.test(name)) {
    problems.push(`"name" must be lowercase letters, digits and dashes (got ${shown(name)})`);
  }
  if (typeof version !== "string" || parseSemver(version) === undefined) {
    problems.push(`"version" must be a semantic version such as 1.2.0, at most 256 characters (got ${shown(version)})`);
  }
  const parsedFiles: ModelFile[] = [];
  if (!Array.isArray(files) || files.length === 0) {
    problems.push(`"files" must be a non-empty list of {path, sha256, size}`);
  } else {
    const seen = new Set<string>();
    files.forEach((f: unknown, i) => {
      const entry = f as Partial<ModelFile> | null;
      const where = `files[${i}]`;
      if (typeof entry !== "object" || entry === null) return void problems.push(`${where} is not an object`);
      const { path, sha256, size } = entry;
      const pathIssue = typeof path === "string" ? pathProblem(path) : "must be a relative path inside the model directory";
      if (pathIssue) {
        problems.push(`${where}.path ${shown(path)} ${pathIssue}`);
      } else if (seen.has(path as string)) {
        problems.push(`${where}.path ${shown(path)} is listed twice`);
      } else seen.add(path as string);
      if (typeof sha256 !== "string" || !SHA256.test(sha256)) {
        problems.push(`${where}.sha256 must be 64 lowercase hex characters`);
      }
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        problems.push(`${where}.size must be a non-negative integer`);
      }
      if (typeof path === "string" && typeof sha256 === "string" && typeof size === "number") {
        parsedFiles.push({ path, sha256, size });
      }
    });
    problems.push(...collisions([...seen]));
  }
  if (problems.length > 0) {
    throw new ManifestError(`${origin} is invalid:\n  - ${problems.join("\n  - ")}`);
  }
  return { name: name as string, version: version as string, files: parsedFiles, extra };
}

/** A path that stays inside its directory and can be written as-is (see pathProblem). */
export function isSafeRelativePath(p: string): boolean {
  return pathProblem(p) === undefined;
}

/**
 * Why `p` cannot be one model file written under the target directory, or undefined: it must
 * be relative with "/" between folders, free of empty, "." and ".." parts, of control and
 * invisible characters, within the name and path byte limits, and clear of the manifest's place.
 */
export function pathProblem(p: string): string | undefined {
  if (p.length === 0) return "must not be empty";
  if (UNPRINTABLE.test(p)) return "has control or invisible formatting characters";
  if (p.startsWith("/") || p.includes("\\")) return "must be a relative path with / between folders";
  const parts = p.split("/");
  if (parts.some((seg) => seg === "" || seg === "." || seg === "..")) return "must stay inside the model directory (no empty, . or .. parts)";
  if (parts.some((seg) => Buffer.byteLength(seg) > MAX_NAME_BYTES)) return `has a name over ${MAX_NAME_BYTES} bytes (the file system limit)`;
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `is over ${MAX_PATH_BYTES} bytes`;
  if (p === MANIFEST_NAME) return "must not be the manifest itself";
  if (p === FETCH_MARKER_NAME) return "is reserved for the marker fetch writes";
  if (RESERVED_NAMES.includes(parts[0]!)) return `would put a folder where ${parts[0]} goes`;
  return undefined;
}

/** Paths no file system can hold together: a file that is also a folder, names one file on macOS or Windows. */
function collisions(paths: string[]): string[] {
  const problems: string[] = [];
  const fold = (p: string) => p.normalize("NFC").toLowerCase();
  const byFolded = new Map<string, string>();
  for (const p of paths) {
    const other = byFolded.get(fold(p));
    if (other !== undefined) problems.push(`${shown(other)} and ${shown(p)} differ only in letter case or Unicode normalization (one file on macOS and Windows)`);
    else byFolded.set(fold(p), p);
  }
  for (const p of paths) {
    const parts = p.split("/");
    for (let n = 1; n < parts.length; n++) {
      const folder = byFolded.get(fold(parts.slice(0, n).join("/")));
      if (folder !== undefined) problems.push(`${shown(folder)} is listed as a file and also as a folder of ${shown(p)}`);
    }
  }
  return problems;
}

/** `sha256sum --check` input for the manifest's files. */
export function checksumList(m: ModelManifest): string {
  return m.files.map((f) => `${f.sha256}  ${f.path}\n`).join("");
}

/** One digest for the whole model: the sha256 of its single file, or of the checksum list. */
export function modelDigest(m: ModelManifest): string {
  return m.files.length === 1 ? m.files[0]!.sha256 : createHash("sha256").update(checksumList(m)).digest("hex");
}
