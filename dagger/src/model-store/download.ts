/**
 * One stored object to one new file, streamed: sha256 computed on the way, a lost or stalled
 * connection resumed with a ranged read from the current offset (pinned to the object's ETag,
 * so an object replaced meanwhile fails instead of mixing bytes), size and hash verified at the end.
 * The same loop for Blob Storage and S3: it asks the backend for byte ranges only.
 *
 * Disk errors (full disk, quota, file size limit) are not network errors: the first one ends the
 * download at once, whatever it was waiting for, and is reported as a DiskError.
 *
 * Why not the SDK's own resume (`maxRetryRequests`): when a connection is cut, Node's response
 * emits 'aborted' before 'error', and the SDK's RetriableReadableStream turns 'aborted' into a
 * final AbortError instead of a retry (seen with @azure/storage-blob 12.34 on Node 24). So the
 * resume loop lives here, tested against a proxy that cuts connections.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createWriteStream, WriteStream } from "node:fs";
import { finished } from "node:stream/promises";
import { EtagChanged, StoreBackend } from "./backend.js";
import { asDiskError, DiskError, StoreError } from "./errors.js";
import { ModelFile } from "./manifest.js";

export interface DownloadTuning {
  /** Abort and resume when no byte arrives for this long (covers stalls before and after headers). */
  idleTimeoutMs: number;
  /** How many times one file may resume after a lost connection before giving up. */
  maxResumes: number;
  /** Delay before resume number `n` (1-based). */
  backoffMs: (n: number) => number;
}

export const DEFAULT_DOWNLOAD: DownloadTuning = {
  idleTimeoutMs: 30_000,
  maxResumes: 8,
  backoffMs: (n) => Math.min(250 * 2 ** (n - 1), 8_000),
};

export interface DownloadOptions extends DownloadTuning {
  signal?: AbortSignal;
  /** Called with the byte count of every chunk received (network bytes of model data). */
  onBytes?: (n: number) => void;
  log?: (line: string) => void;
}

/** Up to this much is queued for the disk: absorbs short disk stalls without holding the network back. */
const WRITE_BUFFER = 8 * 1024 * 1024;

class IdleTimeout extends Error {
  override name = "IdleTimeout";
}

/** A failure after which the download can go on from `offset` (connection lost, stalled, cut short). */
class Resumable extends Error {
  constructor(
    override readonly cause: unknown,
    readonly offset: number,
  ) {
    super(reason(cause));
  }
}

/** The new file being written. Its first error is kept as a DiskError, which ends the download. */
class FileSink {
  readonly out: WriteStream;
  failure?: DiskError;
  private abandoned = false;

  constructor(readonly path: string) {
    this.out = createWriteStream(path, { flags: "wx", highWaterMark: WRITE_BUFFER });
    // Registered first, so `failure` is set before any once()/finished() sees the same error.
    this.out.on("error", (e) => {
      if (!this.abandoned) this.failure ??= asDiskError(e, path) ?? new DiskError(`cannot write ${path}: ${String(e)}`, "EUNKNOWN");
    });
  }

  /** Stops writing after another failure; what destroying the stream reports is not a disk error. */
  async abandon(): Promise<void> {
    this.abandoned = true;
    this.out.destroy();
    await finished(this.out).catch(() => {});
  }

  /** Writes `chunk`; waits while the disk catches up (cancellable through `signal`); throws the disk error at once. */
  async write(chunk: Buffer, signal: AbortSignal, waiting: (on: boolean) => void): Promise<void> {
    this.check();
    if (this.out.write(chunk)) return;
    this.check(); // a stream that already failed never emits "drain"
    waiting(true);
    try {
      await once(this.out, "drain", { signal });
    } finally {
      waiting(false);
    }
    this.check();
  }

  check(): void {
    if (this.failure) throw this.failure;
  }
}

/** Where a download reads from: one object of a backend. */
export interface DownloadSource {
  backend: StoreBackend;
  name: string;
}

