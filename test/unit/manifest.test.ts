import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { checksumList, isSafeRelativePath, ManifestError, modelDigest, parseManifest } from "../../dagger/src/model-store/manifest.js";

const sha = "a".repeat(64);
const good = { name: "digits-classifier", version: "1.2.0", files: [{ path: "model.onnx", sha256: sha, size: 10 }], metrics: { heldout_accuracy: 0.97 } };

test("a valid manifest parses and keeps extra fields", () => {
  const m = parseManifest(JSON.stringify(good));
  assert.is(m.name, "digits-classifier");
  assert.is(m.version, "1.2.0");
  assert.equal(m.files, good.files);
  assert.equal(m.extra.metrics, { heldout_accuracy: 0.97 });
  assert.is(checksumList(m), `${sha}  model.onnx\n`);
});

test("every problem is reported at once, with the origin", () => {
  const bad = { name: "Bad Name", version: "1.2", files: [{ path: "../x", sha256: "zz", size: -1 }] };
  const err = assert.throws(() => parseManifest(JSON.stringify(bad), "store/model.json"), (e: Error) =>
    e instanceof ManifestError &&
    e.message.startsWith("store/model.json is invalid") &&
    /"name"/.test(e.message) && /"version"/.test(e.message) &&
    /files\[0\]\.path/.test(e.message) && /files\[0\]\.sha256/.test(e.message) && /files\[0\]\.size/.test(e.message));
  void err;
});

test("not JSON, not an object, no files, duplicate and manifest paths are rejected", () => {
  assert.throws(() => parseManifest("{"), /not valid JSON/);
  assert.throws(() => parseManifest("[]"), /expected a JSON object/);
  assert.throws(() => parseManifest(JSON.stringify({ ...good, files: [] })), /non-empty list/);
  const dup = { ...good, files: [good.files[0], good.files[0]] };
  assert.throws(() => parseManifest(JSON.stringify(dup)), /listed twice/);
  const self = { ...good, files: [{ path: "model.json", sha256: sha, size: 1 }] };
  assert.throws(() => parseManifest(JSON.stringify(self)), /manifest itself/);
});

test("safe relative paths", () => {
  for (const p of ["model.onnx", "sub/dir/file.bin"]) assert.ok(isSafeRelativePath(p), p);
  for (const p of ["", "/abs", "../up", "a/../b", "a//b", "./a", "a\\b"]) assert.not.ok(isSafeRelativePath(p), p);
});

test("model digest: the single file's sha256, or the sha256 of the checksum list", () => {
  const one = parseManifest(JSON.stringify(good));
  assert.is(modelDigest(one), sha);
  const two = parseManifest(JSON.stringify({ ...good, files: [...good.files, { path: "labels.txt", sha256: "b".repeat(64), size: 3 }] }));
  assert.is(modelDigest(two), createHash("sha256").update(checksumList(two)).digest("hex"));
  assert.is.not(modelDigest(two), sha);
});

test.run();
