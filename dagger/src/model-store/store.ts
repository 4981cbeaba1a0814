/**
 * The model store over one Blob container or S3 bucket (a StoreBackend, backend.ts): list
 * versions with their status and resolve a selector to one complete version. Fetch and publish
 * build on it (fetch.ts, publish.ts).
 */
import { createHash } from "node:crypto";
import type { StoreBackend } from "./backend.js";
import { StoreError } from "./errors.js";
import { aliasesPrefix, modelPrefix, versionPrefix, yankBlobName } from "./layout.js";
import { shown } from "./printable.js";
import { MANIFEST_NAME, MAX_MANIFEST_BYTES, ModelFile, ModelManifest, SIGNATURE_NAME } from "./manifest.js";
import {
  BlobEntry,
  candidates,
  describeSelector,
  duplicateStatus,
  earlierEqualVersion,
  groupVersions,
  VersionListing,
  VersionSelector,
  VersionStatus,
  versionStatus,
} from "./versions.js";
import { AliasEntry, aliasRecords, aliasTarget, yankedTarget } from "./aliases.js";
import { readYank, YankInfo } from "./yank.js";
import { CLI_HINTS, Hints } from "./hints.js";

export interface ResolvedFile {
  file: ModelFile;
  blobName: string;
  etag: string;
}

/** One complete version, pinned to the exact manifest bytes and blob ETags seen when resolving. */
export interface ResolvedModel {
  name: string;
  version: string;
  manifest: ModelManifest;
  manifestBytes: Buffer;
  manifestSha256: string;
  files: ResolvedFile[];
  /** Set when the version is yanked: it was pinned exactly (never through an alias), and callers warn with the reason. */
  yanked?: YankInfo;
  /** The alias the version was chosen through, when it was. */
  alias?: string;
  /** model.sig, when the version is signed. */
  signature?: { blobName: string; etag: string; size: number };
}

export interface VersionReport {
  version: string;
  prerelease: boolean;
  status: VersionStatus;
  fileCount: number;
  totalBytes: number;
  lastModified?: Date;
  yanked?: YankInfo;
  /** Aliases pointing at this version. */
  aliases: string[];
}

/** An alias as list shows it: whether `@alias` resolves now, and if not, what resolving it says. */
export interface AliasReport {
  alias: string;
  /** The version it points at; null when its record is invalid. */
  version: string | null;
  resolves: boolean;
  /** Why it does not resolve (after "alias @A of M"), and what to do. */
  reason?: string;
}

export type Log = (line: string) => void;

export class ModelStore {
  constructor(
    readonly backend: StoreBackend,
    readonly log: Log = () => {},
    /** How messages name the commands to run: the CLI's words, or the Dagger module's (hints.ts). */
    readonly hints: Hints = CLI_HINTS,
  ) {}

  get containerName(): string {
    return this.backend.location.container;
  }

  /** The container or bucket, for messages: `container "models"`, `bucket "models"`. */
  get place(): string {
    return `${this.backend.location.noun} "${this.containerName}"`;
  }

  get endpoint(): string {
    return this.backend.location.endpoint;
  }

