/**
 * Aliases: a name (champion, production) pointing a model at one complete, not-yanked version,
 * as MLflow's `@champion`. One blob per alias (layout.ts), moved by conditional writes
 * (records.ts), keeping every move in its history: who (a revision or a person), when, from, to.
 * Removing an alias keeps its blob with no version, so its history survives. A record that does
 * not match its name (it names another alias, or is not one this store wrote) is invalid: it
 * resolves nothing, list shows it, and setting or removing the alias replaces it.
 */
import { StoreError } from "./errors.js";
import { CLI_HINTS, Hints } from "./hints.js";
import { aliasBlobName, aliasesPrefix } from "./layout.js";
import { shown } from "./printable.js";
import { MAX_RECORD_BYTES, readRecord, readRecordOrInvalid, RecordConflict, RecordRead, Versioned, writeRecord } from "./records.js";
import type { RecordStore } from "./record-store.js";
import { checkAliasName } from "./versions.js";
import { checkBy, historyEntries, isoTime, optionalString, recordObject, requiredString, withFittingHistory } from "./record-fields.js";

export interface AliasMove {
  /** The version the alias pointed at before (null: it was not set). */
  from: string | null;
  /** The version it points at after (null: removed). */
  to: string | null;
  /** Who moved it: a git revision, a pipeline run or a person, as the caller said. */
  by: string;
  /** When, ISO 8601 UTC. */
  at: string;
}

export interface AliasRecord {
  alias: string;
  /** null once removed (the record stays for its history). */
  version: string | null;
  history: AliasMove[];
}

export interface AliasChange {
  name: string;
  alias: string;
  /** False when the alias already pointed there (nothing written). */
  changed: boolean;
  move: AliasMove;
  /** Why the record this change replaced was invalid, when it was. */
  replacedInvalid?: string;
}

/** An alias as the listing finds it: the version it points at (null: removed), or why its record is invalid. */
export interface AliasEntry {
  alias: string;
  version: string | null;
  /** Set when the record is invalid: it resolves nothing. Says what to do. */
  invalid?: string;
}

export interface MoveOptions {
  /** Runs between reading the alias and writing it: lets tests line up two moves that read the same state. */
  beforeWrite?: () => Promise<void>;
}

/** Parses an alias record as stored; whatever is not a record this store wrote is a StoreError. */
export function parseAliasRecord(json: unknown, origin: string): AliasRecord {
  const o = recordObject(json, origin);
  const alias = requiredString(o, "alias", origin);
  const version = o.version === null ? null : requiredString(o, "version", origin);
  const history = historyEntries(o, origin).map((h) => ({
    from: optionalString(h, "from", origin) ?? null,
    to: optionalString(h, "to", origin) ?? null,
    by: requiredString(h, "by", origin),
    at: requiredString(h, "at", origin),
  }));
  return { alias, version, history };
}

/** The parser of `alias`'s own blob: a record naming another alias is invalid, as one that does not parse (the yank marks' rule). */
function aliasParser(alias: string): (json: unknown, origin: string) => AliasRecord {
  return (json, origin) => {
    const record = parseAliasRecord(json, origin);
    if (record.alias !== alias) throw new StoreError(`${origin} names alias ${shown(record.alias)}, not ${shown(alias)}`);
    return record;
  };
}

/** `alias`'s record as read: valid, invalid (with its ETag, so a move may replace it) or none. */
function readAliasRecord(store: RecordStore, name: string, alias: string): Promise<RecordRead<AliasRecord> | undefined> {
  return readRecordOrInvalid(store, aliasBlobName(name, alias), aliasParser(alias));
}

/** An alias's record as `alias history` shows it: the version it points at now (null: removed) and every move, oldest first. */
export interface AliasHistory {
  name: string;
  alias: string;
  version: string | null;
  history: AliasMove[];
}

