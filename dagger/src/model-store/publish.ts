/**
 * A local model directory to a new version in the store. Everything is checked locally
 * before the first byte is sent; files go first, the manifest last and create-only, so a
 * version becomes visible ("complete") in one step and two racing publishers cannot both win.
 */
import { createHash } from "node:crypto";
import { lstat, readdir, readFile } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import type { StoreBackend } from "./backend.js";
import { StoreError } from "./errors.js";
import { fileBlobName, manifestBlobName, MAX_BLOB_NAME_LENGTH, modelPrefix } from "./layout.js";
import { hashFile } from "./local-files.js";
import {
  FETCH_MARKER_NAME,
  MANIFEST_NAME,
  ManifestError,
  MAX_MANIFEST_BYTES,
  MAX_SIGNATURE_BYTES,
  ModelFile,
  ModelManifest,
  parseManifest,
  SIGNATURE_NAME,
} from "./manifest.js";
import { noProgress, ProgressReporter } from "./progress.js";
import { parseSemver, samePrecedence, suggestNextVersion } from "./semver.js";
import { ModelStore, sha256 } from "./store.js";
import { groupVersions } from "./versions.js";

export interface LocalModel {
  dir: string;
  manifest: ModelManifest;
  manifestBytes: Buffer;
  manifestSha256: string;
  /** model.sig when the directory is signed (model/sign_model.py); uploaded before model.json. */
  signature?: Buffer;
}

export interface PublishOptions {
  /** When given, must equal the manifest's version (a guard against publishing the wrong build). */
  version?: string;
  /** Block size and parallel blocks per file for large uploads. */
  blockSize?: number;
  concurrency?: number;
  signal?: AbortSignal;
  /** Bytes sent per file, for people watching a long upload. */
  progress?: ProgressReporter;
}

export interface PublishResult {
  name: string;
  version: string;
  files: number;
  uploadedBytes: number;
  /** Files already present with identical content (a re-run after an interrupted publish). */
  reusedFiles: number;
  manifestSha256: string;
}

/** Reads and checks a model directory: manifest valid, every listed file present with its size and sha256, nothing unlisted. */
export async function readLocalModel(dirPath: string): Promise<LocalModel> {
  const dir = resolve(dirPath);
  const st = await lstat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new StoreError(`model directory ${dirPath} does not exist or is not a directory`);
  const manifestSize = (await lstat(join(dir, MANIFEST_NAME)).catch(() => undefined))?.size ?? 0;
  if (manifestSize > MAX_MANIFEST_BYTES) {
    throw new StoreError(
      `${join(dirPath, MANIFEST_NAME)}: ${MANIFEST_NAME} is ${manifestSize} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit (fetch would never read it); keep large data out of the manifest`,
    );
  }
  const manifestBytes = await readFile(join(dir, MANIFEST_NAME)).catch(() => undefined);
  if (!manifestBytes) {
    throw new StoreError(
      `model directory ${dirPath} has no ${MANIFEST_NAME}: produce it with model/train.py (it lists every file with its sha256 and size)`,
    );
  }
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(manifestBytes, join(dirPath, MANIFEST_NAME));
  } catch (e) {
    if (e instanceof ManifestError) throw new StoreError(e.message);
    throw e;
  }
  const problems: string[] = [];
  for (const f of manifest.files) problems.push(...(await fileProblems(dir, f)));
  // A fetched directory can be published elsewhere as it is: fetch's own marker is not part of the model.
  const listed = new Set([MANIFEST_NAME, FETCH_MARKER_NAME, SIGNATURE_NAME, ...manifest.files.map((f) => f.path)]);
  for (const path of await filesUnder(dir)) {
    if (!listed.has(path)) problems.push(`${path} is not listed in ${MANIFEST_NAME} (remove it or add it to the manifest)`);
  }
  if (problems.length > 0) {
    throw new StoreError(
      `model directory ${dirPath} does not match its ${MANIFEST_NAME}; nothing was uploaded:\n  - ${problems.join("\n  - ")}`,
    );
  }
  const signature = await readSignature(dir, dirPath);
  return { dir, manifest, manifestBytes, manifestSha256: sha256(manifestBytes), ...(signature ? { signature } : {}) };
}

