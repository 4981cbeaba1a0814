/**
 * Small JSON records beside the versions (aliases, yank marks), read with their ETag and written
 * only if nobody wrote in between: If-Match the ETag that was read, or If-None-Match * for the
 * first write. Of two people moving one record at once, exactly one write lands; the other gets
 * a RecordConflict and nothing of it is stored.
 */
import { StoreError } from "./errors.js";
import { recordBody } from "./record-fields.js";
import type { RecordStore } from "./record-store.js";

/** Records hold a bounded history; anything larger was not written by this store. */
export const MAX_RECORD_BYTES = 256 * 1024;

/** A record's value and the ETag it was read at (the condition of the next write). */
export interface Versioned<T> {
  value: T;
  etag: string;
}

/** Someone else wrote the record between our read and our write. */
export class RecordConflict extends StoreError {
  override name = "RecordConflict";
}

/**
 * A record as read, with the ETag it was read at: its value, or why it is invalid (bytes that are
 * not a record this store wrote, or one that does not match its blob's name). An invalid record
 * is shown and fails closed; a write at its ETag may still replace it.
 */
export type RecordRead<T> = { value: T; etag: string; invalid?: undefined } | { invalid: string; etag: string; value?: undefined };

/** The record at `blobName`, or undefined when there is none. Bytes over MAX_RECORD_BYTES or unparsable are a StoreError. */
export async function readRecord<T>(
  store: RecordStore,
  blobName: string,
  parse: (json: unknown, origin: string) => T,
): Promise<Versioned<T> | undefined> {
  const read = await readRecordOrInvalid(store, blobName, parse);
  if (read?.invalid !== undefined) throw new StoreError(read.invalid);
  return read;
}

/** Like readRecord, but an invalid record (whatever `parse` refuses) comes back as such, with its ETag. */
export async function readRecordOrInvalid<T>(
  store: RecordStore,
  blobName: string,
  parse: (json: unknown, origin: string) => T,
): Promise<RecordRead<T> | undefined> {
  const got = await store.call(`read ${blobName}`, () => store.backend.readSmall(blobName, { maxBytes: MAX_RECORD_BYTES }));
  if (!got) return undefined;
  const invalid = (why: string) => ({ invalid: why, etag: got.etag });
  if (got.bytes.length > MAX_RECORD_BYTES) {
    return invalid(`${blobName} is over ${MAX_RECORD_BYTES} bytes: not a record this store wrote`);
  }
  let json: unknown;
  try {
    json = JSON.parse(got.bytes.toString("utf8"));
  } catch {
    return invalid(`${blobName} is not valid JSON: not a record this store wrote`);
  }
  try {
    return { value: parse(json, blobName), etag: got.etag };
  } catch (e) {
    if (!(e instanceof StoreError)) throw e;
    return invalid(e.message);
  }
}

/** Writes `value` if the record is still at `etag` (undefined: if there is still none); a RecordConflict otherwise. */
export async function writeRecord(store: RecordStore, blobName: string, value: unknown, etag: string | undefined): Promise<void> {
  const body = recordBody(value);
  if (body.length > MAX_RECORD_BYTES) {
    throw new StoreError(`${blobName} would be ${body.length} bytes, over the ${MAX_RECORD_BYTES} a record may hold; nothing was written`);
  }
  const landed = await store.call(`write ${blobName}`, () => {
    const opts = { contentType: "application/json" };
    return etag === undefined ? store.backend.createOnly(blobName, body, opts) : store.backend.replaceIfMatch(blobName, body, etag, opts);
  });
  if (!landed) throw new RecordConflict(`${blobName} changed while this change was being made`);
}
