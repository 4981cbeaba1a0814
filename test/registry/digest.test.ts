/**
 * Tag -> digest against a real registry (Debian's docker-registry, distribution 2.8) on
 * 127.0.0.1: open, htpasswd Basic auth, and Bearer token auth issued by a local service that
 * behaves like ACR's token endpoints. Images are pushed with an independent OCI client
 * (test/support/registry.ts); digests are compared with what the registry itself reports.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exchangeEntraToken } from "../../dagger/src/registry/acr.js";
import { RegistryClient, resolveDigest } from "../../dagger/src/registry/client.js";
import { RegistryError } from "../../dagger/src/registry/http.js";
import { FakeAcr, fakeEntraToken, signRegistryToken, startFakeAcr } from "../support/fake-acr.js";
import { startFaultProxy } from "../support/http-fault-proxy.js";
import { basicAuth, MEDIA, pushImage, pushIndex } from "../support/oci-push.js";
import { freePort, RunningRegistry, startRegistry } from "../support/registry.js";

const FAST = { baseDelayMs: 1, maxDelayMs: 5 };
const TENANT = "11111111-2222-3333-4444-555555555555";
const ENTRA = fakeEntraToken(TENANT);
const SERVICE = "fakeacr.azurecr.io";

let open: RunningRegistry;
let basic: RunningRegistry;
let tokenReg: RunningRegistry;
let acr: FakeAcr;

async function rejects(p: Promise<unknown>, code: string, re: RegExp, secrets: string[] = []): Promise<RegistryError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, RegistryError, String(e));
    const err = e as RegistryError;
    assert.is(err.code, code, err.message);
    assert.match(err.message, re, err.message);
    for (const s of secrets) assert.not.ok(err.message.includes(s), `secret leaked into: ${err.message}`);
    return err;
  }
  assert.unreachable(`expected ${code}`);
  throw new Error("unreachable");
}

test.before(async () => {
  acr = await startFakeAcr({
    entraToken: ENTRA,
    tenant: TENANT,
    admin: { username: "acradmin", password: "admin-pass-123" },
    // The "reader-less" identity gets a token without any access: the registry must say so.
    allow: (subject, repo) => (repo === "forbidden" ? [] : ["pull", "push"]),
  });
  acr.setRegistryService(SERVICE);
  [open, basic, tokenReg] = await Promise.all([
    startRegistry(),
    startRegistry({ users: { alice: "correct horse" } }),
    startRegistry({ token: { realm: `${acr.url}/oauth2/token`, service: SERVICE, issuer: acr.issuer, certPath: acr.key.certPath } }),
  ]);
});

test.after(async () => {
  await Promise.all([open?.stop(), basic?.stop(), tokenReg?.stop()]);
  await acr?.stop();
});

test("open registry: OCI manifest, Docker v2 manifest, OCI index and Docker manifest list resolve to the registry's digest", async () => {
  const p = { url: open.url };
  const oci = await pushImage(p, "ai-app", ["main", "model-1.4.0"]);
  const docker = await pushImage(p, "team/ai-app", ["v1"], { docker: true });
  const index = await pushIndex(p, "multi", ["latest-multi"]);
  const list = await pushIndex(p, "multi", ["docker-list"], { docker: true });
  for (const pushed of [oci, docker, index, list])
    assert.is(pushed.digest, pushed.reported, "registry reports the sha256 of the bytes we put");

  const cases: [string, string, typeof oci | typeof index, string][] = [
    ["ai-app", "main", oci, MEDIA.ociManifest],
    ["ai-app", "model-1.4.0", oci, MEDIA.ociManifest],
    ["team/ai-app", "v1", docker, MEDIA.dockerManifest],
    ["multi", "latest-multi", index, MEDIA.ociIndex],
    ["multi", "docker-list", list, MEDIA.dockerList],
  ];
  for (const [repository, tag, pushed, mediaType] of cases) {
    const r = await resolveDigest({ registry: open.address, repository, tag });
    assert.is(r.digest, pushed.digest, `${repository}:${tag}`);
    assert.is(r.reference, `${open.address}/${repository}@${pushed.digest}`);
    assert.is(r.mediaType, mediaType, `${repository}:${tag} media type`);
  }
  // The index digest, not one platform's manifest: what a multi-arch deploy must pin.
  assert.not.ok(index.children.some((c) => c.digest === index.digest));
});

test("open registry: a moved tag resolves to the new digest", async () => {
  const p = { url: open.url };
  const first = await pushImage(p, "moving", ["main"]);
  assert.is((await resolveDigest({ registry: open.address, repository: "moving", tag: "main" })).digest, first.digest);
  const second = await pushImage(p, "moving", ["main"]);
  assert.is.not(second.digest, first.digest);
  assert.is((await resolveDigest({ registry: open.address, repository: "moving", tag: "main" })).digest, second.digest);
});

test("missing tag and missing repository are told apart", async () => {
  await pushImage({ url: open.url }, "known", ["a", "b"]);
  await rejects(
    resolveDigest({ registry: open.address, repository: "known", tag: "nope" }),
    "TAG_NOT_FOUND",
    /tag "nope" not found in 127\.0\.0\.1:\d+\/known \(tags there: a, b\)/,
  );
  await rejects(
    resolveDigest({ registry: open.address, repository: "never-pushed", tag: "main" }),
    "REPOSITORY_NOT_FOUND",
    /repository 127\.0\.0\.1:\d+\/never-pushed does not exist/,
  );
});

test("htpasswd Basic auth: right password resolves, wrong password and no credentials are 401s", async () => {
  const pushed = await pushImage({ url: basic.url, authorization: basicAuth("alice", "correct horse") }, "ai-app", ["main"]);
  assert.is(pushed.digest, pushed.reported);
  const ok = await resolveDigest(
    { registry: basic.address, repository: "ai-app", tag: "main" },
    { kind: "basic", username: "alice", password: "correct horse" },
  );
  assert.is(ok.digest, pushed.digest);
  await rejects(
    resolveDigest(
      { registry: basic.address, repository: "ai-app", tag: "main" },
      { kind: "basic", username: "alice", password: "wrong horse" },
    ),
    "UNAUTHORIZED",
    /rejected the credentials \(HTTP 401\)/,
    ["wrong horse"],
  );
  await rejects(
    resolveDigest({ registry: basic.address, repository: "ai-app", tag: "main" }),
    "UNAUTHORIZED",
    /requires credentials.*--username\/--password or --entra-token/,
  );
  // Missing tag/repository still distinguished behind auth.
  const creds = { kind: "basic" as const, username: "alice", password: "correct horse" };
  await rejects(resolveDigest({ registry: basic.address, repository: "ai-app", tag: "gone" }, creds), "TAG_NOT_FOUND", /tags there: main/);
  await rejects(
    resolveDigest({ registry: basic.address, repository: "nothing-here", tag: "main" }, creds),
    "REPOSITORY_NOT_FOUND",
    /does not exist/,
  );
});

test("Bearer token auth (ACR-like): admin user via GET realm, Entra token via exchange + refresh_token grant", async () => {
  const setup = signRegistryToken(acr.key, {
    issuer: acr.issuer,
    service: SERVICE,
    subject: "setup",
    access: [{ type: "repository", name: "ai-app", actions: ["pull", "push"] }],
  });
  const pushed = await pushImage({ url: tokenReg.url, authorization: `Bearer ${setup}` }, "ai-app", ["main"]);
  const target = { registry: tokenReg.address, repository: "ai-app", tag: "main" };

  const before = acr.requests.length;
  const admin = await resolveDigest(target, { kind: "basic", username: "acradmin", password: "admin-pass-123" });
  assert.is(admin.digest, pushed.digest);
  const adminToken = acr.requests.slice(before).find((r) => r.path === "/oauth2/token")!;
  assert.is(adminToken.method, "GET");
  assert.is(adminToken.authorization, basicAuth("acradmin", "admin-pass-123"));
  assert.equal({ service: adminToken.form?.service, scope: adminToken.form?.scope }, { service: SERVICE, scope: "repository:ai-app:pull" });

  const refresh = await exchangeEntraToken(tokenReg.address, ENTRA, { http: FAST });
  const mark = acr.requests.length;
  const viaEntra = await resolveDigest(target, { kind: "acr-refresh-token", refreshToken: refresh });
  assert.is(viaEntra.digest, pushed.digest);
  const grant = acr.requests.slice(mark).find((r) => r.path === "/oauth2/token")!;
  assert.is(grant.method, "POST");
  assert.equal(grant.form, { grant_type: "refresh_token", service: SERVICE, scope: "repository:ai-app:pull", refresh_token: refresh });
});

test("Bearer token auth: wrong password, bad refresh token, no credentials, no pull rights", async () => {
  const target = { registry: tokenReg.address, repository: "ai-app", tag: "main" };
  await rejects(
    resolveDigest(target, { kind: "basic", username: "acradmin", password: "nope-nope" }),
    "UNAUTHORIZED",
    /token service rejected the username\/password/,
    ["nope-nope"],
  );
  await rejects(
    resolveDigest(target, { kind: "acr-refresh-token", refreshToken: "stale-refresh-token" }),
    "UNAUTHORIZED",
    /rejected the ACR refresh token/,
    ["stale-refresh-token"],
  );
  await rejects(resolveDigest(target), "UNAUTHORIZED", /requires credentials/);
  await rejects(
    resolveDigest({ ...target, repository: "forbidden" }, { kind: "basic", username: "acradmin", password: "admin-pass-123" }),
    "DENIED",
    /grant no pull access to forbidden \(HTTP 401 insufficient_scope/,
  );
});

test("429 and 5xx are retried with backoff, then succeed; past the budget each has its error", async () => {
  const pushed = await pushImage({ url: open.url }, "flaky", ["main"]);
  const proxy = await startFaultProxy(open.url, [429, 503, 502], "0");
  try {
    const r = await resolveDigest(
      { registry: proxy.address, repository: "flaky", tag: "main" },
      { kind: "anonymous" },
      { ...FAST, attempts: 4 },
    );
    assert.is(r.digest, pushed.digest);
    assert.is(proxy.seen, 4, "three faults then the real answer");
  } finally {
    await proxy.stop();
  }
  const limited = await startFaultProxy(open.url, [429, 429, 429]);
  try {
    await rejects(
      resolveDigest({ registry: limited.address, repository: "flaky", tag: "main" }, { kind: "anonymous" }, { ...FAST, attempts: 3 }),
      "RATE_LIMITED",
      /HTTP 429\) on all 3 tries/,
    );
    assert.is(limited.seen, 3, "bounded: exactly the configured tries");
  } finally {
    await limited.stop();
  }
  const down = await startFaultProxy(open.url, [500, 503, 500, 503]);
  try {
    await rejects(
      resolveDigest({ registry: down.address, repository: "flaky", tag: "main" }, { kind: "anonymous" }, { ...FAST, attempts: 2 }),
      "UNAVAILABLE",
      /HTTP 503 on all 2 tries/,
    );
    assert.is(down.seen, 2);
  } finally {
    await down.stop();
  }
});

test("an unreachable registry is retried, then reported", async () => {
  const closed = await freePort();
  const err = await rejects(
    resolveDigest({ registry: `127.0.0.1:${closed}`, repository: "ai-app", tag: "main" }, { kind: "anonymous" }, { ...FAST, attempts: 2 }),
    "UNREACHABLE",
    /cannot reach the server \(ECONNREFUSED\) after 2 tries/,
  );
  assert.ok(err);
});

test("a client reuses its token: one token request for a tag lookup plus the tag listing", async () => {
  const client = new RegistryClient(tokenReg.address, { kind: "basic", username: "acradmin", password: "admin-pass-123" }, FAST);
  const before = acr.requests.filter((r) => r.path === "/oauth2/token").length;
  await rejects(client.resolveDigest("ai-app", "missing"), "TAG_NOT_FOUND", /tags there: main/);
  assert.equal(await client.listTags("ai-app"), ["main"]);
  assert.is(acr.requests.filter((r) => r.path === "/oauth2/token").length - before, 1);
});

test.run();
