/** Local file helpers shared by fetch and publish: streaming hashes, independent copies. */
import { createHash } from "node:crypto";
import { constants, createReadStream } from "node:fs";
import { copyFile, lstat } from "node:fs/promises";

/** sha256 of a file, streamed (never the whole file in memory). */
export async function hashFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** True when `path` is a regular file of `size` bytes whose sha256 is `sha256`. */
export async function fileMatches(path: string, size: number, sha256: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size !== size) return false;
  return (await hashFile(path)) === sha256;
}

/**
 * `from` at the new name `to` as an independent file: a copy-on-write clone where the file system
 * offers one (btrfs, XFS: instant, no extra space until written), a plain copy elsewhere. Never a
 * hard link: writing to a fetched file must not change the cache entry it came from, or the reverse.
 */
export async function cloneOrCopy(from: string, to: string): Promise<void> {
  await copyFile(from, to, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
}

export async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
