/** The ledger entries release, promote, abort and rollback write: one per attempt, updated by id. */
import { randomUUID } from "node:crypto";
import { Leftover } from "../kubernetes/canary.js";
import { ImageMetadata } from "../kubernetes/render.js";
import { DEFAULT_LEDGER_SIZE, LedgerEntry, LedgerRead, Outcome, Strategy, upsertEntry } from "../kubernetes/ledger.js";

/** A new release id: 8 lowercase hex characters, usable as a label value. */
export function newReleaseId(): string {
  return randomUUID().replace(/-/g, "").slice(0, 8);
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
    time: now.toISOString().replace(/\.\d+Z$/, "Z"),
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
 * were found left behind (a paused one that was recorded becomes aborted; one never recorded, from a
 * run killed mid-canary, is added as interrupted).
 */
export function ledgerChange(
  entry: Omit<LedgerEntry, "deploymentRevision">,
  leftovers: Leftover[] = [],
): (read: LedgerRead) => LedgerEntry[] {
  return (read) => {
    let entries = read.entries;
    for (const l of leftovers) {
      const known = entries.find((e) => e.id === l.releaseId);
      const detail = `canary removed by release ${entry.id}`;
      entries = upsertEntry(
        entries,
        known
          ? { ...known, outcome: known.outcome === "paused" ? "aborted" : known.outcome, detail, time: entry.time }
          : {
              ...entry,
              id: l.releaseId,
              strategy: "canary",
              outcome: "interrupted",
              image: l.image,
              modelName: "",
              modelVersion: "",
              modelSha256: "",
              revision: "",
              deploymentRevision: "",
              detail,
            },
        DEFAULT_LEDGER_SIZE,
      );
    }
    const previous = entries.find((e) => e.id === entry.id);
    return upsertEntry(entries, { ...previous, ...entry, deploymentRevision: read.deploymentRevision }, DEFAULT_LEDGER_SIZE);
  };
}

function firstLine(s: string): string {
  const line = s.trim().split("\n")[0] ?? "";
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}
