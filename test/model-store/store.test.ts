/**
 * The store against a real server, once per backend (Azurite for Blob Storage, versitygw for
 * S3; test/support/store-servers.ts): publish, list, resolve, fetch, and every bad input a user
 * can meet, each with its own clear error and nothing left half-done. Sign-in failures are each
 * backend's own (a SAS exists only on Blob Storage), the rest is one suite.
 */
import { readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialError } from "../../dagger/src/credentials/auth-mode.js";
import { BlobBackend } from "../../dagger/src/model-store/blob-backend.js";
import { CLI_LABELS } from "../../dagger/src/model-store/cli-args.js";
import { connect } from "../../dagger/src/model-store/connect.js";
import { StoreError } from "../../dagger/src/model-store/errors.js";
import { fetchModel } from "../../dagger/src/model-store/fetch.js";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { connectS3 } from "../../dagger/src/model-store/s3-connect.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { parseSelector } from "../../dagger/src/model-store/versions.js";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "../support/azure.js";
import { requireCacheRoom } from "../support/disk.js";
import { rejectsWith } from "../support/expect.js";
import { FaultProxy } from "../support/fault-proxy.js";
import {
  backendTitle,
  FAST_RETRY,
  randomModel,
  strayEntries,
  tempDir,
  writeModelDir,
  startStoreSuite,
  stopStoreSuite,
  StoreSuite,
} from "../support/model-fixtures.js";
import { BACKENDS, S3_TEST_LABELS } from "../support/store-servers.js";

const NAME = "digits-classifier";
const latest = parseSelector("latest");

