/**
 * A copy of the repository as git sees it (tracked files plus untracked, not-ignored ones, from the
 * working tree), without .git: a module the real engine loads like this one, whose files a check
 * may change without touching the shared working tree.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./session.js";
import { tempDir } from "./temp.js";

/** Copies the repository into a fresh temp dir (removed when the process exits); returns its path. */
export function copyRepository(prefix = "e2e-repo-"): string {
  const dest = tempDir(prefix);
  const listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: ROOT, encoding: "utf8" });
  for (const rel of listed.split("\0")) {
    if (!rel) continue;
    const from = join(ROOT, rel);
    if (!existsSync(from)) continue; // deleted in the working tree
    const to = join(dest, rel);
    mkdirSync(dirname(to), { recursive: true });
    const st = lstatSync(from);
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(from), to);
    else if (st.isFile()) copyFileSync(from, to);
  }
  return dest;
}

/** Replaces exactly one occurrence of `from` in a file of the copy; throws when it is not there once. */
export function replaceOnce(root: string, rel: string, from: string, to: string): void {
  const file = join(root, rel);
  const text = readFileSync(file, "utf8");
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`${rel}: expected exactly one ${JSON.stringify(from)}`);
  writeFileSync(file, text.slice(0, at) + to + text.slice(at + from.length));
}
