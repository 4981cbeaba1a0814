/**
 * What `model-versions` returns: the store's listing for the next CI step (`... model-versions
 * latest`), all of it as JSON (`model-versions json`, the CLI's `list --json`), and the table
 * people read, drawn from that same document.
 */
import { func, object } from "@dagger.io/dagger";
import { ListingJson, listingTable } from "./listing.js";

/** A model's versions in the store. Every field is set ("" or [] when there is nothing). */
@object()
export class ModelVersions {
  /** The model's name (its folder in the store). */
  @func() name = "";
  /** The version "latest" picks now (the highest complete, not-yanked release); "" when none does. */
  @func() latest = "";
  /** Every version, highest first, whatever its state. */
  @func() versions: string[] = [];
  /** The complete versions (model.json written and valid), highest first; yanked ones included. */
  @func() complete: string[] = [];
  /** The table for people: each version's files, size, publish time, metrics and state (aliases, yanks, latest). */
  @func() summary = "";
  /** The whole listing as one JSON document, as the CLI's list --json prints it (states, reasons, aliases, yanks, metrics). */
  @func() json = "";
}

/** The CLI's `list --json` output as the returned object; a StoreError-like Error when it is not one. */
export function modelVersions(stdout: string): ModelVersions {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  let doc: ListingJson;
  try {
    doc = JSON.parse(line) as ListingJson;
  } catch {
    throw new Error(`model store list: unexpected output ${JSON.stringify(line.slice(0, 200))}`);
  }
  if (typeof doc?.name !== "string" || !Array.isArray(doc.versions)) {
    throw new Error(`model store list: unexpected output ${JSON.stringify(line.slice(0, 200))}`);
  }
  return Object.assign(new ModelVersions(), {
    name: doc.name,
    latest: doc.latest ?? "",
    versions: doc.versions.map((v) => v.version),
    complete: doc.versions.filter((v) => v.complete).map((v) => v.version),
    summary: listingTable(doc, { metrics: true }),
    json: line,
  });
}