for (const kind of BACKENDS) {
  const test = suite(`store on ${backendTitle(kind)}`);
  let server: StoreSuite["server"];
  let root: string;
  let store: ModelStore;
  /** How messages name the place and its endpoint on this backend. */
  const place = (name: string) =>
    kind === "blob" ? `container "${name}" at http://127.0.0.1:\\d+/devstoreaccount1` : `bucket "${name}" at http://127.0.0.1:\\d+`;

  test.before(async () => {
    ({ server, root, store } = await startStoreSuite(kind));
  });

  test.after(() => stopStoreSuite({ server, root }));

  const publish = async (dir: string, s = store) => publishModel(s, await readLocalModel(dir));
  const blobNames = async (prefix: string) => (await store.listBlobs(prefix)).map((b) => b.name).sort();
  const outDir = () => join(root, `out-${randomBytes(4).toString("hex")}`);

  function sas(permissions: string, expiresOn: Date, startsOn?: Date): string {
    const az = server.azurite!;
    return generateBlobSASQueryParameters(
      { containerName: "models", permissions: ContainerSASPermissions.parse(permissions), expiresOn, ...(startsOn ? { startsOn } : {}) },
      new StorageSharedKeyCredential(az.account, az.key),
    ).toString();
  }

  /** A Blob store with other sign-in fields (the SAS and key cases). */
  function storeWith(auth: Record<string, unknown>, access: "read" | "write" = "read", container = "models"): ModelStore {
    const az = server.azurite!;
    return new ModelStore(
      new BlobBackend(connect({ container, auth: { accountUrl: az.accountUrl, ...auth }, retry: FAST_RETRY }, CLI_LABELS, access)),
    );
  }

  /** An S3 store with other keys. */
  function s3StoreWith(auth: { accessKeyId: string; secretAccessKey: string }, bucket = "models"): ModelStore {
    const s3 = server.s3!;
    return new ModelStore(connectS3({ bucket, region: s3.region, endpoint: s3.endpoint, auth, retry: FAST_RETRY }, S3_TEST_LABELS).backend);
  }

  test("round trip: publish, resolve latest, fetch; files identical, manifest byte-identical, nothing else left", async () => {
    const dir = writeModelDir(join(root, "rt"), "round-trip", "1.0.0", {
      "model.onnx": randomBytes(300_000),
      "vocab/labels.json": "[0,1,2]",
    });
    const published = await publish(dir);
    assert.equal([published.files, published.uploadedBytes, published.reusedFiles], [2, 300_007, 0]);
    assert.equal(await blobNames("round-trip/"), [
      "round-trip/1.0.0/model.json",
      "round-trip/1.0.0/model.onnx",
      "round-trip/1.0.0/vocab/labels.json",
    ]);

    const resolved = await store.resolve("round-trip", latest);
    assert.is(resolved.version, "1.0.0");
    assert.is(resolved.manifestSha256, published.manifestSha256);
    const parent = tempDir("fetch-parent-", root);
    const target = join(parent, "model");
    const r = await fetchModel(store, resolved, target);
    assert.equal([r.downloadedBytes, r.reusedBytes, r.upToDate], [300_007, 0, false]);
    for (const f of ["model.onnx", "vocab/labels.json", "model.json"]) {
      assert.ok(readFileSync(join(target, f)).equals(readFileSync(join(dir, f))), `${f} differs`);
    }
    assert.equal(strayEntries(parent), ["model"], "no temp directories left beside the target");
    rmSync(parent, { recursive: true });
  });

  test("latest = highest complete release (semver order); prereleases only when asked; exact pins", async () => {
    for (const v of ["1.2.0", "1.10.0", "1.9.3", "2.0.0-rc.1"]) await publish(randomModel(root, v, 1000, "ordered"));
    assert.is((await store.resolve("ordered", latest)).version, "1.10.0");
    assert.is((await store.resolve("ordered", parseSelector("latest", true))).version, "2.0.0-rc.1");
    assert.is((await store.resolve("ordered", parseSelector("1.2.0"))).version, "1.2.0");
  });

  test("a half-uploaded version is listed incomplete, skipped by latest, refused when pinned", async () => {
    await publish(randomModel(root, "1.0.0", 1000, "half"));
    // Files of 1.1.0 without its manifest: what a publisher that died mid-way leaves.
    await server.plant("half/1.1.0/model.onnx", "abc");
    assert.is((await store.resolve("half", latest)).version, "1.0.0");
    const { versions } = await store.listVersions("half");
    assert.equal(
      versions.map((v) => [v.version, v.status.state]),
      [
        ["1.1.0", "incomplete"],
        ["1.0.0", "complete"],
      ],
    );
    assert.match(versions[0]!.status.state === "incomplete" ? versions[0]!.status.reason : "", /no model.json/);
    await rejectsWith(store.resolve("half", parseSelector("1.1.0")), /half 1.1.0 is incomplete and cannot be used: no model.json/);
  });

  test("a blob altered after publishing: hash error, nothing on disk, an earlier model left intact", async () => {
    const dir = randomModel(root, "1.0.0", 200_000, "tampered");
    await publish(dir);
    const parent = tempDir("fetch-parent-", root);
    const target = join(parent, "model");
    await fetchModel(store, await store.resolve("tampered", latest), target);
    const before = readFileSync(join(target, "model.onnx"));
    await publish(randomModel(root, "1.1.0", 200_000, "tampered"));
    // Same size, different bytes: only the hash can tell.
    await server.plant("tampered/1.1.0/model.onnx", randomBytes(200_000));
    const err = await rejectsWith(
      fetchModel(store, await store.resolve("tampered", latest), target),
      /model.onnx does not match model.json: sha256 [0-9a-f]{64} instead of [0-9a-f]{64}/,
    );
    assert.instance(err, StoreError);
    assert.ok(readFileSync(join(target, "model.onnx")).equals(before), "the earlier model must be untouched");
    assert.match(readFileSync(join(target, "model.json"), "utf8"), /"1.0.0"/);
    assert.equal(strayEntries(parent), ["model"], "no partial directory left");
    const fresh = join(parent, "fresh");
    await rejectsWith(fetchModel(store, await store.resolve("tampered", latest), fresh), /does not match model.json/);
    assert.not.ok(existsSync(fresh));
    assert.equal(strayEntries(parent), ["model"]);
    rmSync(parent, { recursive: true });
  });

  test("unknown version, bad semver, unknown model, empty and missing container: each its own message", async () => {
    await publish(randomModel(root, "1.0.0", 100, "known"));
    await rejectsWith(
      store.resolve("known", parseSelector("9.9.9")),
      new RegExp(`model "known" has no version 9.9.9 in ${place("models")}; it has: 1.0.0`),
    );
    assert.throws(() => parseSelector("1.0"), /not "latest" or a semantic version/);
    await rejectsWith(store.resolve("never-published", latest), new RegExp(`no versions of model "never-published" in ${place("models")}`));
    await server.createContainer("empty");
    await rejectsWith(
      server.store({ container: "empty" }).resolve("known", latest),
      new RegExp(`no versions of model "known" in ${place("empty")}`),
    );
    await rejectsWith(
      server.store({ container: "missing" }).resolve("known", latest),
      new RegExp(`${place("missing")} does not exist: create it`),
    );
    await publish(randomModel(root, "2.0.0-beta.1", 100, "only-pre"));
    await rejectsWith(store.resolve("only-pre", latest), /has only prereleases \(2.0.0-beta.1\)/);
  });

  if (kind === "blob")
    test("credentials: wrong key, expired SAS, tampered SAS, read-only SAS for publishing", async () => {
      const wrongKey = Buffer.from(randomBytes(64)).toString("base64");
      const err = await rejectsWith(
        storeWith({ accountKey: wrongKey }).resolve(NAME, latest),
        /the storage service rejected the account key \(AZURE_STORAGE_KEY\) while trying to list/,
      );
      assert.not.ok(err.message.includes(wrongKey));

      const hour = 3600_000;
      const expired = sas("rl", new Date(Date.now() - hour), new Date(Date.now() - 2 * hour));
      assert.throws(
        () => storeWith({ sasToken: expired }),
        (e: Error) => e instanceof CredentialError && /AZURE_STORAGE_SAS_TOKEN: the SAS token expired at/.test(e.message),
      );

      const tampered = sas("rl", new Date(Date.now() + hour)).replace(/sig=[^&]+/, "sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA%3D");
      await rejectsWith(storeWith({ sasToken: tampered }).resolve(NAME, latest), /rejected the SAS token \(AZURE_STORAGE_SAS_TOKEN\)/);

      const readOnly = sas("rl", new Date(Date.now() + hour));
      assert.throws(() => storeWith({ sasToken: readOnly }, "write"), /grants "rl" but publishing also needs write \(w\) or create \(c\)/);
      // The server agrees: a read-only token that slipped past (no sp to read) is refused when it writes.
      const ro = storeWith({ sasToken: readOnly }, "read");
      const dir = randomModel(root, "7.0.0", 100, "ro-sas");
      await rejectsWith(
        publishModel(ro, await readLocalModel(dir)),
        /the SAS token \(AZURE_STORAGE_SAS_TOKEN\) is not allowed to upload ro-sas\/7.0.0\//,
      );
      // A read-only token still fetches.
      await publish(randomModel(root, "1.0.0", 100, "ro-read"));
      assert.is((await ro.resolve("ro-read", latest)).version, "1.0.0");
    });

  if (kind === "s3")
    test("credentials: a wrong secret or an unknown key is rejected, never shown", async () => {
      const s3 = server.s3!;
      await publish(randomModel(root, "1.0.0", 100, "s3-creds"));
      const wrongSecret = randomBytes(30).toString("base64");
      const err = await rejectsWith(
        s3StoreWith({ accessKeyId: s3.accessKeyId, secretAccessKey: wrongSecret }).resolve("s3-creds", latest),
        /the S3 service rejected the AWS access keys \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\) while trying to list s3-creds\/ .*SignatureDoesNotMatch/,
      );
      assert.not.ok(err.message.includes(wrongSecret));
      await rejectsWith(
        s3StoreWith({ accessKeyId: "AKIAUNKNOWNUNKNOWN00", secretAccessKey: wrongSecret }).resolve("s3-creds", latest),
        // AWS answers 403 InvalidAccessKeyId; versitygw 404 XAdminUserNotFound: both are the same refusal.
        /rejected the AWS access keys .*\((InvalidAccessKeyId|XAdminUserNotFound)\)/,
      );
    });

  test("publish checks the directory before uploading anything and lists every problem", async () => {
    const dir = randomModel(root, "3.0.0", 1000, "invalid-dir");
    writeFileSync(join(dir, "model.onnx"), randomBytes(1000)); // same size, other bytes
    writeFileSync(join(dir, "notes.txt"), "scratch");
    rmSync(join(dir, "labels.json"));
    const err = await rejectsWith(readLocalModel(dir), /does not match its model.json; nothing was uploaded/);
    assert.match(err.message, /model.onnx has sha256 [0-9a-f]{64}, model.json says/);
    assert.match(err.message, /labels.json is listed but missing/);
    assert.match(err.message, /notes.txt is not listed in model.json/);
    assert.equal(await blobNames("invalid-dir/"), []);
    await rejectsWith(readLocalModel(join(root, "nope")), /does not exist/);
    mkdirSync(join(root, "no-manifest"));
    await rejectsWith(readLocalModel(join(root, "no-manifest")), /has no model.json: produce it with model\/train.py/);
    const ok = randomModel(root, "3.0.0", 100, "version-guard");
    await rejectsWith(
      publishModel(store, await readLocalModel(ok), { version: "3.0.1" }),
      /model.json says version 3.0.0 but 3.0.1 was asked for/,
    );
    assert.equal(await blobNames("version-guard/"), []);
  });

  test("publish refuses an existing version, naming it; an interrupted publish can be completed", async () => {
    const dir = randomModel(root, "1.0.0", 5000, "immutable");
    await publish(dir);
    await rejectsWith(
      publish(randomModel(root, "1.0.0", 5000, "immutable")),
      new RegExp(
        `immutable 1.0.0 already exists in ${kind === "blob" ? "container" : "bucket"} "models" \\(published on .*\\); versions are immutable: publish a new version`,
      ),
    );
    // Interrupted: files uploaded (with their sha256 metadata), manifest never written.
    const retry = randomModel(root, "2.0.0", 5000, "immutable");
    const local = await readLocalModel(retry);
    await publishModel(store, local);
    await server.remove("immutable/2.0.0/model.json");
    const again = await publishModel(store, local);
    assert.equal([again.reusedFiles, again.uploadedBytes], [2, 0]);
    assert.is((await store.resolve("immutable", latest)).version, "2.0.0");
  });

  test("publish proves the bytes of a blob already there: a planted one with the right size and sha256 metadata is refused", async () => {
    const dir = randomModel(root, "1.0.0", 50_000, "planted-blob");
    const onnx = readFileSync(join(dir, "model.onnx"));
    const local = await readLocalModel(dir);
    const listed = local.manifest.files.find((f) => f.path === "model.onnx")!;
    await server.plant("planted-blob/1.0.0/model.onnx", randomBytes(onnx.length), { sha256: listed.sha256 });
    await rejectsWith(publishModel(store, local), /planted-blob\/1.0.0\/model.onnx already exists with different content/);
    assert.not.ok(
      await blobNames("planted-blob/").then((n) => n.includes("planted-blob/1.0.0/model.json")),
      "no manifest: the version must not become complete",
    );
    const { versions } = await store.listVersions("planted-blob");
    assert.equal(
      versions.map((v) => v.status.state),
      ["incomplete"],
    );
  });

  test("racing publishers of one version: exactly one wins, and the store holds the winner's model", async () => {
    for (const sameFiles of [false, true]) {
      const name = sameFiles ? "race-same" : "race-diff";
      const a = randomModel(root, "1.0.0", 3_000_000, name);
      const b = sameFiles ? join(root, `${name}-b`) : randomModel(root, "1.0.0", 3_000_000, name);
      if (sameFiles) {
        // Same files, different manifest bytes (another training run's metrics).
        const m = JSON.parse(readFileSync(join(a, "model.json"), "utf8"));
        writeModelDir(
          b,
          name,
          "1.0.0",
          { "model.onnx": readFileSync(join(a, "model.onnx")), "labels.json": readFileSync(join(a, "labels.json")) },
          { metrics: { accuracy: 0.5 }, created: m.created },
        );
      }
      const racers = [a, b];
      const results = await Promise.allSettled(
        racers.map(async (d) => publishModel(server.store(), await readLocalModel(d), { blockSize: 1024 * 1024 })),
      );
      const winners = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
      assert.is(
        winners.length,
        1,
        `${name}: ${results.map((r) => (r.status === "rejected" ? (r.reason as Error).message : "ok")).join(" | ")}`,
      );
      const loser = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.match((loser.reason as Error).message, /published by someone else|already exists with different content/);
      const target = outDir();
      await fetchModel(store, await store.resolve(name, latest), target);
      const winner = racers[winners[0]!]!;
      for (const f of ["model.json", "model.onnx"])
        assert.ok(readFileSync(join(target, f)).equals(readFileSync(join(winner, f))), `${name}: ${f} is not the winner's`);
    }
  });

  test("an unchanged model costs 0 bytes: refetch, a new target from the cache, a new version sharing files", async () => {
    await publish(randomModel(root, "1.0.0", 2_000_000, "unchanged"));
    const proxy = await new FaultProxy(server.port).start();
    try {
      const counted = server.store({ viaPort: proxy.port });
      const cache = join(root, "cache");
      requireCacheRoom(root);
      const target = outDir();
      const first = await fetchModel(counted, await counted.resolve("unchanged", latest), target, { cacheDir: cache });
      const total = 2_000_000 + JSON.stringify([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).length;
      assert.is(first.downloadedBytes, total);
      assert.ok(proxy.bytesToClient >= 2_000_000);

      proxy.reset();
      const again = await fetchModel(counted, await counted.resolve("unchanged", latest), target, { cacheDir: cache });
      assert.equal([again.upToDate, again.downloadedBytes], [true, 0]);
      assert.ok(proxy.bytesToClient < 16_000, `refetch moved ${proxy.bytesToClient} bytes (listing + manifest only expected)`);

      proxy.reset();
      const elsewhere = await fetchModel(counted, await counted.resolve("unchanged", latest), outDir(), { cacheDir: cache });
      assert.equal([elsewhere.upToDate, elsewhere.downloadedBytes, elsewhere.reusedBytes], [false, 0, total]);
      assert.ok(proxy.bytesToClient < 16_000, `cache-fed fetch moved ${proxy.bytesToClient} bytes`);

      // 1.1.0 keeps model.onnx and changes labels.json: only the changed file travels.
      const v1 = join(root, "unchanged-1.1.0");
      writeModelDir(v1, "unchanged", "1.1.0", { "model.onnx": readFileSync(join(target, "model.onnx")), "labels.json": "[9,8,7]" });
      await publish(v1);
      proxy.reset();
      const upgraded = await fetchModel(counted, await counted.resolve("unchanged", latest), target, { cacheDir: cache });
      assert.equal([upgraded.version, upgraded.downloadedBytes, upgraded.reusedBytes], ["1.1.0", 7, 2_000_000]);
      assert.match(readFileSync(join(target, "model.json"), "utf8"), /"1.1.0"/);
    } finally {
      await proxy.stop();
    }
  });

  test("fetch refuses to replace a directory that is not a fetched model", async () => {
    await publish(randomModel(root, "1.0.0", 100, "guarded"));
    const precious = join(root, "precious");
    mkdirSync(precious);
    writeFileSync(join(precious, "thesis.tex"), "years of work");
    await rejectsWith(
      fetchModel(store, await store.resolve("guarded", latest), precious),
      /refusing to replace .*precious: fetch did not write it \(it has no .model-store-fetch.json\)/,
    );
    assert.is(readFileSync(join(precious, "thesis.tex"), "utf8"), "years of work");
  });

  test.run();
}