/** `alias`'s history; a StoreError when it was never set (nothing to show) or its record is invalid. */
export async function aliasHistory(store: RecordStore, name: string, alias: string): Promise<AliasHistory> {
  const a = checkAliasName(alias);
  const record = await readAliasRecord(store, name, a);
  if (record?.invalid !== undefined)
    throw new StoreError(`alias @${a} of "${name}" is invalid: ${invalidAlias(a, record.invalid, store.hints ?? CLI_HINTS)}`);
  if (!record) throw new StoreError(`model "${name}" has no alias @${a} in ${store.place} (never set, so no history)`);
  return { name, alias: a, version: record.value.version, history: record.value.history };
}

/** `alias`'s record; an invalid one is a StoreError. */
export async function readAlias(store: RecordStore, name: string, alias: string): Promise<Versioned<AliasRecord> | undefined> {
  const a = checkAliasName(alias);
  return readRecord(store, aliasBlobName(name, a), aliasParser(a));
}

/** Why `alias`'s record is invalid, and what to do about it. */
function invalidAlias(alias: string, problem: string, hints: Hints): string {
  return `${problem}; set it again (${hints.setAlias(alias)}) or remove it (${hints.removeAlias(alias)})`;
}

/** What resolving an alias whose version is yanked says (after "alias @A of M"), and what to do. */
export function yankedTarget(
  alias: string,
  version: string,
  y: { reason: string; by: string; at: string },
  hints: Hints = CLI_HINTS,
): string {
  return (
    `points at ${version}, which is yanked (${shown(y.reason)}, by ${shown(y.by)} at ${shown(y.at)}); ` +
    `an alias resolves only to a version in use: move it (${hints.setAlias(alias)}) or unyank ${version}`
  );
}

/** The version `alias` points at now; a StoreError when its record is invalid, or naming the aliases there are when it is not set. */
export async function aliasTarget(store: RecordStore, name: string, alias: string): Promise<string> {
  const record = await readAliasRecord(store, name, checkAliasName(alias));
  if (record?.invalid !== undefined)
    throw new StoreError(`alias @${alias} of "${name}" is invalid: ${invalidAlias(alias, record.invalid, store.hints ?? CLI_HINTS)}`);
  if (record?.value.version) return record.value.version;
  const others = (await listAliases(store, name)).map((a) => `@${a.alias} -> ${a.version}`);
  throw new StoreError(
    `model "${name}" has no alias @${alias}${record ? " (it was removed)" : ""} in ${store.place}; ` +
      (others.length ? `its aliases: ${others.join(", ")}` : "it has no aliases") +
      `; set one with: ${(store.hints ?? CLI_HINTS).setAlias(alias)}`,
  );
}

/**
 * Every alias record of `name`, by alias name, each judged as resolving judges it: an invalid one
 * is listed with why (a blob that no alias name reaches too), never skipped.
 */
export async function aliasRecords(store: RecordStore, name: string): Promise<AliasEntry[]> {
  const out: AliasEntry[] = [];
  for (const b of await store.listBlobs(aliasesPrefix(name))) {
    const file = b.name.slice(aliasesPrefix(name).length);
    const alias = aliasOfFile(file);
    if (alias === undefined) {
      out.push({
        alias: file,
        version: null,
        invalid: `${shown(b.name)} is not <alias>.json for an alias name: nothing resolves through it; remove it`,
      });
      continue;
    }
    const record = await readAliasRecord(store, name, alias);
    if (record?.invalid !== undefined)
      out.push({ alias, version: null, invalid: invalidAlias(alias, record.invalid, store.hints ?? CLI_HINTS) });
    else if (record) out.push({ alias, version: record.value.version });
  }
  return out.sort((a, b) => (a.alias < b.alias ? -1 : 1));
}

/** The alias a file under the aliases folder is the record of (`<alias>.json`), if any. */
function aliasOfFile(file: string): string | undefined {
  const alias = file.endsWith(".json") ? file.slice(0, -".json".length) : "";
  try {
    return checkAliasName(alias) === alias ? alias : undefined;
  } catch {
    return undefined;
  }
}

