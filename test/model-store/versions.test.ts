/** Version grouping, completeness and selection: which version "latest" or a pin picks. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { StoreError } from "../../dagger/src/model-store/errors.js";
import { splitBlobName } from "../../dagger/src/model-store/layout.js";
import {
  BlobEntry,
  candidates,
  earlierEqualVersion,
  groupVersions,
  parseSelector,
  versionStatus,
} from "../../dagger/src/model-store/versions.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";

const SHA = "a".repeat(64);
const blob = (name: string, size = 4): BlobEntry => ({ name, size, etag: `"${name}"` });
const manifest = (version: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ name: "m", version, files: [{ path: "model.onnx", sha256: SHA, size: 4 }], ...MODEL_JSON_FIELDS, ...extra });

const LISTING = [
  "m/1.0.0/model.onnx",
  "m/1.0.0/model.json",
  "m/1.10.0/model.onnx",
  "m/1.10.0/model.json",
  "m/1.2.0/model.onnx",
  "m/1.2.0/model.json",
  "m/2.0.0-rc.1/model.onnx",
  "m/2.0.0-rc.1/model.json",
  "m/2.0.0/model.onnx", // half-uploaded: no manifest
  "m/latest/model.onnx", // not a version
  "other/9.9.9/model.json", // another model
].map((n) => blob(n));

test("groupVersions: by version, semver order (1.10 > 1.2), non-semver folders reported apart", () => {
  const { versions, ignored } = groupVersions("m", LISTING);
  assert.equal(
    versions.map((v) => v.version),
    ["2.0.0", "2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0"],
  );
  assert.equal(ignored, ["latest"]);
  assert.equal([...versions[0]!.files.keys()], ["model.onnx"]);
});

test("versionStatus: complete only with a valid manifest for this version and every file at its size; a manifest that cannot be fetched is invalid", () => {
  const { versions } = groupVersions("m", LISTING);
  const v = (s: string) => versions.find((x) => x.version === s)!;
  assert.is(versionStatus("m", v("1.2.0"), manifest("1.2.0")).state, "complete");
  const noManifest = versionStatus("m", v("2.0.0"), undefined);
  assert.equal(noManifest, { state: "incomplete", reason: "no model.json (upload unfinished or abandoned)" });
  const wrongVersion = versionStatus("m", v("1.2.0"), manifest("1.3.0"));
  assert.match(wrongVersion.state === "invalid" ? wrongVersion.reason : "", /describes m 1.3.0, not m 1.2.0/);
  const missingFile = versionStatus(
    "m",
    v("1.2.0"),
    manifest("1.2.0", {
      files: [
        { path: "model.onnx", sha256: SHA, size: 4 },
        { path: "extra.bin", sha256: SHA, size: 1 },
      ],
    }),
  );
  assert.match(missingFile.state === "invalid" ? missingFile.reason : "", /"extra.bin" is missing/);
  const wrongSize = versionStatus("m", v("1.2.0"), manifest("1.2.0", { files: [{ path: "model.onnx", sha256: SHA, size: 5 }] }));
  assert.match(wrongSize.state === "invalid" ? wrongSize.reason : "", /4 bytes, model.json says 5/);
  const garbage = versionStatus("m", v("1.2.0"), "{not json");
  assert.match(garbage.state === "invalid" ? garbage.reason : "", /not valid JSON/);
});

test("candidates: latest skips prereleases unless asked; exact matches only itself", () => {
  const { versions } = groupVersions("m", LISTING);
  const names = (sel: Parameters<typeof candidates>[1]) => candidates(versions, sel).map((v) => v.version);
  assert.equal(names({ kind: "latest", prerelease: false }), ["2.0.0", "1.10.0", "1.2.0", "1.0.0"]);
  assert.equal(names({ kind: "latest", prerelease: true }), ["2.0.0", "2.0.0-rc.1", "1.10.0", "1.2.0", "1.0.0"]);
  assert.equal(names({ kind: "exact", version: "1.2.0" }), ["1.2.0"]);
  assert.equal(names({ kind: "exact", version: "3.0.0" }), []);
});

test("versions equal in precedence: the first published comes first whatever the text order; a plain pin names it", () => {
  const at = (name: string, t: number): BlobEntry => ({ ...blob(name), createdOn: new Date(t) });
  const { versions } = groupVersions("m", [
    at("m/1.0.0+build.1/model.json", 2000),
    blob("m/1.0.0+build.1/model.onnx"),
    at("m/1.0.0+build.2/model.json", 1000),
    blob("m/1.0.0+build.2/model.onnx"),
    blob("m/1.0.0+build.0/model.onnx"), // no manifest: after the published ones
  ]);
  assert.equal(
    versions.map((v) => v.version),
    ["1.0.0+build.2", "1.0.0+build.1", "1.0.0+build.0"],
  );
  assert.is(earlierEqualVersion(versions[0]!, versions), undefined);
  assert.is(earlierEqualVersion(versions[1]!, versions), "1.0.0+build.2");
  assert.is(earlierEqualVersion(versions[2]!, versions), undefined, "no manifest: incomplete, not a duplicate");
  assert.equal(candidates(versions, { kind: "exact", version: "1.0.0" }).map((v) => v.version)[0], "1.0.0+build.2");
  assert.equal(
    candidates(versions, { kind: "exact", version: "1.0.0+build.1" }).map((v) => v.version),
    ["1.0.0+build.1"],
  );
});

test("parseSelector: latest, exact (a leading v tolerated), bad semver is a clear error", () => {
  assert.equal(parseSelector("latest"), { kind: "latest", prerelease: false });
  assert.equal(parseSelector("", true), { kind: "latest", prerelease: true });
  assert.equal(parseSelector("1.2.3-rc.1"), { kind: "exact", version: "1.2.3-rc.1" });
  assert.equal(parseSelector("v1.2.3"), { kind: "exact", version: "1.2.3" });
  for (const bad of ["1.2", "01.2.3", "1.2.3.4", "newest", "1.2.x"]) {
    assert.throws(
      () => parseSelector(bad),
      (e: Error) => e instanceof StoreError && e.message.includes('not "latest" or a semantic version'),
    );
  }
});

test("splitBlobName: only blobs inside a version folder of this model", () => {
  assert.equal(splitBlobName("m", "m/1.0.0/sub/dir/f.bin"), { version: "1.0.0", path: "sub/dir/f.bin" });
  assert.is(splitBlobName("m", "mm/1.0.0/f"), undefined);
  assert.is(splitBlobName("m", "m/1.0.0/"), undefined);
  assert.is(splitBlobName("m", "m/file-at-root"), undefined);
});

test.run();
