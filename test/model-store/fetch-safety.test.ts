/**
 * Fetch against a hostile store and an unfriendly local disk, with a real server (Azurite for
 * Blob Storage, versitygw for S3: one suite, run on each) and the real file system: a full disk (a small tmpfs where this machine lets us mount one, and everywhere a
 * file size limit set with `ulimit -f`), size ceilings checked before the first byte, directories
 * fetch did not write left alone, leftovers of killed fetches cleaned, and fetched files that
 * cannot damage the content cache.
 */
import { randomBytes } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { cachePath, fetchModel } from "../../dagger/src/model-store/fetch.js";
import { writeFetchMarker } from "../../dagger/src/model-store/fetch-marker.js";
import { hashFile } from "../../dagger/src/model-store/local-files.js";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { ModelStore, ResolvedModel } from "../../dagger/src/model-store/store.js";
import { parseSelector } from "../../dagger/src/model-store/versions.js";
import { rejectsWith } from "../support/expect.js";
import { FaultProxy } from "../support/fault-proxy.js";
import { startCli } from "../support/model-cli.js";
import {
  backendTitle,
  FAST_DOWNLOAD,
  fillDisk,
  mountTmpfs,
  randomModel,
  strayEntries,
  tempDir,
  writeModelDir,
  startStoreSuite,
  stopStoreSuite,
  StoreSuite,
} from "../support/model-fixtures.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { BACKENDS } from "../support/store-servers.js";
import { requireCacheRoom } from "../support/disk.js";

const MiB = 1024 * 1024;
const TiB = 1024 ** 4;
const latest = parseSelector("latest");