/** Every alias of `name` that points at a version through a valid record, by alias name. */
export async function listAliases(store: RecordStore, name: string): Promise<{ alias: string; version: string }[]> {
  return (await aliasRecords(store, name)).flatMap((a) =>
    a.version !== null && a.invalid === undefined ? [{ alias: a.alias, version: a.version }] : [],
  );
}

/**
 * Points `alias` at `version`, which must be complete and not yanked (an exact pin without
 * build metadata names the one version of that precedence, as fetch does). A yank that lands
 * between that check and the write is seen by reading the version again after the write: the
 * move then fails saying so (the alias refuses to resolve to it either way, see store.resolve),
 * and a yank that lands after that read lists the alias in its own result (yank.ts).
 */
export async function setAlias(
  store: RecordStore,
  name: string,
  alias: string,
  version: string,
  by: string,
  opts: MoveOptions = {},
): Promise<AliasChange> {
  const a = checkAliasName(alias);
  const who = checkBy(by);
  const target = await store.resolve(name, { kind: "exact", version });
  if (target.yanked) {
    throw new StoreError(
      `${name} ${target.version} is yanked (${shown(target.yanked.reason)}, by ${shown(target.yanked.by)}); an alias may only point at a version in use: unyank it first or pick another version`,
    );
  }
  const change = await move(store, name, a, target.version, who, opts);
  const now = (await store.resolve(name, { kind: "exact", version: target.version })).yanked;
  if (now) {
    throw new StoreError(
      `@${a} of "${name}" now points at ${target.version}, but ${target.version} was yanked while this change was being made (${shown(now.reason)}, by ${shown(now.by)}): ` +
        `@${a} refuses to resolve until it is moved (${(store.hints ?? CLI_HINTS).setAlias(a)}) or ${target.version} is unyanked`,
    );
  }
  return change;
}

/** Removes `alias` (its history stays); a StoreError when it is not set. */
export async function removeAlias(
  store: RecordStore,
  name: string,
  alias: string,
  by: string,
  opts: MoveOptions = {},
): Promise<AliasChange> {
  const a = checkAliasName(alias);
  const who = checkBy(by);
  const current = await readAliasRecord(store, name, a);
  if (!current || (current.invalid === undefined && !current.value.version)) {
    throw new StoreError(`model "${name}" has no alias @${a} to remove in ${store.place}`);
  }
  return move(store, name, a, null, who, opts, current);
}

async function move(
  store: RecordStore,
  name: string,
  alias: string,
  to: string | null,
  by: string,
  opts: MoveOptions,
  read?: RecordRead<AliasRecord>,
): Promise<AliasChange> {
  // An invalid record is replaced whole: it is not this alias's, so neither its version nor its history is kept.
  const current = read ?? (await readAliasRecord(store, name, alias));
  const invalid = current?.invalid;
  const from = current?.value?.version ?? null;
  const entry: AliasMove = { from, to, by, at: isoTime() };
  if (from === to && invalid === undefined) return { name, alias, changed: false, move: entry };
  const record: AliasRecord = withFittingHistory(
    current?.value?.history,
    entry,
    (history) => ({ alias, version: to, history }),
    MAX_RECORD_BYTES,
  );
  await opts.beforeWrite?.();
  try {
    await writeRecord(store, aliasBlobName(name, alias), record, current?.etag);
  } catch (e) {
    if (!(e instanceof RecordConflict)) throw e;
    throw new StoreError(
      `alias @${alias} of "${name}" ${await whoMoved(store, name, alias)} while this change was being made; nothing was changed: check it and run again`,
    );
  }
  return { name, alias, changed: true, move: entry, ...(invalid !== undefined ? { replacedInvalid: invalid } : {}) };
}

/** "was moved by X at T (A -> B)" from the alias as it is now, for a lost race. */
async function whoMoved(store: RecordStore, name: string, alias: string): Promise<string> {
  const now = await readAlias(store, name, alias).catch(() => undefined);
  const last = now?.value.history.at(-1);
  if (!last) return "was changed by someone else";
  return `was moved by ${shown(last.by)} at ${shown(last.at)} (${last.from ?? "unset"} -> ${last.to ?? "removed"})`;
}
