import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHash } from "node:crypto";
import { checksumList, ManifestError, modelDigest, parseManifest } from "../../dagger/src/model-store/manifest.js";

const sha = "a".repeat(64);
const contract = { format: "onnx", labels: ["0", "1", "2"], input: { name: "input", shape: [null, 64], dtype: "float32" } };
const good = {
  name: "digits-classifier",
  version: "1.2.0",
  files: [{ path: "model.onnx", sha256: sha, size: 10 }],
  ...contract,
  metrics: { heldout_accuracy: 0.97 },
};

test("a valid manifest parses and keeps extra fields", () => {
  const m = parseManifest(JSON.stringify(good));
  assert.is(m.name, "digits-classifier");
  assert.is(m.version, "1.2.0");
  assert.equal(m.files, good.files);
  assert.equal(m.extra, { ...contract, metrics: { heldout_accuracy: 0.97 } });
  assert.is(checksumList(m), `${sha}  model.onnx\n`);
});

test("every problem is reported at once, with the origin", () => {
  const bad = { name: "Bad Name", version: "1.2", files: [{ path: "../x", sha256: "zz", size: -1 }] };
  assert.throws(
    () => parseManifest(JSON.stringify(bad), "store/model.json"),
    (e: Error) =>
      e instanceof ManifestError &&
      e.message.startsWith("store/model.json is invalid") &&
      ["name", "version", "files[0].path", "files[0].sha256", "files[0].size", "format", "labels", "input"].every((f) =>
        e.message.includes(`\n  - ${f} `),
      ),
  );
});

test("not JSON, not UTF-8, not an object, no files, duplicate and manifest paths are rejected", () => {
  assert.throws(() => parseManifest("{"), /not valid JSON/);
  assert.throws(() => parseManifest(Buffer.from([0x7b, 0xff, 0x7d])), /model.json: not valid UTF-8/);
  assert.throws(() => parseManifest("[]"), /expected a JSON object/);
  assert.throws(() => parseManifest(JSON.stringify({ ...good, files: [] })), /files must be a non-empty list/);
  const dup = { ...good, files: [good.files[0], good.files[0]] };
  assert.throws(() => parseManifest(JSON.stringify(dup)), /files\[1\]\.path "model\.onnx" is listed twice/);
  const self = { ...good, files: [...good.files, { path: "model.json", sha256: sha, size: 1 }] };
  assert.throws(() => parseManifest(JSON.stringify(self)), /files\[1\]\.path must not be model\.json/);
});

test("the same manifest as bytes or as text", () => {
  const text = JSON.stringify({ ...good, notes: "café" });
  assert.equal(parseManifest(Buffer.from(text)), parseManifest(text));
});

test("safe relative paths", () => {
  const withPath = (path: string) => JSON.stringify({ ...good, files: [...good.files, { path, sha256: sha, size: 1 }] });
  for (const p of ["labels.txt", "sub/dir/file.bin", "x..y", ".hidden"]) parseManifest(withPath(p));
  for (const p of ["", "/abs", "../up", "a/../b", "a//b", "./a", "a\\b", "a/."]) {
    assert.throws(() => parseManifest(withPath(p)), /files\[1\]\.path must/, JSON.stringify(p));
  }
});

test("model digest: the single file's sha256, or the sha256 of the checksum list", () => {
  const one = parseManifest(JSON.stringify(good));
  assert.is(modelDigest(one), sha);
  const two = parseManifest(JSON.stringify({ ...good, files: [...good.files, { path: "labels.txt", sha256: "b".repeat(64), size: 3 }] }));
  assert.is(modelDigest(two), createHash("sha256").update(checksumList(two)).digest("hex"));
  assert.is.not(modelDigest(two), sha);
});

test.run();
