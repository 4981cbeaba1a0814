/**
 * Field checks shared by the alias and yank records: what a caller gives (who, why) and what is
 * read back from the store (anyone who can write the container can write these blobs).
 */
import { StoreError } from "./errors.js";
import { shown, UNPRINTABLE } from "./printable.js";

/** Moves kept per record: enough to audit a model's life, small enough to read on every resolve. */
export const HISTORY_LIMIT = 200;
/** Longest --by: a git revision, a pipeline run or a person's name. */
const MAX_BY_LENGTH = 200;

export function isoTime(): string {
  return new Date().toISOString();
}

/** A one-line text given by the caller (who, why), trimmed: non-empty, printable, at most `max` characters. */
export function checkText(value: string, what: string, max: number): string {
  const t = value.trim();
  if (!t) throw new StoreError(`${what} is empty: say who or why in a few words`);
  if (UNPRINTABLE.test(t)) throw new StoreError(`${what} has control or invisible characters; use one plain line`);
  if (t.length > max) throw new StoreError(`${what} is ${t.length} characters; keep it to ${max}`);
  return t;
}

/** Who makes a change (--by), checked as every caller-given text is. */
export function checkBy(by: string): string {
  return checkText(by, "--by", MAX_BY_LENGTH);
}

/** `history` with `entry` added last, keeping only the newest HISTORY_LIMIT entries. */
export function appendHistory<T>(history: readonly T[] | undefined, entry: T): T[] {
  return [...(history ?? []), entry].slice(-HISTORY_LIMIT);
}

/** A record's bytes as the store writes them (UTF-8 JSON). */
export function recordBody(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value, null, 2) + "\n");
}

/**
 * The record `make` builds from `history` plus `entry`, with the oldest entries dropped until it
 * fits in `maxBytes` as written (UTF-8: a long reason in CJK takes three bytes a character), so a
 * record is never written that the store could not read back. The newest entry is always kept.
 */
export function withFittingHistory<T, R>(history: readonly T[] | undefined, entry: T, make: (history: T[]) => R, maxBytes: number): R {
  let kept = appendHistory(history, entry);
  let record = make(kept);
  while (kept.length > 1 && recordBody(record).length > maxBytes) {
    kept = kept.slice(Math.max(1, Math.floor(kept.length / 16)));
    record = make(kept);
  }
  return record;
}

export function recordObject(json: unknown, origin: string): Record<string, unknown> {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad(origin, "not a JSON object");
  return json as Record<string, unknown>;
}

export function requiredString(o: Record<string, unknown>, field: string, origin: string): string {
  const v = o[field];
  if (typeof v !== "string" || !v) throw bad(origin, `${field} is not a non-empty string (${shown(v)})`);
  return v;
}

export function optionalString(o: Record<string, unknown>, field: string, origin: string): string | undefined {
  const v = o[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw bad(origin, `${field} is not a string (${shown(v)})`);
  return v;
}

export function historyEntries(o: Record<string, unknown>, origin: string): Record<string, unknown>[] {
  const h = o.history ?? [];
  if (!Array.isArray(h)) throw bad(origin, "history is not a list");
  return h.map((e: unknown) => recordObject(e, `${origin} history`));
}

function bad(origin: string, why: string): StoreError {
  return new StoreError(`${origin}: ${why}; not a record this store wrote`);
}
