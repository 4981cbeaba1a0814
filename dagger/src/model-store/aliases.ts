/**
 * Aliases: a name (champion, production) pointing a model at one complete, not-yanked version,
 * as MLflow's `@champion`. One blob per alias (layout.ts), moved by conditional writes
 * (records.ts), keeping every move in its history: who (a revision or a person), when, from, to.
 * Removing an alias keeps its blob with no version, so its history survives.
 */
import { StoreError } from "./errors.js";
import { aliasBlobName, aliasesPrefix } from "./layout.js";
import { shown } from "./printable.js";
import { MAX_RECORD_BYTES, readRecord, RecordConflict, Versioned, writeRecord } from "./records.js";
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

export async function readAlias(store: RecordStore, name: string, alias: string): Promise<Versioned<AliasRecord> | undefined> {
  return readRecord(store, aliasBlobName(name, checkAliasName(alias)), parseAliasRecord);
}

/** The version `alias` points at now; a StoreError naming the aliases there are when it is not set. */
export async function aliasTarget(store: RecordStore, name: string, alias: string): Promise<string> {
  const record = await readAlias(store, name, alias);
  if (record?.value.version) return record.value.version;
  const others = (await listAliases(store, name)).map((a) => `@${a.alias} -> ${a.version}`);
  throw new StoreError(
    `model "${name}" has no alias @${alias}${record ? " (it was removed)" : ""} in container "${store.containerName}"; ` +
      (others.length ? `its aliases: ${others.join(", ")}` : "it has no aliases") +
      `; set one with: alias set ${alias} --model-version X.Y.Z`,
  );
}

/** Every alias of `name` that points at a version, by alias name. */
export async function listAliases(store: RecordStore, name: string): Promise<{ alias: string; version: string }[]> {
  const blobs = await store.listBlobs(aliasesPrefix(name));
  const out: { alias: string; version: string }[] = [];
  for (const b of blobs) {
    const record = await readRecord(store, b.name, parseAliasRecord).catch((e: unknown) => {
      store.log(`ignoring ${shown(b.name)}: ${(e as Error).message}`);
      return undefined;
    });
    if (record?.value.version && b.name === aliasBlobName(name, record.value.alias)) {
      out.push({ alias: record.value.alias, version: record.value.version });
    }
  }
  return out.sort((a, b) => (a.alias < b.alias ? -1 : 1));
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
        `@${a} refuses to resolve until it is moved (alias set ${a} --model-version X.Y.Z) or ${target.version} is unyanked`,
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
  const current = await readAlias(store, name, a);
  if (!current?.value.version) throw new StoreError(`model "${name}" has no alias @${a} to remove in container "${store.containerName}"`);
  return move(store, name, a, null, who, opts, current);
}

async function move(
  store: RecordStore,
  name: string,
  alias: string,
  to: string | null,
  by: string,
  opts: MoveOptions,
  read?: Versioned<AliasRecord>,
): Promise<AliasChange> {
  const current = read ?? (await readAlias(store, name, alias));
  const from = current?.value.version ?? null;
  const entry: AliasMove = { from, to, by, at: isoTime() };
  if (from === to) return { name, alias, changed: false, move: entry };
  const record: AliasRecord = withFittingHistory(
    current?.value.history,
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
  return { name, alias, changed: true, move: entry };
}

/** "was moved by X at T (A -> B)" from the alias as it is now, for a lost race. */
async function whoMoved(store: RecordStore, name: string, alias: string): Promise<string> {
  const now = await readAlias(store, name, alias).catch(() => undefined);
  const last = now?.value.history.at(-1);
  if (!last) return "was changed by someone else";
  return `was moved by ${shown(last.by)} at ${shown(last.at)} (${last.from ?? "unset"} -> ${last.to ?? "removed"})`;
}
