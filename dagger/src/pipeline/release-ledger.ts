/** The ledger entries release, promote, abort and rollback write: one per attempt, updated by id. */
import { randomUUID } from "node:crypto";
import { Leftover } from "../release/canary.js";
import { ImageMetadata } from "../kubernetes/render.js";
import { DEFAULT_LEDGER_SIZE, entryOfCanary, LedgerEntry, LedgerRead, Outcome, Strategy, upsertEntry } from "../release/ledger.js";

/** A new release id: 8 lowercase hex characters, usable as a label value. */
export function newReleaseId(): string {
  return randomUUID().replace(/-/g, "").slice(0, 8);
}

/** A ledger entry's time: RFC 3339 UTC, whole seconds. */
export function ledgerTime(now = new Date()): string {
  return now.toISOString().replace(/\.\d+Z$/, "Z");
}

export function ledgerEntry(
  id: string,
  strategy: Strategy,
  outcome: Outcome,
  image: string,
  metadata: ImageMetadata,
  detail: string,
  now = new Date(),
): Omit<LedgerEntry, "deploymentRevision"> {
  return {
    id,
    time: ledgerTime(now),
    strategy,
    outcome,
    image,
    modelName: metadata.model?.name ?? "",
    modelVersion: metadata.model?.version ?? "",
    modelSha256: metadata.model?.sha256 ?? "",
    revision: metadata.revision ?? "",
    detail: firstLine(detail),
  };
}

/**
 * The change to the ledger: `entry` with the Deployment's revision as read, and the canaries that
 * were found left behind (see withRemovedCanary; one never recorded, from a run killed
 * mid-canary, is added as interrupted).
 */
export function ledgerChange(
  entry: Omit<LedgerEntry, "deploymentRevision">,
  leftovers: Leftover[] = [],
): (read: LedgerRead) => LedgerEntry[] {
  return (read) => {
    const detail = `canary removed by release ${entry.id}`;
    const entries = leftovers.reduce((es, l) => withRemovedCanary(es, l, "interrupted", detail, entry.time, ""), read.entries);
    const previous = entries.find((e) => e.id === entry.id);
    return upsertEntry(entries, { ...previous, ...entry, deploymentRevision: read.deploymentRevision }, DEFAULT_LEDGER_SIZE);
  };
}

/**
 * A removed canary in the ledger. Its own entry (entryOfCanary: the id its label names, a canary
 * of the same image) gets `detail`, and a paused one becomes aborted. A canary whose label names
 * no entry is added under that id with `unknown`; one whose label names another release's entry
 * is added under a new id, so a label never rewrites what another release recorded.
 */
export function withRemovedCanary(
  entries: LedgerEntry[],
  l: Leftover,
  unknown: Outcome,
  detail: string,
  time: string,
  deploymentRevision: string,
): LedgerEntry[] {
  const own = entryOfCanary(entries, l);
  if (own) return upsertEntry(entries, { ...own, outcome: own.outcome === "paused" ? "aborted" : own.outcome, detail, time });
  const taken = l.releaseId === "unknown" || entries.some((e) => e.id === l.releaseId);
  const note = taken ? `; its label names release ${l.releaseId}, which is not this canary's entry` : "";
  const added = ledgerEntry(taken ? newReleaseId() : l.releaseId, "canary", unknown, l.image, {}, `${detail}${note}`);
  return upsertEntry(entries, { ...added, time, deploymentRevision });
}

function firstLine(s: string): string {
  const line = s.trim().split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