async function readSignature(dir: string, dirPath: string): Promise<Buffer | undefined> {
  const st = await lstat(join(dir, SIGNATURE_NAME)).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile() || st.size > MAX_SIGNATURE_BYTES) {
    throw new StoreError(
      `${join(dirPath, SIGNATURE_NAME)} is not a signature model/sign_model.py wrote (not a file, or over ${MAX_SIGNATURE_BYTES} bytes)`,
    );
  }
  return readFile(join(dir, SIGNATURE_NAME));
}

async function fileProblems(dir: string, f: ModelFile): Promise<string[]> {
  const st = await lstat(join(dir, f.path)).catch(() => undefined);
  if (!st) return [`${f.path} is listed but missing`];
  if (!st.isFile()) return [`${f.path} is not a regular file`];
  if (st.size !== f.size) return [`${f.path} is ${st.size} bytes, ${MANIFEST_NAME} says ${f.size}`];
  const actual = await hashFile(join(dir, f.path));
  return actual === f.sha256 ? [] : [`${f.path} has sha256 ${actual}, ${MANIFEST_NAME} says ${f.sha256}`];
}

/** Every non-directory entry under `dir`, as a /-separated relative path. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => !e.isDirectory()).map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join("/"));
}

export async function publishModel(store: ModelStore, local: LocalModel, opts: PublishOptions = {}): Promise<PublishResult> {
  const { name, version } = local.manifest;
  if (opts.version !== undefined && opts.version !== version) {
    throw new StoreError(
      `${MANIFEST_NAME} says version ${version} but ${opts.version} was asked for; re-run model/train.py with --version ${opts.version} (or drop the version argument)`,
    );
  }
  // Blob Storage counts characters, S3 bytes of UTF-8: the byte count holds for both.
  const tooLong = local.manifest.files
    .map((f) => fileBlobName(name, version, f.path))
    .filter((b) => Buffer.byteLength(b) > MAX_BLOB_NAME_LENGTH);
  if (tooLong.length > 0) {
    throw new StoreError(
      `${tooLong[0]} is over the ${MAX_BLOB_NAME_LENGTH}-byte object name limit (Blob Storage and S3); use shorter file paths. Nothing was uploaded`,
    );
  }
  await refuseExistingVersion(store, name, version);
  const result: PublishResult = {
    name,
    version,
    files: local.manifest.files.length,
    uploadedBytes: 0,
    reusedFiles: 0,
    manifestSha256: local.manifestSha256,
  };
  // One file at a time in a fixed order: of two racers with different content, the first to
  // commit the first differing file wins it, the other stops there, so at most one can finish.
  const files = [...local.manifest.files].sort((a, b) => (a.path < b.path ? -1 : 1));
  for (const f of files) {
    const blobName = fileBlobName(name, version, f.path);
    const uploaded = await store.call(`upload ${blobName}`, () =>
      uploadCreateOnly(store.backend, blobName, join(local.dir, f.path), f, opts),
    );
    if (uploaded) result.uploadedBytes += f.size;
    else result.reusedFiles++;
  }
  if (local.signature) await uploadSignature(store, name, version, local.signature, opts.signal); // before model.json: part of the version
  const manifestName = manifestBlobName(name, version);
  const created = await store.call(`publish ${manifestName}`, () =>
    store.backend.createOnly(manifestName, local.manifestBytes, {
      contentType: "application/json",
      metadata: { sha256: local.manifestSha256 },
      ...(opts.signal ? { signal: opts.signal } : {}),
    }),
  );
  if (!created) {
    throw new StoreError(
      `${name} ${version} was published by someone else while this upload ran; versions are immutable: publish a new version`,
    );
  }
  return result;
}

/** Uploads model.sig create-only; the same bytes already there (a re-run) are fine, others are an error. */
async function uploadSignature(store: ModelStore, name: string, version: string, signature: Buffer, signal?: AbortSignal): Promise<void> {
  const blobName = fileBlobName(name, version, SIGNATURE_NAME);
  await store.call(`upload ${blobName}`, async () => {
    const created = await store.backend.createOnly(blobName, signature, { contentType: "application/json", ...(signal ? { signal } : {}) });
    if (created) return;
    const there = (await store.backend.readSmall(blobName, { maxBytes: MAX_SIGNATURE_BYTES, ...(signal ? { signal } : {}) }))?.bytes;
    if (!there?.equals(signature)) {
      throw new StoreError(
        `${blobName} already exists with another signature: another publish of this version is running or stopped half-way; publish a new version`,
      );
    }
  });
}

