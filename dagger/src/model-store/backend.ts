/**
 * The one seam between the model store and the service that holds it: the few object operations
 * the store's contract is built from, each with the guarantee it needs. Azure Blob Storage
 * (blob-backend.ts) and Amazon S3 or an S3-compatible store (s3-backend.ts) implement it; every
 * rule of the store (versions, manifests, aliases, yank marks, verified resumable fetch, publish
 * order) lives above it, once.
 *
 * Conditional writes are the heart of it: a create-only write lands only when nothing has that
 * name (Blob: If-None-Match: *; S3: PutObject / CompleteMultipartUpload with If-None-Match: *),
 * a replace lands only when the object is still at the ETag that was read (If-Match), and of two
 * racing writers exactly one succeeds. A read pinned to an ETag fails with EtagChanged instead
 * of mixing the bytes of two versions.
 */
import type { StoreLocation } from "./errors.js";
import type { BlobEntry } from "./versions.js";

export type { StoreLocation };

/** The object is no longer at the ETag a pinned read or a conditional replace named. */
export class EtagChanged extends Error {
  override name = "EtagChanged";
}

export interface WriteOptions {
  contentType: string;
  /** User metadata (Blob metadata, S3 x-amz-meta-*): informative only, never trusted. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
}

export interface UploadOptions extends WriteOptions {
  /** Bytes per block or part; files up to this size go in one request. */
  partSize: number;
  /** Blocks or parts in flight at once. */
  concurrency: number;
  /** Bytes of this file sent so far. */
  onProgress?: (loaded: number) => void;
}

export interface StoreBackend {
  readonly location: StoreLocation;
  /** `e` as a StoreError saying what failed while doing `action`, and what to do. */
  explain(e: unknown, action: string): Error;
  /** Every object under `prefix`, with size and ETag. */
  list(prefix: string): Promise<BlobEntry[]>;
  /** Size and ETag of one object; undefined when there is none. */
  head(name: string, signal?: AbortSignal): Promise<{ size: number; etag: string } | undefined>;
  /**
   * Bytes [offset, offset + count) of `name`, streamed, only while the object is still at `etag`
   * (EtagChanged otherwise). No resume here: the caller resumes from where the stream stopped.
   */
  readRange(name: string, range: { offset: number; count: number; etag: string; signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
  /**
   * A small object whole, at most `maxBytes + 1` bytes of it (so a caller can tell "too large"),
   * with the ETag read; pinned to `etag` when given (EtagChanged). Undefined when there is none.
   */
  readSmall(
    name: string,
    opts: { maxBytes: number; etag?: string; signal?: AbortSignal },
  ): Promise<{ bytes: Buffer; etag: string } | undefined>;
  /** Writes `body` only if nothing has that name yet; false when something has. */
  createOnly(name: string, body: Buffer, opts: WriteOptions): Promise<boolean>;
  /** Replaces `name` only while it is at `etag`; false when it changed (or went) meanwhile. */
  replaceIfMatch(name: string, body: Buffer, etag: string, opts: WriteOptions): Promise<boolean>;
  /** Uploads the local file `path` (`size` bytes) only if nothing has that name yet, in parts when large; false when something has. */
  uploadFileCreateOnly(name: string, path: string, size: number, opts: UploadOptions): Promise<boolean>;
  /** Creates the container or bucket when it does not exist (a fresh store). */
  createContainerIfMissing(): Promise<void>;
}
