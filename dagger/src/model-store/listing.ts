/**
 * What `list` shows: one JSON document (`list --json`) and the table people read, drawn from that
 * same document, so the Dagger module's model-versions renders from one `list --json` exactly
 * the table the command prints.
 */
import { shown } from "./printable.js";
import { humanBytes } from "./sizes.js";
import type { AliasReport, VersionReport } from "./store.js";
import type { YankInfo } from "./yank.js";

/** Longest state reason the table shows (the whole reason is in the JSON). */
const MAX_REASON = 100;

export interface VersionJson {
  version: string;
  complete: boolean;
  state: "complete" | "incomplete" | "invalid";
  prerelease: boolean;
  /** Why it is incomplete or invalid. */
  reason?: string;
  files: number;
  bytes: number;
  /** When its model.json was written. */
  published?: string;
  aliases: string[];
  yanked?: YankInfo;
  /** model.json's metrics (e.g. heldout_accuracy), for a complete version that records them. */
  metrics?: Record<string, unknown>;
}

export interface ListingJson {
  name: string;
  container: string;
  /** `container "models"` or `bucket "models"`. */
  place: string;
  endpoint: string;
  /** What "latest" picks now; null when nothing does. */
  latest: string | null;
  versions: VersionJson[];
  aliases: AliasReport[];
  /** Folders under the model that are not semantic versions. */
  ignored: string[];
}

export interface Listing {
  versions: VersionReport[];
  ignored: string[];
  aliases: AliasReport[];
}

/** The version "latest" would pick: the first complete, not-yanked release in highest-first order. */
function latestOf(versions: VersionReport[]): string | undefined {
  return versions.find((v) => v.status.state === "complete" && !v.prerelease && !v.yanked)?.version;
}

export function listingJson(
  name: string,
  where: { container: string; place: string; endpoint: string },
  { versions, ignored, aliases }: Listing,
): ListingJson {
  return {
    name,
    ...where,
    latest: latestOf(versions) ?? null,
    versions: versions.map((v) => {
      const metrics = v.status.state === "complete" ? v.status.manifest.extra.metrics : undefined;
      return {
        version: v.version,
        complete: v.status.state === "complete",
        state: v.status.state,
        prerelease: v.prerelease,
        ...(v.status.state !== "complete" ? { reason: v.status.reason } : {}),
        files: v.fileCount,
        bytes: v.totalBytes,
        ...(v.lastModified ? { published: v.lastModified.toISOString() } : {}),
        aliases: v.aliases,
        ...(v.yanked ? { yanked: v.yanked } : {}),
        ...(isRecord(metrics) ? { metrics } : {}),
      };
    }),
    aliases,
    ignored,
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A metric's value in a cell: numbers as they are, anything else as JSON; "-" when the version does not record it. */
function metricCell(v: VersionJson, metric: string): string {
  const value = v.metrics?.[metric];
  if (value === undefined) return "-";
  return typeof value === "number" || typeof value === "string" ? String(value) : JSON.stringify(value);
}

/** The table `list` prints; with `metrics`, one column per metric any version records (in the order they first appear). */
export function listingTable(doc: ListingJson, opts: { metrics?: boolean } = {}): string {
  const head = `${doc.name} in ${doc.place} at ${doc.endpoint}`;
  // An alias that does not resolve is shown with what resolving it would say: never hidden.
  const broken = doc.aliases.filter((a) => !a.resolves);
  const notes = broken.length
    ? `aliases that do not resolve:\n${broken.map((a) => `  @${a.alias} ${a.reason?.replace(/\s*\n\s*/g, " ")}\n`).join("")}`
    : "";
  if (doc.versions.length === 0) return `${head}: no versions\n${notes}`;
  const metrics = opts.metrics ? [...new Set(doc.versions.flatMap((v) => Object.keys(v.metrics ?? {})))] : [];
  const rows = doc.versions.map((v) => [
    v.version,
    String(v.files),
    humanBytes(v.bytes),
    v.published ?? "-",
    ...metrics.map((m) => metricCell(v, m)),
    v.complete
      ? [
          "complete",
          v.prerelease ? "prerelease" : "",
          v.version === doc.latest ? "latest" : "",
          ...v.aliases.map((a) => `@${a}`),
          v.yanked ? `yanked: ${tableReason(v.yanked.reason)}` : "",
        ]
          .filter(Boolean)
          .join(", ")
      : `${v.state}: ${tableReason(v.reason ?? "")}`,
  ]);
  const table = [["VERSION", "FILES", "SIZE", "PUBLISHED", ...metrics, "STATUS"], ...rows];
  const width = (i: number) => Math.max(...table.map((r) => r[i]!.length));
  // Counts and sizes align right; the status column can be long (reasons), so it goes last.
  const numeric = (i: number) => i === 1 || i === 2;
  const lines = table.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : numeric(i) ? cell.padStart(width(i)) : cell.padEnd(width(i))))
      .join("  ")
      .trimEnd(),
  );
  const extra = doc.ignored.length ? `ignored (not semantic versions): ${doc.ignored.map(shown).join(", ")}\n` : "";
  return `${head}\n${lines.map((l) => `  ${l}`).join("\n")}\n${notes}${extra}`;
}

/**
 * A state reason for one table cell: on one line, a list of problems ("X is invalid:" then
 * "- ..." lines) shown as its first problem and a count, cut to MAX_REASON characters.
 */
function tableReason(reason: string): string {
  const lines = reason
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const items = lines.slice(1).filter((l) => l.startsWith("- "));
  const isList = lines.length > 1 && lines[0]!.endsWith(":") && items.length === lines.length - 1;
  const text = isList ? items[0]!.slice(2) : lines.join(" ");
  const more = isList ? items.length - 1 : 0;
  const cut = text.length > MAX_REASON;
  const shownText = cut ? `${text.slice(0, MAX_REASON).trimEnd()}...` : text;
  return more > 0 || cut ? `${shownText} (${more > 0 ? `+${more} more, ` : ""}see --json)` : shownText;
}