/** Downloads `file` from `source` into the new file `dest` (which must not exist). Returns the resumes used. */
export async function downloadVerified(
  source: DownloadSource,
  file: ModelFile,
  etag: string,
  dest: string,
  opts: DownloadOptions,
): Promise<number> {
  const sink = new FileSink(dest);
  const out = sink.out;
  const hash = createHash("sha256");
  let offset = 0;
  let resumes = 0;
  try {
    await once(out, "open");
    while (offset < file.size) {
      try {
        offset = await streamRange(source, file, etag, offset, sink, hash, opts);
      } catch (e) {
        if (sink.failure) throw sink.failure;
        if (opts.signal?.aborted) throw new StoreError(`download of ${file.path} cancelled`);
        if (e instanceof EtagChanged) {
          throw new StoreError(`${file.path} changed in the store while it was being downloaded (its ETag no longer matches); fetch again`);
        }
        if (!(e instanceof Resumable)) throw e;
        offset = e.offset;
        if (resumes >= opts.maxResumes) {
          throw new StoreError(
            `download of ${file.path} failed: the connection was lost ${resumes + 1} times (last at byte ${offset} of ${file.size}: ` +
              `${reason(e)}); gave up after ${opts.maxResumes} resumes`,
          );
        }
        resumes++;
        opts.log?.(
          `${file.path}: connection lost at byte ${offset} of ${file.size} (${reason(e)}); resuming (${resumes}/${opts.maxResumes})`,
        );
        await sleep(opts.backoffMs(resumes), opts.signal);
      }
    }
    out.end();
    await finished(out);
  } catch (e) {
    const failure = sink.failure;
    await sink.abandon(); // closed before the caller removes the temp dir
    throw failure ?? e;
  }
  const actual = hash.digest("hex");
  if (offset !== file.size) {
    throw new StoreError(`${file.path}: received ${offset} bytes, model.json says ${file.size}`);
  }
  if (actual !== file.sha256) {
    throw new StoreError(
      `${file.path} does not match model.json: sha256 ${actual} instead of ${file.sha256}; the blob was altered after publishing, nothing was kept`,
    );
  }
  return resumes;
}

/**
 * Streams bytes [offset, size) into `out`; returns the new offset. Failures while the body
 * streams (and idle timeouts) are thrown as resumable, carrying the offset reached.
 */
async function streamRange(
  source: DownloadSource,
  file: ModelFile,
  etag: string,
  offset: number,
  sink: FileSink,
  hash: ReturnType<typeof createHash>,
  opts: DownloadOptions,
): Promise<number> {
  const attempt = new AbortController();
  const cancel = () => attempt.abort();
  opts.signal?.addEventListener("abort", cancel, { once: true });
  // One coarse timer per attempt rather than one per chunk: it aborts when no byte came for idleTimeoutMs.
  let lastProgress = performance.now();
  let waitingOnDisk = false;
  const touch = () => (lastProgress = performance.now());
  const watchdog = setInterval(
    () => {
      if (!waitingOnDisk && performance.now() - lastProgress > opts.idleTimeoutMs) {
        attempt.abort(new IdleTimeout(`no data for ${opts.idleTimeoutMs} ms`));
      }
    },
    Math.max(10, Math.min(1000, opts.idleTimeoutMs / 4)),
  );
  try {
    let body: AsyncIterable<Uint8Array>;
    try {
      body = await source.backend.readRange(source.name, { offset, count: file.size - offset, etag, signal: attempt.signal });
    } catch (e) {
      // Request-level faults were already retried by the pipeline; only our idle timeout resumes.
      if (attempt.signal.reason instanceof IdleTimeout && !opts.signal?.aborted) throw new Resumable(attempt.signal.reason, offset);
      throw e;
    }
    try {
      for await (const bytes of body) {
        const chunk = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        touch();
        if (offset + chunk.length > file.size)
          throw new StoreError(`${file.path}: the store sent more bytes than model.json lists (${file.size})`);
        hash.update(chunk);
        offset += chunk.length;
        opts.onBytes?.(chunk.length);
        // A slow disk is not a stalled connection: the watchdog pauses while the disk catches up.
        await sink.write(chunk, attempt.signal, (on) => {
          waitingOnDisk = on;
          if (!on) touch();
        });
      }
    } catch (e) {
      if (e instanceof StoreError) throw e; // DiskError included: never resumed
      if (sink.failure) throw sink.failure;
      throw new Resumable(attempt.signal.reason instanceof IdleTimeout ? attempt.signal.reason : e, offset);
    }
    if (offset < file.size) throw new Resumable(new Error("the response ended early"), offset);
    return offset;
  } finally {
    clearInterval(watchdog);
    opts.signal?.removeEventListener("abort", cancel);
  }
}

function reason(e: unknown): string {
  if (e instanceof Resumable) return reason(e.cause);
  const err = e as { message?: string; code?: string };
  return (err?.code ? `${err.code} ` : "") + (err?.message ?? String(e)).split("\n")[0];
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new StoreError("cancelled"));
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => (clearTimeout(t), reject(new StoreError("cancelled"))), { once: true });
  });
}
