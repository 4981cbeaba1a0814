/**
 * A resolved version to a local directory that appears only once every file is verified:
 * everything goes to a temp dir beside the target, then one rename. Files already present
 * (in the target from an earlier fetch, or in the content cache keyed by sha256) are
 * re-verified and linked instead of downloaded, so an unchanged model moves 0 bytes.
 */
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { DEFAULT_DOWNLOAD, downloadVerified, DownloadTuning } from "./download.js";
import { StoreError } from "./errors.js";
import { exists, fileMatches, linkOrCopy } from "./local-files.js";
import { MANIFEST_NAME } from "./manifest.js";
import { ModelStore, ResolvedModel } from "./store.js";

export interface FetchOptions {
  /** Content cache directory (files stored as sha256/<hex>); none when undefined. */
  cacheDir?: string;
  download?: DownloadTuning;
  signal?: AbortSignal;
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
}

export async function fetchModel(store: ModelStore, model: ResolvedModel, targetDir: string, opts: FetchOptions = {}): Promise<FetchResult> {
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
  if (await holdsExactly(target, model)) {
    result.upToDate = true;
    result.reusedBytes = model.manifest.files.reduce((n, f) => n + f.size, 0);
    return result;
  }
  await assertReplaceable(target);
  await mkdir(dirname(target), { recursive: true });
  const temp = await mkdtemp(join(dirname(target), `.${basename(target)}.partial-`));
  try {
    await chmod(temp, 0o755); // mkdtemp makes it 0700; the model must stay readable by the app's non-root user
    for (const { file, blobName, etag } of model.files) {
      const dest = join(temp, file.path);
      await mkdir(dirname(dest), { recursive: true });
      const local = [join(target, file.path), ...(opts.cacheDir ? [cachePath(opts.cacheDir, file.sha256)] : [])];
      if (await reuseVerified(local, file.size, file.sha256, dest)) {
        result.reusedBytes += file.size;
      } else {
        result.resumes += await store.call(`download ${blobName}`, () =>
          downloadVerified(store.blob(blobName), file, etag, dest, {
            ...(opts.download ?? DEFAULT_DOWNLOAD),
            ...(opts.signal ? { signal: opts.signal } : {}),
            onBytes: (n) => (result.downloadedBytes += n),
            log: store.log,
          }),
        );
      }
      if (opts.cacheDir) await addToCache(opts.cacheDir, file.sha256, dest);
    }
    await writeFile(join(temp, MANIFEST_NAME), model.manifestBytes);
    await swapInto(temp, target);
  } catch (e) {
    await rm(temp, { recursive: true, force: true });
    throw e;
  }
  return result;
}

export function cachePath(cacheDir: string, sha256: string): string {
  return join(cacheDir, "sha256", sha256);
}

/** The target's model.json is byte-identical and every listed file verifies. */
async function holdsExactly(target: string, model: ResolvedModel): Promise<boolean> {
  const current = await readFile(join(target, MANIFEST_NAME)).catch(() => undefined);
  if (!current || !current.equals(model.manifestBytes)) return false;
  for (const f of model.manifest.files) {
    if (!(await fileMatches(join(target, f.path), f.size, f.sha256))) return false;
  }
  return true;
}

/** Only an absent or empty directory, or an earlier fetch (it has a model.json), may be replaced. */
async function assertReplaceable(target: string): Promise<void> {
  const st = await lstat(target).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) throw new StoreError(`refusing to replace ${target}: it exists and is not a directory`);
  const entries = await readdir(target);
  if (entries.length > 0 && !entries.includes(MANIFEST_NAME)) {
    throw new StoreError(`refusing to replace ${target}: it is not empty and holds no ${MANIFEST_NAME} (not a fetched model); choose a new or empty directory`);
  }
}

async function reuseVerified(candidates: string[], size: number, sha256: string, dest: string): Promise<boolean> {
  for (const c of candidates) {
    if (await fileMatches(c, size, sha256)) {
      await linkOrCopy(c, dest);
      return true;
    }
  }
  return false;
}

async function addToCache(cacheDir: string, sha256: string, verified: string): Promise<void> {
  const entry = cachePath(cacheDir, sha256);
  if (await exists(entry)) return;
  await mkdir(dirname(entry), { recursive: true });
  // Stage then rename, so a reader never sees a half-copied cache entry.
  const staged = `${entry}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await linkOrCopy(verified, staged);
    await rename(staged, entry);
  } catch {
    await rm(staged, { force: true }); // the cache is an optimisation: never fail a fetch over it
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
  const old = `${target}.old-${randomBytes(6).toString("hex")}`;
  await rename(target, old);
  try {
    await rename(temp, target);
  } catch (e) {
    await rename(old, target);
    throw e;
  }
  await rm(old, { recursive: true, force: true });
}
