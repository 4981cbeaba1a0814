/**
 * Yanking, as package registries do it: a withdrawn version keeps its bytes, "latest" skips it,
 * an exact pin still fetches it with a warning carrying the reason, and an alias pointing at it
 * refuses to resolve until it is moved (an alias names a version in use). One mark per version
 * (layout.ts) written by conditional writes (records.ts); unyank clears it; both are kept in the
 * mark's history.
 */
import { StoreError } from "./errors.js";
import { yankBlobName } from "./layout.js";
import { shown } from "./printable.js";
import { MAX_RECORD_BYTES, readRecord, readRecordOrInvalid, RecordConflict, RecordRead, writeRecord } from "./records.js";
import {
  withFittingHistory,
  checkBy,
  checkText,
  historyEntries,
  isoTime,
  optionalString,
  recordObject,
  requiredString,
} from "./record-fields.js";
import type { RecordStore } from "./record-store.js";
import { listAliases } from "./aliases.js";

export interface YankEntry {
  action: "yank" | "unyank";
  reason?: string;
  by: string;
  at: string;
}

export interface YankRecord {
  version: string;
  yanked: boolean;
  history: YankEntry[];
}

/** Why a version is yanked: its last yank. */
export interface YankInfo {
  reason: string;
  by: string;
  at: string;
}

export interface YankChange {
  name: string;
  version: string;
  yanked: boolean;
  /** False when the version already was in that state (with that reason): nothing written. */
  changed: boolean;
  /** Aliases pointing at the version, read after the write: they refuse to resolve while it is yanked. */
  aliases: string[];
}

export interface MarkOptions {
  /** Runs between reading the mark and writing it: lets tests line up a yank with an alias move. */
  beforeWrite?: () => Promise<void>;
}

export const MAX_REASON_LENGTH = 500;

export function parseYankRecord(json: unknown, origin: string): YankRecord {
  const o = recordObject(json, origin);
  if (typeof o.yanked !== "boolean") throw new StoreError(`${origin}: yanked is not true or false; not a record this store wrote`);
  const history = historyEntries(o, origin).map((h) => {
    const action = requiredString(h, "action", origin);
    if (action !== "yank" && action !== "unyank") {
      throw new StoreError(`${origin}: unknown action ${shown(action)}; not a record this store wrote`);
    }
    const reason = optionalString(h, "reason", origin);
    return { action, ...(reason ? { reason } : {}), by: requiredString(h, "by", origin), at: requiredString(h, "at", origin) } as YankEntry;
  });
  return { version: requiredString(o, "version", origin), yanked: o.yanked, history };
}

/** The yank of a record that says yanked (its last yank entry). */
export function yankInfo(record: YankRecord): YankInfo | undefined {
  if (!record.yanked) return undefined;
  const last = [...record.history].reverse().find((h) => h.action === "yank");
  return { reason: last?.reason ?? "no reason recorded", by: last?.by ?? "unknown", at: last?.at ?? "unknown" };
}

/** `version`'s mark as read: valid, invalid (one naming another version, as one that does not parse), or none. */
function readMark(store: RecordStore, name: string, version: string): Promise<RecordRead<YankRecord> | undefined> {
  return readRecordOrInvalid(store, yankBlobName(name, version), (json, origin) => {
    const record = parseYankRecord(json, origin);
    if (record.version !== version) throw new StoreError(`${origin} names version ${shown(record.version)}, not ${shown(version)}`);
    return record;
  });
}

/** The yank an invalid mark counts as; yank or unyank rewrites it. */
function invalidMark(problem: string): YankInfo {
  return { reason: `its yank mark is invalid (${problem})`, by: "unknown", at: "unknown" };
}

/**
 * Whether `version` (an exact folder name) is yanked. A mark that cannot be read, or that names
 * another version than its blob's, counts as a yank: a withdrawn version is never picked by
 * mistake (one rule for every record that does not match its name: invalid, and failing closed).
 */
export async function readYank(store: RecordStore, name: string, version: string): Promise<YankInfo | undefined> {
  try {
    const r = await readMark(store, name, version);
    if (r?.invalid !== undefined) return invalidMark(r.invalid);
    return r ? yankInfo(r.value) : undefined;
  } catch (e) {
    if (!(e instanceof StoreError) || e instanceof RecordConflict) throw e;
    return { reason: `its yank mark is unreadable (${e.message})`, by: "unknown", at: "unknown" };
  }
}

/** Withdraws a complete version with a reason; re-yanking changes the reason. */
export async function yankVersion(
  store: RecordStore,
  name: string,
  version: string,
  reason: string,
  by: string,
  opts: MarkOptions = {},
): Promise<YankChange> {
  const why = checkText(reason, "--reason", MAX_REASON_LENGTH);
  return mark(store, name, version, { action: "yank", reason: why, by: checkBy(by), at: isoTime() }, opts);
}

/** Puts a yanked version back in use. */
export async function unyankVersion(store: RecordStore, name: string, version: string, by: string): Promise<YankChange> {
  return mark(store, name, version, { action: "unyank", by: checkBy(by), at: isoTime() }, {});
}

async function mark(store: RecordStore, name: string, version: string, entry: YankEntry, opts: MarkOptions): Promise<YankChange> {
  const target = (await store.resolve(name, { kind: "exact", version })).version;
  const blob = yankBlobName(name, target);
  // An invalid mark counts as a yank here too (unyank clears it), and is replaced whole: its history is not this version's.
  const current = await readMark(store, name, target);
  const valid = current?.invalid === undefined ? current?.value : undefined;
  const yanked = entry.action === "yank";
  // Read after the mark is written: an alias set while this yank ran is either listed here or told by its own check (aliases.ts).
  const aliasesNow = async () => (await listAliases(store, name)).filter((a) => a.version === target).map((a) => a.alias);
  const before = current?.invalid !== undefined ? invalidMark(current.invalid) : valid ? yankInfo(valid) : undefined;
  if (!yanked && !before) throw new StoreError(`${name} ${target} is not yanked; nothing to undo`);
  if (yanked && valid && before?.reason === entry.reason) {
    return { name, version: target, yanked, changed: false, aliases: await aliasesNow() };
  }
  const record: YankRecord = withFittingHistory(
    valid?.history,
    entry,
    (history) => ({ version: target, yanked, history }),
    MAX_RECORD_BYTES,
  );
  await opts.beforeWrite?.();
  try {
    await writeRecord(store, blob, record, current?.etag);
  } catch (e) {
    if (!(e instanceof RecordConflict)) throw e;
    const now = await readRecord(store, blob, parseYankRecord).catch(() => undefined);
    const last = now?.value.history.at(-1);
    const who = last ? `was ${last.action}ed by ${shown(last.by)} at ${shown(last.at)}` : "was changed by someone else";
    throw new StoreError(`${name} ${target} ${who} while this change was being made; nothing was changed: check it and run again`);
  }
  return { name, version: target, yanked, changed: true, aliases: await aliasesNow() };
}

/** What a pin of a yanked version says on stderr (as package managers do): it works, but someone withdrew it, and why. */
export function yankWarning(m: { name: string; version: string; yanked?: YankInfo }): string {
  const y = m.yanked!;
  return `warning: ${m.name} ${m.version} is yanked: ${shown(y.reason)} (by ${shown(y.by)} at ${shown(y.at)}); use another version or unyank it`;
}