/** sha256 of an object's `size` bytes, streamed, pinned to `etag` (one replaced meanwhile fails the read). */
async function hashObject(backend: StoreBackend, name: string, size: number, etag: string, signal?: AbortSignal): Promise<string> {
  const body = await backend.readRange(name, { offset: 0, count: size, etag, ...(signal ? { signal } : {}) });
  const hash = createHash("sha256");
  for await (const chunk of body) hash.update(chunk);
  return hash.digest("hex");
}

/** Versions are immutable, and one precedence is one version: 1.0.0+build.2 cannot follow 1.0.0+build.1. */
async function refuseExistingVersion(store: ModelStore, name: string, version: string): Promise<void> {
  const { versions } = groupVersions(name, await store.listBlobs(modelPrefix(name)));
  const published = versions.find((v) => v.version === version)?.files.get(MANIFEST_NAME);
  if (published) {
    const when = published.lastModified ? ` on ${published.lastModified.toISOString()}` : "";
    throw new StoreError(
      `${name} ${version} already exists in ${store.place} (published${when}); versions are immutable: publish a new version`,
    );
  }
  const mine = parseSemver(version)!; // the manifest was validated
  const same = versions.find((v) => v.version !== version && v.files.has(MANIFEST_NAME) && samePrecedence(v.semver, mine));
  if (same) {
    throw new StoreError(
      `${name} ${version} is the same version as ${same.version} already in ${store.place} (build metadata does not order versions); ` +
        `publish a new version such as ${suggestNextVersion(same.version)}`,
    );
  }
}

/**
 * Uploads one file unless an object with that name exists. Returns false when the existing one
 * holds the same content (an earlier, interrupted attempt), throws when it differs. Its
 * metadata proves nothing (anyone who can write can set it): the bytes are read back and hashed,
 * a cost paid only when re-running a publish that stopped half-way.
 */
async function uploadCreateOnly(backend: StoreBackend, name: string, path: string, f: ModelFile, opts: PublishOptions): Promise<boolean> {
  const progress = (opts.progress ?? noProgress)("upload", f.path, f.size);
  const created = await backend.uploadFileCreateOnly(name, path, f.size, {
    onProgress: (loaded) => progress.at(loaded),
    partSize: opts.blockSize ?? 8 * 1024 * 1024,
    concurrency: opts.concurrency ?? 4,
    metadata: { sha256: f.sha256 },
    contentType: "application/octet-stream",
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (created) {
    progress.done();
    return true;
  }
  const there = await backend.head(name, opts.signal);
  if (there && there.size === f.size && (await hashObject(backend, name, f.size, there.etag, opts.signal)) === f.sha256) return false;
  throw new StoreError(
    `${name} already exists with different content: another publish of this version is running or stopped half-way. ` +
      `If none is running, delete the leftovers (${leftoversCommand(backend, name.replace(/[^/]*$/, ""))}) or publish a new version`,
  );
}

/** The command that deletes what a half-way publish left under `prefix`. */
function leftoversCommand(backend: StoreBackend, prefix: string): string {
  const { noun, container } = backend.location;
  return noun === "bucket"
    ? `aws s3 rm s3://${container}/${prefix} --recursive`
    : `az storage blob delete-batch --source ${container} --pattern "${prefix}*"`;
}