for (const kind of BACKENDS) {
  const test = suite(`fetch safety on ${backendTitle(kind)}`);
  let server: StoreSuite["server"];
  let proxy: FaultProxy;
  let root: string;
  let store: ModelStore;
  let viaProxy: ModelStore;
  const logs: string[] = [];

  test.before(async () => {
    ({ server, root, store } = await startStoreSuite(kind));
    proxy = await new FaultProxy(server.port).start();
    viaProxy = server.store({ viaPort: proxy.port, log: (l) => logs.push(l) });
  });

  test.after(async () => {
    await proxy?.stop();
    await stopStoreSuite({ server, root });
  });

  test.before.each(() => {
    proxy.reset();
    logs.length = 0;
  });

  const publish = async (dir: string) => publishModel(store, await readLocalModel(dir));

  /** `p` settled within `ms`, or a failure saying it hung (what a full disk used to do). */
  async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)),
    );
    try {
      return await Promise.race([p, hung]);
    } finally {
      clearTimeout(timer);
    }
  }

  // S3 has no sparse objects (a 1 TiB object is 1 TiB of data): its case below takes a real, small one.
  if (kind === "blob")
    test("a 1 TiB manifest over a sparse page blob is refused before the first byte: maximum file size, then free space", async () => {
      const c = server.azurite!.admin.getContainerClient("models");
      await c.getPageBlobClient("huge/1.0.0/model.onnx").create(TiB); // no data: Azure and Azurite store it sparse
      const manifest = JSON.stringify({
        name: "huge",
        version: "1.0.0",
        files: [{ path: "model.onnx", sha256: "0".repeat(64), size: TiB }],
        ...MODEL_JSON_FIELDS,
      });
      await c.getBlockBlobClient("huge/1.0.0/model.json").upload(manifest, manifest.length);
      const resolved = await viaProxy.resolve("huge", latest);
      const parent = tempDir("fetch-parent-", root);
      const stop = new AbortController();
      // A guard against downloading a TiB, not a measurement: the refusal comes before any request.
      const timer = setTimeout(() => stop.abort(), 10_000);
      proxy.reset();
      try {
        await rejectsWith(
          fetchModel(viaProxy, resolved, join(parent, "model"), { download: FAST_DOWNLOAD, signal: stop.signal }),
          /huge 1.0.0: model.onnx is 1.00 TiB, over the maximum file size of 4.00 GiB \(--max-file-size, MODEL_STORE_MAX_FILE_SIZE\)/,
        );
        assert.is(proxy.bytesToClient, 0, "nothing requested");
        assert.equal(strayEntries(parent), []);
        if (statfsSync(parent).bavail * statfsSync(parent).bsize < TiB) {
          await rejectsWith(
            fetchModel(viaProxy, resolved, join(parent, "model"), { download: FAST_DOWNLOAD, maxFileBytes: 2 * TiB, signal: stop.signal }),
            /not enough free space for huge 1.0.0 in .*fetch-parent-\w+: it needs 1.00 TiB, [\d.]+ [KMGT]iB are free; free some space or fetch to another disk/,
          );
          assert.is(proxy.bytesToClient, 0, "nothing requested");
          assert.equal(strayEntries(parent), []);
        }
      } finally {
        clearTimeout(timer);
      }
    });

  if (kind === "s3")
    test("a file over the maximum file size is refused before the first byte, with its size and the flag to raise it", async () => {
      await publish(randomModel(root, "1.0.0", 3 * MiB, "over-max"));
      const resolved = await viaProxy.resolve("over-max", latest);
      const parent = tempDir("fetch-parent-", root);
      proxy.reset();
      await rejectsWith(
        fetchModel(viaProxy, resolved, join(parent, "model"), { download: FAST_DOWNLOAD, maxFileBytes: MiB }),
        /over-max 1.0.0: model.onnx is 3.00 MiB, over the maximum file size of 1.00 MiB \(--max-file-size, MODEL_STORE_MAX_FILE_SIZE\)/,
      );
      assert.is(proxy.bytesToClient, 0, "nothing requested");
      assert.equal(strayEntries(parent), []);
    });

  test("a full disk (20 MiB tmpfs): too big is refused up front; filling up mid-download fails at once and removes what it wrote", async () => {
    const disk = tempDir("tmpfs-", root);
    const unmount = mountTmpfs(disk, 20);
    if (!unmount) {
      console.log("  (skipped the tmpfs case: this machine does not allow mounting one; the ulimit case below covers the disk error path)");
      return;
    }
    try {
      await publish(randomModel(root, "1.0.0", 24 * MiB, "too-big"));
      proxy.reset();
      await rejectsWith(
        fetchModel(viaProxy, await store.resolve("too-big", latest), join(disk, "model"), { download: FAST_DOWNLOAD }),
        /not enough free space for too-big 1.0.0 in .*: it needs 24.0 MiB, 20.0 MiB are free/,
      );
      assert.is(proxy.bytesToClient, 0, "no model byte requested");
      assert.equal(strayEntries(disk), []);

      await publish(randomModel(root, "1.0.0", 12 * MiB, "fills-up"));
      const resolved = await viaProxy.resolve("fills-up", latest);
      proxy.reset({ stallAfterBytes: { bytes: 2 * MiB, times: 1 } });
      const fetching = fetchModel(viaProxy, resolved, join(disk, "model"), { download: FAST_DOWNLOAD });
      fetching.catch(() => {});
      while (proxy.stalls === 0) await new Promise((r) => setTimeout(r, 20));
      fillDisk(join(disk, "filler")); // something else takes the space while the download waits
      const err = await within(
        rejectsWith(fetching, /cannot write .*model.onnx: no space left on the device \(ENOSPC\)/),
        20_000,
        "the fetch on a full disk",
      );
      assert.match(err.message, /free some space or fetch to another disk; nothing of this fetch was kept/);
      // One resume is the injected stall itself; a disk error taken for a network error would add more.
      const resumes = logs.filter((l) => /resuming/.test(l));
      assert.ok(
        resumes.length <= 1 && resumes.every((l) => /no data for 1500 ms/.test(l)),
        `a disk error taken for a network error:\n${logs.join("\n")}`,
      );
      assert.equal(strayEntries(disk), ["filler"], "everything the fetch wrote is removed");
    } finally {
      unmount();
    }
  });

  test("a file size limit (ulimit -f) hit while fetching: the command fails at once as a disk error and leaves nothing", async () => {
    await publish(randomModel(root, "1.0.0", 8 * MiB, "capped"));
    const parent = tempDir("cli-fetch-", root);
    const run = startCli(
      ["fetch", "--name", "capped", "--out", join(parent, "model"), "--no-cache", ...server.cliFlags()],
      { HOME: root, ...server.cliEnv() },
      { fileSizeBlocks: 4096 }, // 2 MiB in POSIX sh's 512-byte blocks (4 MiB in bash's): under the 8 MiB model either way
    );
    const r = await within(run.done, 30_000, "the fetch past the file size limit");
    assert.is(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      /^error: cannot write .*model.onnx: the file is larger than this file system or the process's file size limit \(ulimit -f\) allows \(EFBIG\)/,
    );
    assert.not.match(r.stderr, /connection lost|resuming/);
    assert.equal(strayEntries(parent), []);
  });

  test("fetch --out refuses a directory it did not write, even one holding a model.json; replaces its own", async () => {
    const v1 = randomModel(root, "1.0.0", 1000, "guarded-dir");
    await publish(v1);
    await publish(randomModel(root, "1.1.0", 1000, "guarded-dir"));
    const project = join(root, "project");
    writeModelDir(project, "guarded-dir", "0.9.0", { "model.onnx": "trained here" });
    writeFileSync(join(project, "NOTES.txt"), "years of notes");
    mkdirSync(join(project, "src"));
    writeFileSync(join(project, "src", "app.py"), "print('hi')");
    await rejectsWith(
      fetchModel(store, await store.resolve("guarded-dir", latest), project),
      /refusing to replace .*project: fetch did not write it \(it has no \.model-store-fetch\.json\); choose a new or empty directory/,
    );
    assert.is(readFileSync(join(project, "NOTES.txt"), "utf8"), "years of notes");
    assert.is(readFileSync(join(project, "src", "app.py"), "utf8"), "print('hi')");
    assert.match(readFileSync(join(project, "model.json"), "utf8"), /"0.9.0"/);

    // Its own directory is replaced by a newer version...
    const fetched = join(root, "fetched-own");
    await fetchModel(store, await store.resolve("guarded-dir", parseSelector("1.0.0")), fetched);
    await fetchModel(store, await store.resolve("guarded-dir", latest), fetched);
    assert.match(readFileSync(join(fetched, "model.json"), "utf8"), /"1.1.0"/);
    assert.is((await readLocalModel(fetched)).manifest.version, "1.1.0", "a fetched directory can be published elsewhere as it is");
    // ...but not once someone has put their own files in it, nor changed its model.json.
    writeFileSync(join(fetched, "NOTES.txt"), "added later");
    await rejectsWith(
      fetchModel(store, await store.resolve("guarded-dir", parseSelector("1.0.0")), fetched),
      /refusing to replace .*fetched-own: it holds files fetch did not write \("NOTES.txt"\); move them away or choose another directory/,
    );
    assert.is(readFileSync(join(fetched, "NOTES.txt"), "utf8"), "added later");
    rmSync(join(fetched, "NOTES.txt"));
    writeFileSync(join(fetched, "model.json"), readFileSync(join(v1, "model.json")));
    await rejectsWith(
      fetchModel(store, await store.resolve("guarded-dir", latest), fetched),
      /refusing to replace .*fetched-own: its model.json changed after it was fetched/,
    );
  });

  test("leftovers of a killed fetch are removed by the next fetch; a running fetch's and look-alikes are kept", async () => {
    await publish(randomModel(root, "1.0.0", 4 * MiB, "killed"));
    const parent = tempDir("cli-fetch-", root);
    proxy.reset({ stallAfterBytes: { bytes: MiB, times: 1 } });
    const run = startCli(["fetch", "--name", "killed", "--out", join(parent, "model"), "--no-cache", ...server.cliFlags(proxy.port)], {
      HOME: root,
      ...server.cliEnv(),
    });
    while (proxy.stalls === 0) await new Promise((r) => setTimeout(r, 20));
    run.child.kill("SIGKILL");
    await run.done;
    const left = strayEntries(parent);
    assert.is(left.length, 1, `one partial directory left by the killed fetch: ${left}`);
    assert.match(left[0]!, /^\.model\.partial-/);

    mkdirSync(join(parent, ".model.partial-someone-elses"));
    writeFileSync(join(parent, ".model.partial-someone-elses", "data"), "not ours");
    const running = join(parent, ".model.partial-running");
    mkdirSync(running);
    await writeFetchMarker(running); // as a fetch in this (live) process writes it
    proxy.reset();
    await fetchModel(viaProxy, await viaProxy.resolve("killed", latest), join(parent, "model"));
    assert.equal(strayEntries(parent).sort(), [".model.partial-running", ".model.partial-someone-elses", "model"]);
    assert.ok(
      logs.some((l) => /removed .*\.model\.partial-\w+, left by a fetch that was stopped/.test(l)),
      logs.join("\n"),
    );
  });

  test("a fetched file is a copy: writing to it cannot damage the cache; a damaged cache entry is detected and replaced", async () => {
    const dir = randomModel(root, "1.0.0", MiB, "cached");
    await publish(dir);
    const resolved: ResolvedModel = await store.resolve("cached", latest);
    const onnx = resolved.manifest.files.find((f) => f.path === "model.onnx")!;
    const cache = join(root, "cache-copies");
    requireCacheRoom(root);
    const first = join(root, "cached-a");
    await fetchModel(store, resolved, first, { cacheDir: cache });
    const entry = cachePath(cache, onnx.sha256);
    assert.is.not(statSync(join(first, "model.onnx")).ino, statSync(entry).ino, "the fetched file must not be the cache entry itself");

    const fd = openSync(join(first, "model.onnx"), "r+"); // written in place, as a careless script would
    writeSync(fd, Buffer.from("garbage"), 0, 7, 0);
    closeSync(fd);
    assert.is(await hashFile(entry), onnx.sha256, "the cache entry is intact");
    const second = await fetchModel(store, resolved, join(root, "cached-b"), { cacheDir: cache });
    assert.is(second.downloadedBytes, 0, "served from the cache");
    assert.ok(readFileSync(join(root, "cached-b", "model.onnx")).equals(readFileSync(join(dir, "model.onnx"))));

    writeFileSync(entry, randomBytes(onnx.size)); // damaged by other means
    const third = await fetchModel(store, resolved, join(root, "cached-c"), { cacheDir: cache });
    assert.is(third.downloadedBytes, onnx.size, "a damaged entry is not used");
    assert.is(await hashFile(entry), onnx.sha256, "and it is replaced by the verified download");
  });

  test.run();
}
