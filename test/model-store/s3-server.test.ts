/**
 * The S3 server the store's S3 tests run against (versitygw, test/support/s3-server.ts), proven
 * with raw signed HTTP requests before anything is built on it: S3's conditional writes as AWS
 * documents them (PutObject with If-None-Match: * creates only; If-Match: <ETag> replaces only
 * that version; a failed condition is 412 PreconditionFailed and changes nothing), racing
 * conditional writes of which exactly one lands, and the ranged, ETag-pinned GET the store's
 * resumable download uses.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { S3Server, startS3Server } from "../support/s3-server.js";

let s3: S3Server;
const BUCKET = "proof";

test.before(async () => {
  s3 = await startS3Server();
  const made = await s3.raw("PUT", `/${BUCKET}`);
  assert.is(made.status, 200, made.body);
});

test.after(() => s3?.stop());

const etagOf = (r: { headers: Record<string, string | string[] | undefined> }) => String(r.headers.etag ?? "");

test("If-None-Match: * creates the object once: 200, then 412 PreconditionFailed and the first body kept", async () => {
  const first = await s3.raw("PUT", `/${BUCKET}/create-only.json`, { "If-None-Match": "*" }, "first");
  assert.is(first.status, 200, first.body);
  const second = await s3.raw("PUT", `/${BUCKET}/create-only.json`, { "If-None-Match": "*" }, "second");
  assert.is(second.status, 412, second.body);
  assert.match(second.body, /<Code>PreconditionFailed<\/Code>/);
  const got = await s3.raw("GET", `/${BUCKET}/create-only.json`);
  assert.equal([got.status, got.body, etagOf(got)], [200, "first", etagOf(first)]);
});

test("If-Match: the current ETag replaces; a stale one is 412 and changes nothing; on a missing key it is 404 NoSuchKey", async () => {
  const v1 = await s3.raw("PUT", `/${BUCKET}/record.json`, {}, "v1");
  const v2 = await s3.raw("PUT", `/${BUCKET}/record.json`, { "If-Match": etagOf(v1) }, "v2");
  assert.is(v2.status, 200, v2.body);
  assert.is.not(etagOf(v2), etagOf(v1));
  const stale = await s3.raw("PUT", `/${BUCKET}/record.json`, { "If-Match": etagOf(v1) }, "v3");
  assert.is(stale.status, 412, stale.body);
  assert.match(stale.body, /<Code>PreconditionFailed<\/Code>/);
  const got = await s3.raw("GET", `/${BUCKET}/record.json`);
  assert.equal([got.body, etagOf(got)], ["v2", etagOf(v2)]);
  // AWS documents 404 here; the store never sends If-Match for a key it has not read.
  const missing = await s3.raw("PUT", `/${BUCKET}/never-written.json`, { "If-Match": etagOf(v2) }, "x");
  assert.is(missing.status, 404, missing.body);
  assert.match(missing.body, /<Code>NoSuchKey<\/Code>/);
});

test("8 create-only writes of one key at once: exactly one 200, the others 412, the winner's body stored", async () => {
  const bodies = Array.from({ length: 8 }, (_, i) => `writer-${i}-${"x".repeat(64 * 1024)}`);
  const answers = await Promise.all(bodies.map((b) => s3.raw("PUT", `/${BUCKET}/raced.bin`, { "If-None-Match": "*" }, b)));
  const won = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
  assert.is(won.length, 1, answers.map((a) => a.status).join(","));
  // AWS may answer 409 ConditionalRequestConflict to a racing conditional write; this server serialises them.
  assert.ok(
    answers.every((a) => a.status === 200 || a.status === 412),
    answers.map((a) => a.status).join(","),
  );
  const got = await s3.raw("GET", `/${BUCKET}/raced.bin`);
  assert.is(got.body, bodies[won[0]!]);
});

test("8 compare-and-swap writes from the same ETag at once: exactly one lands", async () => {
  const base = await s3.raw("PUT", `/${BUCKET}/swapped.json`, {}, "base");
  const answers = await Promise.all(
    Array.from({ length: 8 }, (_, i) => s3.raw("PUT", `/${BUCKET}/swapped.json`, { "If-Match": etagOf(base) }, `move-${i}`)),
  );
  const won = answers.flatMap((a, i) => (a.status === 200 ? [i] : []));
  assert.is(won.length, 1, answers.map((a) => a.status).join(","));
  assert.is((await s3.raw("GET", `/${BUCKET}/swapped.json`)).body, `move-${won[0]}`);
});

test("a ranged GET pinned to the ETag: 206 with the asked bytes; once the object changed, 412", async () => {
  const put = await s3.raw("PUT", `/${BUCKET}/ranged.bin`, {}, "0123456789");
  const part = await s3.raw("GET", `/${BUCKET}/ranged.bin`, { Range: "bytes=4-", "If-Match": etagOf(put) });
  assert.equal([part.status, part.body], [206, "456789"]);
  await s3.raw("PUT", `/${BUCKET}/ranged.bin`, {}, "9876543210");
  const changed = await s3.raw("GET", `/${BUCKET}/ranged.bin`, { Range: "bytes=4-", "If-Match": etagOf(put) });
  assert.is(changed.status, 412, changed.body);
});

test("a request signed with the wrong secret is refused (403), so the store's credential errors can be shown", async () => {
  const { signedS3Request } = await import("../support/sigv4.js");
  const wrong = await signedS3Request(
    { ...s3.credentials, secretAccessKey: "not-the-secret" },
    "GET",
    `${s3.endpoint}/${BUCKET}/record.json`,
  );
  assert.is(wrong.status, 403, wrong.body);
  assert.match(wrong.body, /<Code>SignatureDoesNotMatch<\/Code>/);
});

test.run();
