/**
 * The marker fetch writes into every directory it creates: first thing in its temp directory
 * (who is writing it), then completed with the sha256 of the model.json it holds. It is how a
 * later fetch knows a directory is its own: a target it may replace, or the leftover of a fetch
 * that was killed. Directories without it are never deleted.
 */
import { lstat, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join, relative, sep } from "node:path";
import { FETCH_MARKER_NAME, MANIFEST_NAME, MAX_MANIFEST_BYTES, parseManifest, SIGNATURE_NAME } from "./manifest.js";
import { shown } from "./printable.js";
import { sha256 } from "./store.js";

const TOOL = "ai-app-pipeline model-store fetch";
const MAX_MARKER_BYTES = 64 * 1024;

interface FetchMarker {
  tool: typeof TOOL;
  /** The writing process, to tell a running fetch's temp directory from a dead one's. */
  pid: number;
  host: string;
  /** Linux boot id: after a reboot no earlier fetch can still be running. */
  boot?: string;
  started: string;
  /** sha256 of the model.json the directory holds, once complete. */
  manifestSha256?: string;
  /** sha256 of the model.sig fetch wrote beside it (signed versions only). */
  signatureSha256?: string;
}

/** Writes (or completes, with `manifestSha256`) the marker of a directory this process is filling. */
export async function writeFetchMarker(dir: string, manifestSha256?: string, signature?: Buffer): Promise<void> {
  const previous = manifestSha256 ? await readFetchMarker(dir) : undefined;
  const boot = await bootId();
  const marker: FetchMarker = {
    tool: TOOL,
    pid: process.pid,
    host: hostname(),
    ...(boot ? { boot } : {}),
    started: previous?.started ?? new Date().toISOString(),
    ...(manifestSha256 ? { manifestSha256 } : {}),
    ...(signature ? { signatureSha256: sha256(signature) } : {}),
  };
  await writeFile(join(dir, FETCH_MARKER_NAME), JSON.stringify(marker, null, 2) + "\n");
}

async function readFetchMarker(dir: string): Promise<FetchMarker | undefined> {
  const path = join(dir, FETCH_MARKER_NAME);
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile() || st.size > MAX_MARKER_BYTES) return undefined;
  try {
    const m = JSON.parse(await readFile(path, "utf8")) as Partial<FetchMarker>;
    if (m.tool !== TOOL || !Number.isSafeInteger(m.pid) || typeof m.host !== "string") return undefined;
    return m as FetchMarker;
  } catch {
    return undefined;
  }
}

async function bootId(): Promise<string | undefined> {
  return (await readFile("/proc/sys/kernel/random/boot_id", "utf8").catch(() => ""))?.trim() || undefined;
}

/** True only when the process that wrote `m` provably no longer runs (same machine: rebooted since, or no such pid). */
async function writerIsGone(m: FetchMarker): Promise<boolean> {
  if (m.host !== hostname()) return false; // another machine sharing the disk: cannot tell
  const boot = await bootId();
  if (m.boot && boot && m.boot !== boot) return true;
  try {
    process.kill(m.pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ESRCH"; // EPERM: running, as another user
  }
}

/**
 * Removes what killed fetches of `target` left beside it: `.<name>.partial-*` directories whose
 * writer is gone, and `.<name>.old-*` ones (a replaced model awaiting deletion) once the target
 * is back in place. Only directories holding our marker; a failure here never fails the fetch.
 */
export async function removeLeftovers(parent: string, base: string, log: (line: string) => void): Promise<void> {
  const entries = await readdir(parent).catch(() => [] as string[]);
  const targetPresent = entries.includes(base);
  for (const name of entries) {
    const partial = name.startsWith(`.${base}.partial-`);
    const old = name.startsWith(`.${base}.old-`);
    if (!partial && !old) continue;
    const dir = join(parent, name);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) continue;
    const marker = await readFetchMarker(dir);
    if (!marker) continue;
    if (partial ? !(await writerIsGone(marker)) : !targetPresent) continue;
    try {
      await rm(dir, { recursive: true, force: true });
      log(`removed ${dir}, left by a fetch that was stopped before it finished`);
    } catch (e) {
      log(`could not remove ${dir}, left by an earlier fetch: ${(e as Error).message}`);
    }
  }
}

/**
 * Why fetch must not replace `target`, or undefined when it may: absent, empty, or a directory
 * fetch wrote (its marker, its model.json unchanged) holding nothing but what that manifest lists.
 */
export async function replaceProblem(target: string): Promise<string | undefined> {
  const st = await lstat(target).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isDirectory()) return "it exists and is not a directory";
  if ((await readdir(target)).length === 0) return undefined;
  const marker = await readFetchMarker(target);
  if (!marker?.manifestSha256) {
    return `fetch did not write it (it has no ${FETCH_MARKER_NAME}); choose a new or empty directory, or remove it yourself`;
  }
  const manifestPath = join(target, MANIFEST_NAME);
  const size = (await lstat(manifestPath).catch(() => undefined))?.size;
  const bytes = size !== undefined && size <= MAX_MANIFEST_BYTES ? await readFile(manifestPath).catch(() => undefined) : undefined;
  if (!bytes || sha256(bytes) !== marker.manifestSha256) {
    return `its ${MANIFEST_NAME} changed after it was fetched; choose a new or empty directory, or remove it yourself`;
  }
  const listed = parseManifest(bytes).files.map((f) => f.path);
  // model.sig counts as fetch's own only while it is the one fetch wrote (its sha256 in the marker)
  const sig = marker.signatureSha256 ? await readFile(join(target, SIGNATURE_NAME)).catch(() => undefined) : undefined;
  const ours = sig && sha256(sig) === marker.signatureSha256 ? [SIGNATURE_NAME] : [];
  const foreign = await filesNotIn(target, [...listed, ...ours]);
  if (foreign.length > 0) {
    const named = foreign.slice(0, 5).map(shown).join(", ") + (foreign.length > 5 ? ` and ${foreign.length - 5} more` : "");
    return `it holds files fetch did not write (${named}); move them away or choose another directory`;
  }
  return undefined;
}

/** Entries of `dir` that are neither the marker, the manifest, a listed file nor a folder on the way to one. */
async function filesNotIn(dir: string, listed: string[]): Promise<string[]> {
  const files = new Set([FETCH_MARKER_NAME, MANIFEST_NAME, ...listed]);
  const folders = new Set(
    listed.flatMap((p) =>
      p
        .split("/")
        .slice(0, -1)
        .map((_, i, parts) => parts.slice(0, i + 1).join("/")),
    ),
  );
  const foreign: string[] = [];
  const foreignFolders: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = relative(dir, join(e.parentPath, e.name)).split(sep).join("/");
    if (foreignFolders.some((f) => path.startsWith(`${f}/`))) continue; // named once, as its folder
    if (e.isDirectory() ? folders.has(path) : e.isFile() && files.has(path)) continue;
    if (e.isDirectory()) foreignFolders.push(path);
    foreign.push(e.isDirectory() ? `${path}/` : path);
  }
  return foreign.sort();
}
