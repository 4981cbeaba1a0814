/**
 * The store's backend on Azure Blob Storage (backend.ts): one container, reached through the
 * ContainerClient that connect.ts builds (auth mode, retry policy). Create-only writes are
 * If-None-Match: *, replaces If-Match the ETag read; ranged reads are pinned with If-Match and
 * never resumed by the SDK (download.ts says why).
 */
import { BlockBlobClient } from "@azure/storage-blob";
import { EtagChanged, StoreBackend, StoreLocation, UploadOptions, WriteOptions } from "./backend.js";
import type { Connection } from "./connect.js";
import { explainAzureError, isAlreadyExists, isConditionFailure } from "./errors.js";
import type { BlobEntry } from "./versions.js";

export class BlobBackend implements StoreBackend {
  constructor(readonly connection: Connection) {}

  get location(): StoreLocation {
    return this.connection.context;
  }

  explain(e: unknown, action: string): Error {
    if (e instanceof EtagChanged) e = { statusCode: 412, code: "ConditionNotMet", message: e.message };
    return explainAzureError(e, { action, ...this.location });
  }

  private block(name: string): BlockBlobClient {
    return this.connection.container.getBlockBlobClient(name);
  }

  async list(prefix: string): Promise<BlobEntry[]> {
    const out: BlobEntry[] = [];
    for await (const b of this.connection.container.listBlobsFlat({ prefix })) {
      out.push({
        name: b.name,
        size: b.properties.contentLength ?? 0,
        etag: b.properties.etag ?? "",
        ...(b.properties.lastModified ? { lastModified: b.properties.lastModified } : {}),
        ...(b.properties.createdOn ? { createdOn: b.properties.createdOn } : {}),
      });
    }
    return out;
  }

  async head(name: string, signal?: AbortSignal): Promise<{ size: number; etag: string } | undefined> {
    try {
      const p = await this.block(name).getProperties(signal ? { abortSignal: signal } : {});
      return { size: p.contentLength ?? 0, etag: p.etag ?? "" };
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return undefined;
      throw e;
    }
  }

  async readRange(
    name: string,
    range: { offset: number; count: number; etag: string; signal?: AbortSignal },
  ): Promise<AsyncIterable<Uint8Array>> {
    try {
      const res = await this.block(name).download(range.offset, range.count, {
        conditions: { ifMatch: range.etag },
        maxRetryRequests: 0, // resuming is the caller's (download.ts)
        ...(range.signal ? { abortSignal: range.signal } : {}),
      });
      return res.readableStreamBody as AsyncIterable<Uint8Array>;
    } catch (e) {
      if (isConditionFailure(e)) throw new EtagChanged(`${name} changed (its ETag no longer matches)`);
      throw e;
    }
  }

  async readSmall(
    name: string,
    opts: { maxBytes: number; etag?: string; signal?: AbortSignal },
  ): Promise<{ bytes: Buffer; etag: string } | undefined> {
    try {
      const res = await this.block(name).download(0, opts.maxBytes + 1, {
        ...(opts.etag ? { conditions: { ifMatch: opts.etag } } : {}),
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      const chunks: Buffer[] = [];
      for await (const c of res.readableStreamBody as AsyncIterable<Buffer>) chunks.push(c);
      return { bytes: Buffer.concat(chunks), etag: res.etag ?? "" };
    } catch (e) {
      const status = (e as { statusCode?: number }).statusCode;
      if (status === 404 && !opts.etag) return undefined;
      if (opts.etag && isConditionFailure(e)) throw new EtagChanged(`${name} changed while it was being read`);
      throw e;
    }
  }

  async createOnly(name: string, body: Buffer, opts: WriteOptions): Promise<boolean> {
    return this.upload(name, body, { ifNoneMatch: "*" }, opts);
  }

  async replaceIfMatch(name: string, body: Buffer, etag: string, opts: WriteOptions): Promise<boolean> {
    return this.upload(name, body, { ifMatch: etag }, opts);
  }

  private async upload(name: string, body: Buffer, conditions: { ifNoneMatch?: string; ifMatch?: string }, opts: WriteOptions) {
    try {
      await this.block(name).upload(body, body.length, {
        conditions,
        blobHTTPHeaders: { blobContentType: opts.contentType },
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      return true;
    } catch (e) {
      if (isConditionFailure(e) || isAlreadyExists(e)) return false;
      throw e;
    }
  }

  async uploadFileCreateOnly(name: string, path: string, _size: number, opts: UploadOptions): Promise<boolean> {
    try {
      await this.block(name).uploadFile(path, {
        ...(opts.onProgress ? { onProgress: (e: { loadedBytes: number }) => opts.onProgress!(e.loadedBytes) } : {}),
        blockSize: opts.partSize,
        maxSingleShotSize: opts.partSize,
        concurrency: opts.concurrency,
        conditions: { ifNoneMatch: "*" },
        blobHTTPHeaders: { blobContentType: opts.contentType },
        ...(opts.metadata ? { metadata: opts.metadata } : {}),
        ...(opts.signal ? { abortSignal: opts.signal } : {}),
      });
      return true;
    } catch (e) {
      if (isAlreadyExists(e)) return false;
      throw e;
    }
  }

  async createContainerIfMissing(): Promise<void> {
    await this.connection.container.createIfNotExists();
  }
}
