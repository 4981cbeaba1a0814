/**
 * Which directories fetch may replace: its own (marker, unchanged model.json, only listed files),
 * now including the model.sig it wrote for a signed version, and never one whose model.sig is not
 * the one fetch wrote.
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { replaceProblem, writeFetchMarker } from "../../dagger/src/model-store/fetch-marker.js";
import { randomModel, tempDir } from "../support/model-fixtures.js";

/** A directory as fetch leaves it: model files, model.json, optionally model.sig, and the completed marker. */
async function fetched(signature?: Buffer): Promise<string> {
  const dir = randomModel(tempDir("fetch-marker-"), "1.0.0", 1024);
  const manifestSha256 = createHash("sha256")
    .update(readFileSync(join(dir, "model.json")))
    .digest("hex");
  if (signature) writeFileSync(join(dir, "model.sig"), signature);
  await writeFetchMarker(dir, manifestSha256, signature);
  return dir;
}

test("a fetched unsigned version may be replaced", async () => {
  assert.is(await replaceProblem(await fetched()), undefined);
});

test("a fetched signed version (its model.sig written by fetch) may be replaced", async () => {
  assert.is(await replaceProblem(await fetched(randomBytes(300))), undefined);
});

test("a model.sig that is not the one fetch wrote is not fetch's: refused, naming it", async () => {
  const dir = await fetched(randomBytes(300));
  writeFileSync(join(dir, "model.sig"), randomBytes(300));
  assert.match((await replaceProblem(dir)) ?? "", `files fetch did not write ("model.sig")`);
});

test("a model.sig beside an unsigned fetch is someone else's: refused", async () => {
  const dir = await fetched();
  writeFileSync(join(dir, "model.sig"), randomBytes(300));
  assert.match((await replaceProblem(dir)) ?? "", `files fetch did not write ("model.sig")`);
});

test.run();
