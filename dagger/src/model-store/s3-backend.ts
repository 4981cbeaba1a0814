/**
 * The store's backend on Amazon S3 or an S3-compatible store (backend.ts), with the AWS SDK for
 * JavaScript v3. S3's own conditional writes carry the contract: PutObject (and, for large files,
 * CompleteMultipartUpload through @aws-sdk/lib-storage) with If-None-Match: * creates only,
 * PutObject with If-Match: <ETag> replaces only that version; a condition that does not hold is
 * 412 PreconditionFailed. AWS may instead answer 409 ConditionalRequestConflict to a conditional
 * write racing another write of the key: the write did not land and AWS says to send it again,
 * which is done here a few times (the next try lands, or meets the other write and gets 412).
 * Reads are GetObject with Range and If-Match (412 once the object changed).
 */
import { createReadStream } from "node:fs";
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { EtagChanged, StoreBackend, StoreLocation, UploadOptions, WriteOptions } from "./backend.js";
import { StoreError } from "./errors.js";
import { explainS3Error, isConditionalConflict, isNotFound, isPreconditionFailed, s3Code } from "./s3-errors.js";
import type { BlobEntry } from "./versions.js";

/** S3's smallest part (all but the last) of a multipart upload. */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** Tries of one conditional write that AWS answered with 409 ConditionalRequestConflict. */
export const CONFLICT_TRIES = 4;

export class S3Backend implements StoreBackend {
  constructor(
    readonly client: S3Client,
    readonly location: StoreLocation,
    readonly region: string,
    /** Delay before retry `n` (1-based) of a write that met 409 ConditionalRequestConflict. */
    private readonly conflictDelayMs: (n: number) => number = (n) => 100 * 2 ** (n - 1),
  ) {}

  get bucket(): string {
    return this.location.container;
  }

  explain(e: unknown, action: string): Error {
    if (e instanceof EtagChanged) return new StoreError(`could not ${action}: ${e.message}; run again`);
    return explainS3Error(e, { action, ...this.location });
  }