  /** Runs a call to the service, turning its failure into a StoreError that says what was being done. */
  async call<T>(action: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.backend.explain(e, action);
    }
  }

  /** Every object under `prefix`, with size and ETag. */
  async listBlobs(prefix: string): Promise<BlobEntry[]> {
    return this.call(`list ${prefix}`, () => this.backend.list(prefix));
  }

  /** Every version of `name` with its status, highest first, and every alias that is set or invalid, by name. */
  async listVersions(name: string): Promise<{ versions: VersionReport[]; ignored: string[]; aliases: AliasReport[] }> {
    const blobs = await this.listBlobs(modelPrefix(name));
    const { versions, ignored } = groupVersions(name, blobs);
    const records = blobs.some((b) => b.name.startsWith(aliasesPrefix(name))) ? await aliasRecords(this, name) : [];
    const aliases = records.filter((a) => a.invalid === undefined);
    const marked = new Set(blobs.map((b) => b.name));
    const reports = await mapLimit(versions, 8, async (listing) => {
      const { status } = await this.inspect(name, listing, versions);
      const files = status.state === "complete" ? status.manifest.files : [...listing.files.values()];
      const manifestBlob = listing.files.get(MANIFEST_NAME);
      return {
        version: listing.version,
        prerelease: listing.semver.prerelease.length > 0,
        status,
        fileCount: files.length,
        totalBytes: files.reduce((n, f) => n + f.size, 0),
        ...(manifestBlob?.lastModified ? { lastModified: manifestBlob.lastModified } : {}),
        ...(await this.yankOf(name, listing.version, marked)),
        aliases: aliases.filter((a) => a.version === listing.version).map((a) => a.alias),
      };
    });
    return { versions: reports, ignored, aliases: records.flatMap((a) => aliasReport(a, reports, this.hints)) };
  }

  /**
   * The complete version `selector` picks, or a StoreError saying why there is none. "latest"
   * skips yanked versions; an exact pin returns one with `yanked` set; an alias refuses one. An
   * alias names a version in use: one yanked after the alias was set (or while it was being set)
   * is refused here, whichever came first.
   */
  async resolve(name: string, selector: VersionSelector): Promise<ResolvedModel> {
    if (selector.kind === "alias") {
      const alias = selector.alias;
      const model = await this.resolve(name, { kind: "exact", version: await aliasTarget(this, name, alias) });
      if (model.yanked)
        throw new StoreError(`alias @${alias} of "${name}" ${yankedTarget(alias, model.version, model.yanked, this.hints)}`);
      return { ...model, alias };
    }
    const blobs = await this.listBlobs(modelPrefix(name));
    const marked = new Set(blobs.map((b) => b.name));
    const { versions } = groupVersions(name, blobs);
    const where = `in ${this.place} at ${this.endpoint}`;
    if (versions.length === 0) throw new StoreError(`no versions of model "${name}" ${where}`);
    const tried = candidates(versions, selector);
    if (tried.length === 0) {
      const all = versions.map((v) => v.version).join(", ");
      if (selector.kind === "exact") throw new StoreError(`model "${name}" has no version ${selector.version} ${where}; it has: ${all}`);
      throw new StoreError(`model "${name}" has only prereleases (${all}) ${where}; ask for one explicitly or allow prereleases`);
    }
    const skipped: string[] = [];
    for (const listing of tried) {
      const { status, bytes } = await this.inspect(name, listing, versions);
      if (status.state === "complete" && bytes) {
        const { yanked } = await this.yankOf(name, listing.version, marked);
        if (yanked && selector.kind === "latest") {
          this.log(`skipping ${name} ${listing.version}: yanked (${shown(yanked.reason)})`);
          skipped.push(`${listing.version} yanked`);
          continue;
        }
        const signature = listing.files.get(SIGNATURE_NAME);
        return {
          ...(yanked ? { yanked } : {}),
          ...(signature ? { signature: { blobName: signature.name, etag: signature.etag, size: signature.size } } : {}),
          name,
          version: listing.version,
          manifest: status.manifest,
          manifestBytes: bytes,
          manifestSha256: sha256(bytes),
          files: status.manifest.files.map((file) => {
            const blob = listing.files.get(file.path)!;
            return { file, blobName: blob.name, etag: blob.etag };
          }),
        };
      }
      const why = status.state === "complete" ? "manifest unreadable" : status.reason;
      const state = status.state === "invalid" ? "invalid" : "incomplete";
      if (selector.kind === "exact") {
        throw new StoreError(`${name} ${listing.version} is ${state} and cannot be used: ${why}`);
      }
      this.log(`skipping ${name} ${listing.version}: ${state} (${why})`);
      skipped.push(`${listing.version} ${state} (${why})`);
    }
    throw new StoreError(`no complete version of "${name}" matches ${describeSelector(selector)} ${where}; skipped: ${skipped.join("; ")}`);
  }

  /** The version's yank, read only when the listing shows a mark for it. */
  private async yankOf(name: string, version: string, blobNames: ReadonlySet<string>): Promise<{ yanked?: YankInfo }> {
    if (!blobNames.has(yankBlobName(name, version))) return {};
    const yanked = await readYank(this, name, version);
    return yanked ? { yanked } : {};
  }

  /**
   * A version's status, with its manifest's exact bytes (read pinned to the listed ETag) when it
   * has one. `versions` is the whole listing, for versions equal in precedence.
   */
  private async inspect(
    name: string,
    listing: VersionListing,
    versions: readonly VersionListing[],
  ): Promise<{ status: VersionStatus; bytes?: Buffer }> {
    const entry = listing.files.get(MANIFEST_NAME);
    if (!entry) return { status: versionStatus(name, listing, undefined) };
    const earlier = earlierEqualVersion(listing, versions);
    if (earlier) return { status: duplicateStatus(earlier) };
    if (entry.size > MAX_MANIFEST_BYTES) {
      return { status: { state: "invalid", reason: `${MANIFEST_NAME} is ${entry.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit` } };
    }
    const read = await this.call(`read ${versionPrefix(name, listing.version)}${MANIFEST_NAME}`, () =>
      this.backend.readSmall(entry.name, { maxBytes: MAX_MANIFEST_BYTES, etag: entry.etag }),
    );
    if (!read) throw new StoreError(`${entry.name} went away while it was being read; run again`);
    const bytes = read.bytes;
    return { status: versionStatus(name, listing, bytes), bytes };
  }
}

/**
 * An alias as list shows it, judged as resolving it would judge it (from the listing): an invalid
 * record, or a version that is gone, not complete or yanked, does not resolve. A removed alias is
 * not shown.
 */
function aliasReport(a: AliasEntry, versions: readonly VersionReport[], hints: Hints): AliasReport[] {
  if (a.invalid !== undefined) return [{ alias: a.alias, version: null, resolves: false, reason: `is invalid: ${a.invalid}` }];
  if (a.version === null) return [];
  const v = versions.find((r) => r.version === a.version);
  const move = `move it (${hints.setAlias(a.alias)})`;
  const reason = !v
    ? `points at ${a.version}, which the store does not have; ${move}`
    : v.status.state !== "complete"
      ? `points at ${a.version}, which is ${v.status.state} (${v.status.reason}); ${move}`
      : v.yanked
        ? yankedTarget(a.alias, a.version, v.yanked, hints)
        : undefined;
  return [{ alias: a.alias, version: a.version, resolves: reason === undefined, ...(reason ? { reason } : {}) }];
}

export function sha256(data: Buffer | string): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Like Promise.all over `items`, at most `limit` at a time, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
