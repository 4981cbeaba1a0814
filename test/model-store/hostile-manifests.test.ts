/**
 * Manifests that can never be fetched, and versions that are one version by SemVer precedence,
 * against a real server (Azurite for Blob Storage, versitygw for S3: one suite, run on each):
 * publish refuses them before uploading anything; a listing shows the
 * ones planted by other means as invalid (never "complete"), "latest" skips them and a pin refuses them.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { parseSelector } from "../../dagger/src/model-store/versions.js";
import { rejectsWith } from "../support/expect.js";
import { backendTitle, randomModel, startStoreSuite, stopStoreSuite, StoreSuite, writeModelDir } from "../support/model-fixtures.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { BACKENDS } from "../support/store-servers.js";

const latest = parseSelector("latest");
const CONTROL = /[\p{Cc}\p{Cf}]/u;

for (const kind of BACKENDS) {
  const test = suite(`hostile manifests on ${backendTitle(kind)}`);
  let server: StoreSuite["server"];
  let root: string;
  let store: ModelStore;

  test.before(async () => {
    ({ server, root, store } = await startStoreSuite(kind));
  });

  test.after(() => stopStoreSuite({ server, root }));

  const sha = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");
  const entry = (path: string, content = "x") => ({ path, sha256: sha(content), size: Buffer.byteLength(content) });
  const longPath = () => Array.from({ length: 5 }, (_, i) => `${i}${"é".repeat(125)}`).join("/"); // 5 x 251 bytes

  /** Lists that no file system can hold as written, with what the refusal must say. */
  const UNFETCHABLE: [string, ReturnType<typeof entry>[], RegExp][] = [
    ["file and folder", [entry("a"), entry("a/b")], /files\[1\]\.path "a\/b" lies under "a", which is listed as a file/],
    [
      "under the manifest",
      [entry("model.onnx"), entry("model.json/x")],
      /files\[1\]\.path must not be model\.json, model\.sig or \.model-store-fetch\.json, nor a path under them/,
    ],
    ["long name", [entry(`${"n".repeat(256)}.onnx`)], /a name over 255 bytes/],
    ["long path", [entry(longPath())], /over 1024 bytes/],
    ["escape sequence", [entry("model\u001b[32mOK.onnx")], /control or invisible formatting characters/],
    ["line feed", [entry("model.onnx\nfetched digits-classifier 9.9.9 OK")], /control or invisible formatting characters/],
    ["C1 control", [entry("model\u009b2J.onnx")], /control or invisible formatting characters/],
    [
      "same name, other case",
      [entry("Model.bin"), entry("model.bin")],
      /"model.bin" differs from "Model.bin" only in letter case or Unicode normalization/,
    ],
  ];

  test("publish refuses a manifest that can never be fetched, before any upload, and says why", async () => {
    for (const [what, files, message] of UNFETCHABLE) {
      const dir = join(root, `pub-${randomBytes(3).toString("hex")}`);
      mkdirSync(dir);
      writeFileSync(join(dir, "model.json"), JSON.stringify({ name: "refused", version: "1.0.0", files, ...MODEL_JSON_FIELDS }));
      const err = await rejectsWith(readLocalModel(dir), message);
      assert.not.match(err.message.replace(/\n/g, " "), CONTROL, `${what}: raw control character in the message`);
    }
    const big = writeModelDir(join(root, "big-manifest"), "refused", "1.0.0", { "model.onnx": "x" }, { notes: "n".repeat(1024 * 1024) });
    await rejectsWith(readLocalModel(big), /model.json is \d+ bytes, over the 1048576-byte limit/);
    assert.equal(await store.listBlobs("refused/"), []);
  });

  /** Uploads objects for `files` (where the server can hold the name) and a manifest listing them, as a hostile writer could. */
  async function plant(
    name: string,
    version: string,
    files: ReturnType<typeof entry>[],
    manifestExtra: Record<string, unknown> = {},
  ): Promise<void> {
    for (const f of files) {
      const key = `${name}/${version}/${f.path}`;
      // S3 keys are at most 1024 bytes (Blob names 1024 characters): a longer file is left out.
      // versitygw keeps objects as files of a POSIX file system, so a key under another one's name
      // ("a" and "a/b", or under model.json) or with a segment over 255 bytes cannot be stored
      // there, where AWS S3 (flat keys of up to 1024 bytes) stores them: left out too. Either way
      // the manifest is refused for what it lists, with or without the files.
      const nested = [...files.map((o) => o.path), "model.json"].some((o) => f.path.startsWith(`${o}/`));
      const posixOnly = nested || f.path.split("/").some((segment) => Buffer.byteLength(segment) > 255);
      if (CONTROL.test(f.path) || Buffer.byteLength(key) > 1024 || (kind === "s3" && posixOnly)) continue;
      await server.plant(key, "x");
    }
    const manifest = JSON.stringify({ name, version, files, ...MODEL_JSON_FIELDS, ...manifestExtra });
    await server.plant(`${name}/${version}/model.json`, manifest);
  }

  test("planted unfetchable manifests are listed invalid, skipped by latest, refused when pinned", async () => {
    await publishModel(store, await readLocalModel(randomModel(root, "1.0.0", 100, "planted")));
    const planted: [string, RegExp][] = [];
    for (const [i, [, files, message]] of UNFETCHABLE.entries()) {
      await plant("planted", `2.0.${i}`, files);
      planted.push([`2.0.${i}`, message]);
    }
    await plant("planted", "3.0.0", [entry("model.onnx")], { notes: "n".repeat(1024 * 1024) });
    planted.push(["3.0.0", /model.json is \d+ bytes, over the 1048576-byte limit/]);

    const { versions } = await store.listVersions("planted");
    for (const [version, message] of planted) {
      const v = versions.find((x) => x.version === version)!;
      assert.is(v.status.state, "invalid", version);
      const reason = v.status.state === "invalid" ? v.status.reason : "";
      assert.match(reason, message);
      assert.not.match(reason.replace(/\n/g, " "), CONTROL, `${version}: raw control character in the reason`);
    }
    assert.is((await store.resolve("planted", latest)).version, "1.0.0");
    await rejectsWith(
      store.resolve("planted", parseSelector("2.0.0")),
      /planted 2.0.0 is invalid and cannot be used: .*lies under "a", which is listed as a file/s,
    );
  });

  test("versions equal in precedence: publish refuses the second; a planted one is invalid and latest keeps the first published", async () => {
    await publishModel(store, await readLocalModel(randomModel(root, "1.0.0+build.2", 100, "dup")));
    for (const v of ["1.0.0+build.1", "1.0.0"]) {
      await rejectsWith(
        publishModel(store, await readLocalModel(randomModel(root, v, 100, "dup"))),
        /dup 1.0.0(\+build.1)? is the same version as 1.0.0\+build.2 already in (container|bucket) "models" \(build metadata does not order versions\); publish a new version such as 1.0.1/,
      );
    }
    assert.equal(
      (await store.listBlobs("dup/")).map((b) => b.name.split("/")[1]),
      ["1.0.0+build.2", "1.0.0+build.2", "1.0.0+build.2"],
    );

    // What a publisher from before this rule, or a direct writer, leaves: a later one that sorts first as text.
    await new Promise((r) => setTimeout(r, 1100)); // creation times have one-second resolution
    await plant("dup", "1.0.0+build.1", [entry("model.onnx")]);
    const { versions } = await store.listVersions("dup");
    assert.equal(
      versions.map((v) => [v.version, v.status.state]),
      [
        ["1.0.0+build.2", "complete"],
        ["1.0.0+build.1", "invalid"],
      ],
    );
    const shadowed = versions[1]!.status;
    assert.match(
      shadowed.state === "invalid" ? shadowed.reason : "",
      /same version as 1.0.0\+build.2, published earlier \(build metadata does not order versions\)/,
    );
    assert.is((await store.resolve("dup", latest)).version, "1.0.0+build.2");
    assert.is(
      (await store.resolve("dup", parseSelector("1.0.0"))).version,
      "1.0.0+build.2",
      "a pin without build metadata names the one version",
    );
    await rejectsWith(
      store.resolve("dup", parseSelector("1.0.0+build.1")),
      /dup 1.0.0\+build.1 is invalid and cannot be used: same version as 1.0.0\+build.2/,
    );
  });

  test.run();
}
