/**
 * AWS S3's 409 ConditionalRequestConflict: the answer AWS may give a conditional write that races
 * another write of the same key (versitygw serialises them and never sends it). AWS's guidance is
 * to send the write again: the store does, a few times, and the next try either lands or meets
 * the other write (412); past those tries it fails saying so, having written nothing. Injected
 * here by an HTTP proxy in front of versitygw that keeps the request's Host, so signatures hold.
 */
import { request, createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { setAlias, readAlias } from "../../dagger/src/model-store/aliases.js";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { CONFLICT_TRIES } from "../../dagger/src/model-store/s3-backend.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { rejectsWith } from "../support/expect.js";
import { randomModel, startStoreSuite, stopStoreSuite, StoreSuite } from "../support/model-fixtures.js";
import { closePatient, patient } from "../support/patient-server.js";

let suite: StoreSuite;
let proxy: Server;
let viaProxy: ModelStore;
/** Conditional PUTs still to answer with 409, and every conditional PUT seen. */
let conflicts = 0;
const conditionalPuts: string[] = [];

const CONFLICT_XML =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>' +
  "<Message>A conflicting conditional operation is currently in progress against this resource. Please try again.</Message></Error>";

test.before(async () => {
  suite = await startStoreSuite("s3");
  const upstream = suite.server.port;
  proxy = patient(
    createServer((req, res) => {
      const conditional = req.method === "PUT" && (req.headers["if-none-match"] !== undefined || req.headers["if-match"] !== undefined);
      if (conditional) conditionalPuts.push(req.url ?? "");
      if (conditional && conflicts > 0) {
        conflicts--;
        req.resume();
        res.writeHead(409, { "content-type": "application/xml" });
        res.end(CONFLICT_XML);
        return;
      }
      const up = request({ host: "127.0.0.1", port: upstream, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      up.on("error", () => res.destroy());
      req.pipe(up);
    }),
  );
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  viaProxy = suite.server.store({ viaPort: (proxy.address() as AddressInfo).port });
});

test.after(async () => {
  await closePatient(proxy);
  await stopStoreSuite(suite);
});

test.before.each(() => {
  conflicts = 0;
  conditionalPuts.length = 0;
});

test("a conditional write answered 409 is sent again and lands: an alias move, a publish", async () => {
  await publishModel(suite.store, await readLocalModel(randomModel(suite.root, "1.0.0", 1000, "raced")));
  conflicts = 2;
  const change = await setAlias(viaProxy, "raced", "champion", "1.0.0", "alice");
  assert.is(change.changed, true);
  assert.is(conditionalPuts.length, 3, "two answered 409, the third landed");
  assert.is((await readAlias(suite.store, "raced", "champion"))!.value.version, "1.0.0");

  conflicts = 1;
  conditionalPuts.length = 0;
  const r = await publishModel(viaProxy, await readLocalModel(randomModel(suite.root, "1.1.0", 1000, "raced")));
  assert.is(r.version, "1.1.0");
  assert.ok(conditionalPuts.length >= 4, `each file and model.json create-only, one of them twice: ${conditionalPuts.join(", ")}`);
  assert.is((await suite.store.resolve("raced", { kind: "exact", version: "1.1.0" })).version, "1.1.0");
});

test(`409 on every one of ${CONFLICT_TRIES} tries: a clear error, nothing written, the version not complete`, async () => {
  const local = await readLocalModel(randomModel(suite.root, "1.0.0", 1000, "stuck"));
  conflicts = Infinity;
  await rejectsWith(
    publishModel(viaProxy, local),
    new RegExp(
      `stuck/1.0.0/labels.json: the S3 service answered ${CONFLICT_TRIES} tries of this conditional write with 409 ConditionalRequestConflict .*nothing was written by this one: run again`,
    ),
  );
  assert.is(conditionalPuts.length, CONFLICT_TRIES);
  assert.equal(await suite.store.listBlobs("stuck/"), [], "nothing of the version was written");
});

test.run();
