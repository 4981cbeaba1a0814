/**
 * A resolved version to a local directory that appears only once every file is verified:
 * everything goes to a temp dir beside the target, then one rename. Files already present
 * (in the target from an earlier fetch, or in the content cache keyed by sha256) are copied
 * (cloned where the file system can) and re-verified instead of downloaded, so an unchanged
 * model moves 0 bytes. Sizes are checked before the first byte (a maximum per file, the total
 * against the free space); only directories fetch wrote are ever replaced or cleaned up.
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rename, rm, statfs, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DEFAULT_DOWNLOAD, downloadVerified, DownloadTuning } from "./download.js";
import { noProgress, ProgressReporter } from "./progress.js";
import { asDiskError, DiskError, StoreError } from "./errors.js";
import { removeLeftovers, replaceProblem, writeFetchMarker } from "./fetch-marker.js";
import { cloneOrCopy, exists, fileMatches } from "./local-files.js";
import { MANIFEST_NAME, MAX_SIGNATURE_BYTES, ModelFile, SIGNATURE_NAME } from "./manifest.js";
import { humanBytes } from "./sizes.js";
import { ModelStore, ResolvedModel } from "./store.js";

/** Largest model file fetch accepts unless told otherwise (--max-file-size, MODEL_STORE_MAX_FILE_SIZE). */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 ** 3;
/** Linux's PATH_MAX, terminating NUL included. */
const PATH_MAX = 4096;
/** Copy errors that come from the destination's disk, not from the file being copied. */
const WRITE_FAILURES = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EIO", "EROFS"]);
/** The cache is an optimisation: it never takes the last 5% of its file system. */
export const CACHE_FREE_RESERVE = 0.05;

export interface FetchOptions {
  /** Content cache directory (files stored as sha256/<hex>); none when undefined. */
  cacheDir?: string;
  /** Refuse any file larger than this, before downloading anything (default DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  download?: DownloadTuning;
  signal?: AbortSignal;
  /** Bytes received per file, for people watching a long download. */
  progress?: ProgressReporter;
  /**
   * Checks the complete directory (model.sig included) before it is moved into place and returns
   * the signer; a rejection leaves nothing behind. Set when a public key makes verification mandatory.
   */
  verify?: (dir: string) => Promise<string>;
}

export interface FetchResult {
  name: string;
  version: string;
  target: string;
  manifestSha256: string;
  files: number;
  /** Model bytes received from the store. */
  downloadedBytes: number;
  /** Model bytes taken from the target or the cache after re-verification. */
  reusedBytes: number;
  /** The target already held exactly this version; nothing was touched. */
  upToDate: boolean;
  resumes: number;
  /** Who signed it, when `verify` was given. */
  signer?: string;
}

