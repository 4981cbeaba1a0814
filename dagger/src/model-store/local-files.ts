/** Local file helpers shared by fetch and publish: streaming hashes, links with a copy fallback. */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { copyFile, link, lstat } from "node:fs/promises";

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

/** Hard-links `from` to the new name `to`, copying when a link is impossible (other filesystem). */
export async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EEXIST") throw e;
    await copyFile(from, to);
  }
}

export async function exists(path: string): Promise<boolean> {
  return (await lstat(path).catch(() => undefined)) !== undefined;
}
