/**
 * The model manifest (`model.json`) written by `model/train.py`: the contract between the
 * data-science stream and the pipeline. Parsed and validated here without any I/O.
 */
import { createHash } from "node:crypto";
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
    problems.push(`"name" must be lowercase letters, digits and dashes (got ${JSON.stringify(name)})`);
  }
  if (typeof version !== "string" || parseSemver(version) === undefined) {
    problems.push(`"version" must be a semantic version such as 1.2.0 (got ${JSON.stringify(version)})`);
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
      if (typeof path !== "string" || !isSafeRelativePath(path)) {
        problems.push(`${where}.path must be a relative path inside the model directory (got ${JSON.stringify(path)})`);
      } else if (path === MANIFEST_NAME) {
        problems.push(`${where}.path must not be the manifest itself`);
      } else if (seen.has(path)) {
        problems.push(`${where}.path ${path} is listed twice`);
      } else seen.add(path);
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
  }
  if (problems.length > 0) {
    throw new ManifestError(`${origin} is invalid:\n  - ${problems.join("\n  - ")}`);
  }
  return { name: name as string, version: version as string, files: parsedFiles, extra };
}

/** A path that stays inside its directory: relative, no `..`, no empty or `.` segments. */
export function isSafeRelativePath(p: string): boolean {
  if (p.length === 0 || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

/** `sha256sum --check` input for the manifest's files. */
export function checksumList(m: ModelManifest): string {
  return m.files.map((f) => `${f.sha256}  ${f.path}\n`).join("");
}

/** One digest for the whole model: the sha256 of its single file, or of the checksum list. */
export function modelDigest(m: ModelManifest): string {
  return m.files.length === 1 ? m.files[0]!.sha256 : createHash("sha256").update(checksumList(m)).digest("hex");
}