export async function fetchModel(
  store: ModelStore,
  model: ResolvedModel,
  targetDir: string,
  opts: FetchOptions = {},
): Promise<FetchResult> {
  const target = resolve(targetDir);
  const result: FetchResult = {
    name: model.name,
    version: model.version,
    target,
    manifestSha256: model.manifestSha256,
    files: model.files.length,
    downloadedBytes: 0,
    reusedBytes: 0,
    upToDate: false,
    resumes: 0,
  };
  refuseOversized(model, opts.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES);
  const signature = await readSignature(store, model, opts.signal);
  if (await holdsExactly(target, model, signature)) {
    // Already here from an earlier fetch: still checked when a public key asks for it.
    if (opts.verify) result.signer = await opts.verify(target);
    result.upToDate = true;
    result.reusedBytes = model.manifest.files.reduce((n, f) => n + f.size, 0);
    return result;
  }

  const problem = await replaceProblem(target);
  if (problem) throw new StoreError(`refusing to replace ${target}: ${problem}`);
  const parent = dirname(target);
  await onDisk(parent, () => mkdir(parent, { recursive: true }));
  await removeLeftovers(parent, basename(target), store.log);
  await refuseWithoutRoom(parent, model);
  const temp = await onDisk(parent, () => mkdtemp(join(parent, `.${basename(target)}.partial-`)));
  const downloaded: ModelFile[] = [];
  const fromTarget: ModelFile[] = [];
  try {
    refuseLongPaths(temp, model);
    await onDisk(temp, () => writeFetchMarker(temp)); // first: a killed fetch's leftovers are recognisable
    await onDisk(temp, () => chmod(temp, 0o755)); // mkdtemp makes it 0700; the model must stay readable by the app's non-root user
    for (const { file, blobName, etag } of model.files) {
      const dest = join(temp, file.path);
      await onDisk(dest, () => mkdir(dirname(dest), { recursive: true }));
      const reused = await reuseVerified(dest, file, [
        { path: join(target, file.path), from: "target" },
        ...(opts.cacheDir ? [{ path: cachePath(opts.cacheDir, file.sha256), from: "cache" as const }] : []),
      ]);
      if (reused) {
        result.reusedBytes += file.size;
        if (reused === "target") fromTarget.push(file);
        continue;
      }
      const progress = (opts.progress ?? noProgress)("download", file.path, file.size);
      result.resumes += await store.call(`download ${blobName}`, () =>
        downloadVerified({ backend: store.backend, name: blobName }, file, etag, dest, {
          ...(opts.download ?? DEFAULT_DOWNLOAD),
          ...(opts.signal ? { signal: opts.signal } : {}),
          onBytes: (n) => {
            result.downloadedBytes += n;
            progress.add(n);
          },
          log: store.log,
        }),
      );
      progress.done();
      downloaded.push(file);
    }
    if (signature) await onDisk(temp, () => writeFile(join(temp, SIGNATURE_NAME), signature));
    await onDisk(temp, () => writeFile(join(temp, MANIFEST_NAME), model.manifestBytes));
    if (opts.verify) result.signer = await opts.verify(temp); // before the move: a refused model never appears
    await onDisk(temp, () => writeFetchMarker(temp, model.manifestSha256, signature));
    await onDisk(target, () => swapInto(temp, target));
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    if (e instanceof DiskError) throw new DiskError(`${e.message}; nothing of this fetch was kept`, e.code);
    throw e;
  }
  if (opts.cacheDir) {
    // Downloads replace whatever the cache held (a damaged entry is how they came to be downloaded).
    for (const f of downloaded) await addToCache(opts.cacheDir, f, join(target, f.path), true, store.log);
    for (const f of fromTarget) await addToCache(opts.cacheDir, f, join(target, f.path), false, store.log);
  }
  return result;
}

export function cachePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, "sha256", sha256);
}

/** Runs a local file operation; a file system error becomes a DiskError naming `path`. */
async function onDisk<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw asDiskError(e, path) ?? e;
  }
}

function refuseOversized(model: ResolvedModel, maxFileBytes: number): void {
  const big = model.manifest.files.find((f) => f.size > maxFileBytes);
  if (big) {
    throw new StoreError(
      `${model.name} ${model.version}: ${big.path} is ${humanBytes(big.size)}, over the maximum file size of ${humanBytes(maxFileBytes)} ` +
        `(--max-file-size, MODEL_STORE_MAX_FILE_SIZE); nothing was downloaded. Raise it only for a model you expect to be that large`,
    );
  }
}

/** Every file, the manifest and the marker must fit in the free space of the target's file system. */
async function refuseWithoutRoom(parent: string, model: ResolvedModel): Promise<void> {
  const fs = await statfs(parent).catch(() => undefined);
  if (!fs) return; // no statfs here: the write itself will tell
  const blocks = (n: number) => Math.ceil(n / fs.bsize) * fs.bsize;
  const needed = model.manifest.files.reduce((n, f) => n + blocks(f.size), 0) + blocks(model.manifestBytes.length) + fs.bsize;
  const free = fs.bavail * fs.bsize;
  if (needed > free) {
    throw new StoreError(
      `not enough free space for ${model.name} ${model.version} in ${parent}: it needs ${humanBytes(needed)}, ${humanBytes(free)} are free; ` +
        `free some space or fetch to another disk (--out); nothing was downloaded`,
    );
  }
}

/** A path the kernel would refuse is refused before downloading, not after. */
function refuseLongPaths(temp: string, model: ResolvedModel): void {
  const long = model.manifest.files.find((f) => Buffer.byteLength(join(temp, f.path)) >= PATH_MAX);
  if (long) {
    throw new StoreError(
      `${model.name} ${model.version}: ${long.path} would be over ${PATH_MAX - 1} bytes as a path under ${dirname(temp)}; fetch to a shorter --out path`,
    );
  }
}

