/** A model directory as fetch wrote it, checked: every file model.json lists hashes to its sha256. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as assert from "uvu/assert";
import { parseManifest } from "../../dagger/src/model-store/manifest.js";

/** The version in a fetched directory, after checking every file against its model.json. */
export function fetchedVersion(path: string): string {
  const m = parseManifest(readFileSync(join(path, "model.json")));
  for (const f of m.files)
    assert.is(
      createHash("sha256")
        .update(readFileSync(join(path, f.path)))
        .digest("hex"),
      f.sha256,
      f.path,
    );
  return m.version;
}
