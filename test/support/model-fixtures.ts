/** Model directories and store connections for the model-store tests. */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BlobBackend } from "../../dagger/src/model-store/blob-backend.js";
import { CLI_LABELS } from "../../dagger/src/model-store/cli-args.js";
import { connect, RetryTuning, StoreConfig } from "../../dagger/src/model-store/connect.js";
import { DownloadTuning } from "../../dagger/src/model-store/download.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { Azurite } from "./azurite.js";
import { MODEL_JSON_FIELDS } from "./model-json.js";
import { BackendKind, CONTAINER, startStoreServer, StoreServer } from "./store-servers.js";

export const FAST_RETRY: RetryTuning = { maxTries: 3, retryDelayMs: 10, maxRetryDelayMs: 50 };
/** Short waits for tests; the idle timeout stays well above scheduling hiccups of a loaded machine. */
export const FAST_DOWNLOAD: DownloadTuning = { idleTimeoutMs: 1500, maxResumes: 3, backoffMs: () => 10 };

/** A new temp dir, under `parent` when given (so one cleanup of the parent removes it even if a test fails). */
export function tempDir(prefix = "model-store-", parent = tmpdir()): string {
  return mkdtempSync(join(parent, prefix));
}

/** Writes `files` (path -> content) and a model.json listing them (with the contract's other fields); returns the directory. */
export function writeModelDir(
  dir: string,
  name: string,
  version: string,
  files: Record<string, Buffer | string>,
  extra: Record<string, unknown> = { metrics: { accuracy: 0.97 }, created: "2025-01-01T00:00:00Z" },
): string {
  mkdirSync(dir, { recursive: true });
  const listed = Object.entries(files).map(([path, content]) => {
    const bytes = Buffer.isBuffer(content) ? content : Buffer.from(content);
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
    return { path, sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length };
  });
  writeFileSync(join(dir, "model.json"), JSON.stringify({ name, version, files: listed, ...MODEL_JSON_FIELDS, ...extra }, null, 2) + "\n");
  return dir;
}

export function randomModel(root: string, version: string, size = 256 * 1024, name = "digits-classifier"): string {
  return writeModelDir(join(root, `${name}-${version}-${randomBytes(3).toString("hex")}`), name, version, {
    "model.onnx": randomBytes(size),
    "labels.json": JSON.stringify([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
  });
}

/** A store over Azurite with the account key, optionally through another URL (a fault proxy). */
export function azuriteStore(
  az: Azurite,
  opts: { accountUrl?: string; container?: string; log?: (l: string) => void; retry?: RetryTuning } = {},
): ModelStore {
  const config: StoreConfig = {
    container: opts.container ?? "models",
    auth: { accountUrl: opts.accountUrl ?? az.accountUrl, accountKey: az.key },
    retry: opts.retry ?? FAST_RETRY,
  };
  return new ModelStore(new BlobBackend(connect(config, CLI_LABELS, "write")), opts.log);
}

/** Entries of `dir` other than the expected ones: leftovers of a failed fetch would show here. */
export function strayEntries(dir: string, expected: string[] = []): string[] {
  return readdirSync(dir).filter((e) => !expected.includes(e));
}

/**
 * Mounts a `sizeMb` tmpfs at `dir` (an empty directory): a real small disk that fills up.
 * Needs root (or CAP_SYS_ADMIN); returns an unmount function, or undefined where mounting is
 * not allowed, for the caller to say what it skipped.
 */
export function mountTmpfs(dir: string, sizeMb: number): (() => void) | undefined {
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMb}m,mode=0755`, "tmpfs", dir], { stdio: "ignore" });
  } catch {
    return undefined;
  }
  let mounted = true;
  const unmount = () => {
    if (mounted) execFileSync("umount", ["-l", dir], { stdio: "ignore" });
    mounted = false;
  };
  process.once("exit", unmount); // a failing test must not leave the mount behind
  return unmount;
}

/** Writes `path` until the file system says ENOSPC; returns the bytes written. */
export function fillDisk(path: string): number {
  const fd = openSync(path, "w");
  const chunk = Buffer.alloc(256 * 1024, 1);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOSPC") throw e;
  } finally {
    closeSync(fd);
  }
  return written;
}

/** One test file's store: a server with an empty "models" container or bucket, a temp root, a client. */
export interface StoreSuite {
  server: StoreServer;
  /** The Azurite of a Blob suite (for cases only Blob Storage has). */
  az: Azurite;
  root: string;
  store: ModelStore;
}

/** Starts a file's store (for `test.before`) on `kind` (Azurite by default); `stopStoreSuite` takes it down (for `test.after`). */
export async function startStoreSuite(kind: BackendKind = "blob"): Promise<StoreSuite> {
  const server = await startStoreServer(kind);
  await server.createContainer(CONTAINER);
  return { server, az: server.azurite!, root: tempDir(), store: server.store() };
}

export async function stopStoreSuite(s: Partial<StoreSuite>): Promise<void> {
  await (s.server ?? s.az)?.stop();
  if (s.root) rmSync(s.root, { recursive: true, force: true });
}

/** The suite's title for one backend: what it runs against. */
export function backendTitle(kind: BackendKind): string {
  return kind === "blob" ? "Blob Storage (Azurite)" : "S3 (versitygw)";
}
