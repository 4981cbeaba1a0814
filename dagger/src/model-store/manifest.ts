/**
 * The model manifest (`model.json`) written by `model/train.py`: the contract between the
 * data-science stream, the pipeline and the app. Its JSON Schema (model.schema.json, checked in
 * schema.ts) holds every rule a schema can state; the rest are here: numbers in a version, and
 * paths that can be written as-is on the file systems models are fetched to. The app and the
 * trainer apply the same rules (app/scoring/contract.py), on the same shared fixtures.
 */
import { createHash } from "node:crypto";
import { shown, terminalSafe, UNPRINTABLE } from "./printable.js";
import { schemaProblems } from "./schema.js";
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
  /** Everything else the manifest carries (format, labels, input, metrics, created, ...), kept as-is. */
  extra: Record<string, unknown>;
}

export const MANIFEST_NAME = "model.json";
/** The OpenSSF model-signing signature of a signed version (model/sign_model.py); the schema keeps model files off its name. */
export const SIGNATURE_NAME = "model.sig";
/** A signature is a small Sigstore bundle; a larger blob is not read. */
export const MAX_SIGNATURE_BYTES = 1024 * 1024;
/** Manifests are small; a larger one is not read into memory (list, fetch) nor published. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;
/** One file or folder name: the limit of ext4, XFS, btrfs, APFS and NTFS. */
export const MAX_NAME_BYTES = 255;
/** A whole path inside the model: leaves room for the target directory under Linux's 4096-byte PATH_MAX. */
export const MAX_PATH_BYTES = 1024;
/** Written by fetch into each directory it creates (see fetch-marker.ts); the schema keeps model files off its name. */
export const FETCH_MARKER_NAME = ".model-store-fetch.json";

export class ManifestError extends Error {
  override name = "ManifestError";
}

/** Strict: a bad byte is an error, and a byte-order mark stays in the text (JSON.parse refuses it, as Python does). */
const UTF8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses and validates a manifest; every problem is reported at once, prefixed by `origin`.
 * Pass the file's bytes when there are any: invalid UTF-8 is refused, as the app refuses it,
 * where decoding to a string first would have replaced it unnoticed.
 */
export function parseManifest(content: string | Uint8Array, origin = MANIFEST_NAME): ModelManifest {
  let text: string;
  try {
    text = typeof content === "string" ? content : UTF8.decode(content);
  } catch {
    throw new ManifestError(`${origin}: not valid UTF-8`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    // The parser's message quotes the text around the error: escape what it quotes.
    throw new ManifestError(`${origin}: not valid JSON (${terminalSafe((e as Error).message.replace(/\n/g, "\\n"))})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ManifestError(`${origin}: expected a JSON object`);
  }
  const problems = manifestProblems(raw as Record<string, unknown>);
  if (problems.length > 0) {
    throw new ManifestError(`${origin} is invalid:\n  - ${problems.join("\n  - ")}`);
  }
  const { name, version, files, ...extra } = raw as Record<string, unknown> & Pick<ModelManifest, "name" | "version" | "files">;
  return { name, version, files: files.map(({ path, sha256, size }) => ({ path, sha256, size })), extra };
}

/** Every way a parsed model.json breaks the contract, as "<field> <problem>"; empty when it holds. */
function manifestProblems(manifest: Record<string, unknown>): string[] {
  const problems = new Map<string, string[]>();
  const add = (field: string, text: string) => problems.set(field, [...(problems.get(field) ?? []), text]);
  for (const p of schemaProblems(manifest)) add(p.field, p.text);
  const { version, files } = manifest;
  if (typeof version === "string" && !problems.has("version") && parseSemver(version) === undefined) {
    add("version", `has a number over ${Number.MAX_SAFE_INTEGER} (2^53-1), which the store cannot order exactly`);
  }
  if (Array.isArray(files)) {
    const paths = new Map<number, string>();
    files.forEach((f: unknown, i) => {
      const path = (f as { path?: unknown } | null)?.path;
      if (typeof path === "string" && !problems.has(`files[${i}].path`)) paths.set(i, path);
    });
    for (const [field, text] of pathProblems(paths)) add(field, text);
  }
  return [...problems].flatMap(([field, texts]) => [...new Set(texts)].map((t) => `${field} ${t}`));
}

/** Why one path the schema accepted cannot be written as-is, or undefined. */
function onePathProblem(p: string): string | undefined {
  if (UNPRINTABLE.test(p)) return "has control or invisible formatting characters";
  if (p.split("/").some((seg) => Buffer.byteLength(seg) > MAX_NAME_BYTES))
    return `has a name over ${MAX_NAME_BYTES} bytes (the file system limit)`;
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `is over ${MAX_PATH_BYTES} bytes`;
  return undefined;
}

/**
 * The file-system rules for the paths the schema accepted (files index -> path): each one
 * writable, and no two that are one file (a duplicate, or names one file on macOS and Windows)
 * or a file and its folder.
 */
function pathProblems(paths: Map<number, string>): [string, string][] {
  const problems: [string, string][] = [];
  const clean = new Map<number, string>();
  for (const [i, p] of paths) {
    const problem = onePathProblem(p);
    if (problem) problems.push([`files[${i}].path`, `${shown(p)} ${problem}`]);
    else clean.set(i, p);
  }
  const fold = (p: string) => p.normalize("NFC").toLowerCase();
  const first = new Map<string, number>();
  for (const [i, p] of clean) {
    const other = first.get(fold(p));
    if (other === undefined) first.set(fold(p), i);
    else if (clean.get(other) === p) problems.push([`files[${i}].path`, `${shown(p)} is listed twice`]);
    else
      problems.push([
        `files[${i}].path`,
        `${shown(p)} differs from ${shown(clean.get(other))} only in letter case or Unicode normalization (one file on macOS and Windows)`,
      ]);
  }
  for (const [i, p] of clean) {
    const parts = p.split("/");
    for (let n = 1; n < parts.length; n++) {
      const folder = first.get(fold(parts.slice(0, n).join("/")));
      if (folder !== undefined)
        problems.push([`files[${i}].path`, `${shown(p)} lies under ${shown(clean.get(folder))}, which is listed as a file`]);
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