  async list(prefix: string): Promise<BlobEntry[]> {
    const out: BlobEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ...(token ? { ContinuationToken: token } : {}) }),
      );
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        out.push({ name: o.Key, size: o.Size ?? 0, etag: o.ETag ?? "", ...(o.LastModified ? { lastModified: o.LastModified } : {}) });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async head(name: string, signal?: AbortSignal): Promise<{ size: number; etag: string } | undefined> {
    try {
      const h = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: name }), signal ? { abortSignal: signal } : {});
      return { size: h.ContentLength ?? 0, etag: h.ETag ?? "" };
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async readRange(
    name: string,
    range: { offset: number; count: number; etag: string; signal?: AbortSignal },
  ): Promise<AsyncIterable<Uint8Array>> {
    if (range.count <= 0) return (async function* () {})();
    try {
      const res = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: name,
          Range: `bytes=${range.offset}-${range.offset + range.count - 1}`,
          IfMatch: range.etag,
        }),
        range.signal ? { abortSignal: range.signal } : {},
      );
      return res.Body as AsyncIterable<Uint8Array>;
    } catch (e) {
      if (isPreconditionFailed(e)) throw new EtagChanged(`${name} changed (its ETag no longer matches)`);
      throw e;
    }
  }

  async readSmall(
    name: string,
    opts: { maxBytes: number; etag?: string; signal?: AbortSignal },
  ): Promise<{ bytes: Buffer; etag: string } | undefined> {
    let res;
    try {
      res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: name, ...(opts.etag ? { IfMatch: opts.etag } : {}) }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
    } catch (e) {
      if (opts.etag && isPreconditionFailed(e)) throw new EtagChanged(`${name} changed while it was being read`);
      if (!opts.etag && isNotFound(e)) return undefined;
      throw e;
    }
    // At most maxBytes + 1 bytes, as the Blob side's ranged read: enough to tell "too large".
    const body = res.Body as AsyncIterable<Uint8Array> & { destroy?: () => void };
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const c of body) {
      chunks.push(Buffer.from(c));
      total += c.byteLength;
      if (total > opts.maxBytes) {
        body.destroy?.();
        break;
      }
    }
    return { bytes: Buffer.concat(chunks).subarray(0, opts.maxBytes + 1), etag: res.ETag ?? "" };
  }

  async createOnly(name: string, body: Buffer, opts: WriteOptions): Promise<boolean> {
    return this.put(name, body, { IfNoneMatch: "*" }, opts);
  }

  async replaceIfMatch(name: string, body: Buffer, etag: string, opts: WriteOptions): Promise<boolean> {
    return this.put(name, body, { IfMatch: etag }, opts);
  }

  private async put(
    name: string,
    body: Buffer,
    condition: { IfNoneMatch?: string; IfMatch?: string },
    opts: WriteOptions,
  ): Promise<boolean> {
    return this.conditional(name, opts.signal, async () => {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: name,
          Body: body,
          ContentLength: body.length,
          ContentType: opts.contentType,
          ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          ...condition,
        }),
        opts.signal ? { abortSignal: opts.signal } : {},
      );
    });
  }

  async uploadFileCreateOnly(name: string, path: string, size: number, opts: UploadOptions): Promise<boolean> {
    return this.conditional(name, opts.signal, async () => {
      const abort = new AbortController();
      const stop = () => abort.abort();
      opts.signal?.addEventListener("abort", stop, { once: true });
      try {
        const upload = new Upload({
          client: this.client,
          params: {
            Bucket: this.bucket,
            Key: name,
            Body: createReadStream(path),
            ContentLength: size,
            ContentType: opts.contentType,
            IfNoneMatch: "*", // on the single PutObject, or on CompleteMultipartUpload
            ...(opts.metadata ? { Metadata: opts.metadata } : {}),
          },
          partSize: Math.max(opts.partSize, MIN_PART_SIZE),
          queueSize: opts.concurrency,
          leavePartsOnError: false, // a failed upload aborts its multipart upload: no parts left billed
          abortController: abort,
        });
        if (opts.onProgress) upload.on("httpUploadProgress", (p) => p.loaded !== undefined && opts.onProgress!(p.loaded));
        await upload.done();
      } finally {
        opts.signal?.removeEventListener("abort", stop);
      }
    });
  }

  /**
   * Runs one conditional write: true when it landed, false when its condition did not hold (412;
   * a replace whose object is gone, 404). A 409 ConditionalRequestConflict is sent again.
   */
  private async conditional(name: string, signal: AbortSignal | undefined, write: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return true;
      } catch (e) {
        if (isPreconditionFailed(e) || s3Code(e) === "NoSuchKey") return false;
        if (!isConditionalConflict(e) || signal?.aborted) throw e;
        if (attempt >= CONFLICT_TRIES) {
          throw new StoreError(
            `${name}: the S3 service answered ${CONFLICT_TRIES} tries of this conditional write with 409 ${s3Code(e) || "Conflict"} ` +
              `(another write of the same object kept racing it); nothing was written by this one: run again`,
          );
        }
        await new Promise((r) => setTimeout(r, this.conflictDelayMs(attempt)));
      }
    }
  }

  async createContainerIfMissing(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (e) {
      if (!isNotFound(e) && s3Code(e) !== "NoSuchBucket") throw e;
    }
    try {
      await this.client.send(
        new CreateBucketCommand({
          Bucket: this.bucket,
          // us-east-1 is the one region that takes no location constraint.
          ...(this.region === "us-east-1" ? {} : { CreateBucketConfiguration: { LocationConstraint: this.region as never } }),
        }),
      );
    } catch (e) {
      if (s3Code(e) !== "BucketAlreadyOwnedByYou") throw e;
    }
  }
}
