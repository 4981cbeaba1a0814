/**
 * Transient faults between the fetch and a real server (Azurite for Blob Storage, versitygw for
 * S3: one suite, run on each), injected by a TCP proxy: cut
 * connections resume with ranged reads (bytes on the wire stay close to the model size),
 * stalls time out and resume, 503s are retried, and past the budget a clear error leaves
 * nothing behind. A blob replaced after resolving is refused (ETag pinning).
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fetchModel } from "../../dagger/src/model-store/fetch.js";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { parseSelector } from "../../dagger/src/model-store/versions.js";
import { rejectsWith } from "../support/expect.js";
import { FaultProxy } from "../support/fault-proxy.js";
import {
  backendTitle,
  FAST_DOWNLOAD,
  randomModel,
  strayEntries,
  tempDir,
  startStoreSuite,
  stopStoreSuite,
  StoreSuite,
} from "../support/model-fixtures.js";
import { BACKENDS } from "../support/store-servers.js";

const SIZE = 8 * 1024 * 1024;
const MiB = 1024 * 1024;
const latest = parseSelector("latest");
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

for (const kind of BACKENDS) {
  const test = suite(`faults on ${backendTitle(kind)}`);
  let server: StoreSuite["server"];
  let proxy: FaultProxy;
  let root: string;
  let modelDir: string;
  let viaProxy: ModelStore;
  const logs: string[] = [];

  test.before(async () => {
    let store: ModelStore;
    ({ server, root, store } = await startStoreSuite(kind));
    modelDir = randomModel(root, "1.0.0", SIZE, "flaky");
    await publishModel(store, await readLocalModel(modelDir));
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

  /** Resolves through the proxy without faults, then arms `plan` for the download itself. */
  async function fetchWithFaults(plan: Parameters<FaultProxy["reset"]>[0], target: string) {
    const resolved = await viaProxy.resolve("flaky", latest);
    proxy.reset(plan);
    return fetchModel(viaProxy, resolved, target, { download: FAST_DOWNLOAD });
  }

  const sameAsPublished = (target: string) => readFileSync(join(target, "model.onnx")).equals(readFileSync(join(modelDir, "model.onnx")));

  test("connections cut mid-download: the fetch resumes where it stopped; bytes on the wire stay close to the model size", async () => {
    const parent = tempDir("fetch-parent-", root);
    const target = join(parent, "model");
    const r = await fetchWithFaults({ cutAfterBytes: { bytes: 3 * MiB, times: 2 } }, target);
    assert.is(proxy.cuts, 2);
    assert.ok(r.resumes >= 2, `resumes: ${r.resumes}`); // a very loaded machine may add an idle-timeout resume
    assert.ok(sameAsPublished(target));
    // Starting over would cost at least 2 x 3 MiB extra; resuming costs only headers.
    const overhead = proxy.bytesToClient - SIZE;
    assert.ok(overhead >= 0 && overhead < 64 * 1024, `read ${proxy.bytesToClient} bytes for a ${SIZE}-byte model (overhead ${overhead})`);
    assert.is(r.downloadedBytes, SIZE + 21);
    assert.ok(
      logs.some((l) => /model.onnx: connection lost at byte \d+ of 8388608 .*resuming \(1\/3\)/.test(l)),
      logs.join("\n"),
    );
    assert.equal(strayEntries(parent), ["model"]);
    rmSync(parent, { recursive: true });
  });

  test("a stalled connection (open, silent) times out and resumes", async () => {
    const target = join(root, "after-stall");
    const started = Date.now();
    const r = await fetchWithFaults({ stallAfterBytes: { bytes: 2 * MiB, times: 1 } }, target);
    assert.is(proxy.stalls, 1);
    assert.ok(r.resumes >= 1, `resumes: ${r.resumes}`);
    assert.ok(Date.now() - started >= FAST_DOWNLOAD.idleTimeoutMs, "resumed only after the idle timeout");
    assert.ok(sameAsPublished(target));
    assert.ok(proxy.bytesToClient - SIZE < 64 * 1024);
  });

  test("HTTP 503 from the service is retried with backoff", async () => {
    const target = join(root, "after-503");
    const match = new RegExp(`^GET ${escape(server.objectPath("flaky/1.0.0/model.onnx"))}`);
    const r = await fetchWithFaults({ fail503: { match, times: 2 } }, target);
    assert.is(proxy.injected503, 2);
    assert.is(r.resumes, 0, "request-level retries happen in the SDK's retry policy, not as resumes");
    assert.ok(sameAsPublished(target));
  });

  test("past the retry budget: a clear error and nothing partial left", async () => {
    const parent = tempDir("fetch-parent-", root);
    const cut = await rejectsWith(
      fetchWithFaults({ cutAfterBytes: { bytes: MiB, times: Infinity } }, join(parent, "model")),
      /download of model.onnx failed: the connection was lost 4 times \(last at byte \d+ of 8388608: .*\); gave up after 3 resumes/,
    );
    assert.equal(strayEntries(parent), [], cut.message);

    const failing = await rejectsWith(
      fetchWithFaults({ fail503: { match: /model\.onnx/, times: Infinity } }, join(parent, "model")),
      /the (storage|S3) service kept failing while trying to download flaky\/1.0.0\/model.onnx .*HTTP 503.*retries exhausted/,
    );
    assert.equal(strayEntries(parent), [], failing.message);
    assert.ok(proxy.injected503 >= 3, "every try of the retry budget was made");
    rmSync(parent, { recursive: true });
  });

  test("a blob replaced after resolving is refused, not mixed (ETag pinning)", async () => {
    const resolved = await viaProxy.resolve("flaky", latest);
    const original = readFileSync(join(modelDir, "model.onnx"));
    // Same bytes: a new ETag on Blob Storage. S3's ETag of a single-part upload is the bytes' MD5, so
    // the same bytes keep it: a replacement there is told by other bytes (the last one restored).
    const replacement = kind === "blob" ? original : Buffer.concat([original.subarray(0, -1), Buffer.from([original.at(-1)! ^ 1])]);
    await server.plant("flaky/1.0.0/model.onnx", replacement);
    const target = join(root, "replaced");
    await rejectsWith(
      fetchModel(viaProxy, resolved, target, { download: FAST_DOWNLOAD }),
      /model.onnx changed in the store while it was being downloaded \(its ETag no longer matches\)/,
    );
    assert.not.ok(existsSync(target));
    if (kind === "s3") await server.plant("flaky/1.0.0/model.onnx", original);
    // A fresh resolve sees the new ETag and succeeds.
    await fetchModel(viaProxy, await viaProxy.resolve("flaky", latest), target, { download: FAST_DOWNLOAD });
    assert.ok(sameAsPublished(target));
  });

  test("cancelling (Ctrl-C) mid-download stops promptly and leaves nothing", async () => {
    const parent = tempDir("fetch-parent-", root);
    const resolved = await viaProxy.resolve("flaky", latest);
    proxy.reset({ stallAfterBytes: { bytes: MiB, times: 1 } });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 150);
    await rejectsWith(
      fetchModel(viaProxy, resolved, join(parent, "model"), {
        download: { ...FAST_DOWNLOAD, idleTimeoutMs: 10_000 },
        signal: controller.signal,
      }),
      /cancelled/,
    );
    assert.equal(strayEntries(parent), []);
    rmSync(parent, { recursive: true });
  });

  test.run();
}