/** model.sig's bytes, pinned to the ETag seen when resolving; undefined for an unsigned version. */
async function readSignature(store: ModelStore, model: ResolvedModel, signal?: AbortSignal): Promise<Buffer | undefined> {
  const sig = model.signature;
  if (!sig) return undefined;
  if (sig.size > MAX_SIGNATURE_BYTES) {
    throw new StoreError(
      `${model.name} ${model.version}: ${SIGNATURE_NAME} is ${humanBytes(sig.size)}, not a signature model/sign_model.py wrote`,
    );
  }
  const read = await store.call(`download ${sig.blobName}`, () =>
    store.backend.readSmall(sig.blobName, { maxBytes: MAX_SIGNATURE_BYTES, etag: sig.etag, ...(signal ? { signal } : {}) }),
  );
  if (!read) throw new StoreError(`${sig.blobName} went away while it was being read; fetch again`);
  return read.bytes;
}

/** The target's model.json and model.sig are byte-identical and every listed file verifies. */
async function holdsExactly(target: string, model: ResolvedModel, signature: Buffer | undefined): Promise<boolean> {
  const current = await readFile(join(target, MANIFEST_NAME)).catch(() => undefined);
  if (!current || !current.equals(model.manifestBytes)) return false;
  const sig = await readFile(join(target, SIGNATURE_NAME)).catch(() => undefined);
  if (signature ? !sig?.equals(signature) : sig !== undefined) return false;
  for (const f of model.manifest.files) {
    if (!(await fileMatches(join(target, f.path), f.size, f.sha256))) return false;
  }
  return true;
}

/**
 * Copies the first candidate that holds `file` to `dest`, verifying the copy (not the source,
 * which could change in between). Returns where it came from, or undefined to download it.
 */
async function reuseVerified(
  dest: string,
  file: ModelFile,
  candidates: { path: string; from: "target" | "cache" }[],
): Promise<"target" | "cache" | undefined> {
  for (const c of candidates) {
    if (!(await exists(c.path))) continue;
    try {
      await cloneOrCopy(c.path, dest);
    } catch (e) {
      await rm(dest, { force: true });
      // A full disk fails the fetch; an unreadable or vanished candidate is only not reused.
      if (WRITE_FAILURES.has((e as NodeJS.ErrnoException).code ?? "")) throw asDiskError(e, dest)!;
      continue;
    }
    if (await fileMatches(dest, file.size, file.sha256)) return c.from;
    await rm(dest, { force: true });
  }
  return undefined;
}

/** Puts a verified copy of `file` in the cache (staged, then renamed); `replace` overwrites an existing entry. Never fails the fetch. */
async function addToCache(
  cacheDir: string,
  file: ModelFile,
  verified: string,
  replace: boolean,
  log: (line: string) => void,
): Promise<void> {
  const entry = cachePath(cacheDir, file.sha256);
  if (!replace && (await exists(entry))) return;
  const staged = `${entry}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await mkdir(dirname(entry), { recursive: true });
    const fs = await statfs(dirname(entry));
    if (fs.bavail * fs.bsize - file.size < fs.blocks * fs.bsize * CACHE_FREE_RESERVE) {
      log(`not caching ${file.path}: the cache's disk would be left with less than ${CACHE_FREE_RESERVE * 100}% free`);
      return;
    }
    await cloneOrCopy(verified, staged);
    await rename(staged, entry);
  } catch (e) {
    await rm(staged, { force: true });
    log(`not caching ${file.path}: ${(e as Error).message}`);
  }
}

/** Puts the complete `temp` at `target`, replacing an earlier fetch there. */
async function swapInto(temp: string, target: string): Promise<void> {
  try {
    await rename(temp, target); // absent or empty target
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
  }
  // Hidden and marked (it holds the earlier fetch's marker): a later fetch removes it if this one is killed here.
  const old = join(dirname(target), `.${basename(target)}.old-${randomBytes(6).toString("hex")}`);
  await rename(target, old);
  try {
    await rename(temp, target);
  } catch (e) {
    await rename(old, target);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}
