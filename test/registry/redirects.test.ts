/**
 * Credentials never leave the server they are meant for: a registry or token endpoint that
 * answers 307 to another origin (here another 127.0.0.1 port, which is another origin) gets
 * no Entra token, ACR refresh token, Basic password or Bearer token re-sent there, and the
 * other server's answer is never used; a Bearer realm on another host gets no credentials.
 * Real HTTP servers on loopback; the "elsewhere" server records all it receives.
 */
import type { ServerResponse } from "node:http";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { exchangeEntraToken } from "../../dagger/src/registry/acr.js";
import { RegistryCredentials, resolveDigest } from "../../dagger/src/registry/client.js";
import { RegistryError, requestWithRetry } from "../../dagger/src/registry/http.js";
import { fakeEntraToken } from "../support/fake-acr.js";
import { basicAuth } from "../support/oci-push.js";
import { reply, ScriptedServer, SeenRequest, startScriptedServer } from "../support/scripted-server.js";

const FAST = { baseDelayMs: 1, maxDelayMs: 5, attempts: 2 };
const ENTRA = fakeEntraToken("11111111-2222-3333-4444-555555555555");
const REFRESH = "acr-refresh.the-real-one";
const PASSWORD = "correct horse battery";
const ISSUED = "token-the-registry-issued";
const STOLEN_DIGEST = `sha256:${"c".repeat(64)}`;
const OWN_DIGEST = `sha256:${"a".repeat(64)}`;

/** What the registry under test does with one request; set per test. */
let script: (req: SeenRequest, res: ServerResponse, self: ScriptedServer) => void = (_req, res) => reply(res, 404);
let registry: ScriptedServer;
/** The other origin: answers every request as a friendly token service and registry would. */
let elsewhere: ScriptedServer;

test.before(async () => {
  registry = await startScriptedServer((req, res, self) => script(req, res, self));
  elsewhere = await startScriptedServer((_req, res) =>
    reply(
      res,
      200,
      { "docker-content-digest": STOLEN_DIGEST },
      { refresh_token: "from-elsewhere", access_token: "from-elsewhere", token: "from-elsewhere" },
    ),
  );
});
test.after(async () => {
  await registry?.stop();
  await elsewhere?.stop();
});
test.before.each(() => {
  registry.requests.length = 0;
  elsewhere.requests.length = 0;
});

const secrets = [ENTRA, REFRESH, PASSWORD, ISSUED];
const bearer = (self: ScriptedServer, realm = `${self.url}/oauth2/token`) => ({
  "www-authenticate": `Bearer realm="${realm}",service="${self.address}",scope="repository:ai-app:pull"`,
});
const toElsewhere = (req: SeenRequest) => ({ location: `${elsewhere.url}${req.url}` });

async function refused(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    const value = await p;
    assert.unreachable(`accepted an answer: ${JSON.stringify(value)}`);
  } catch (e) {
    if (!(e instanceof RegistryError)) throw e;
    assert.match(e.message, re, e.message);
    for (const s of secrets) assert.not.ok(e.message.includes(s), `a secret in: ${e.message}`);
  }
  assert.equal(elsewhere.requests, [], "the other origin received a request");
}

const resolve = (credentials: RegistryCredentials) =>
  resolveDigest({ registry: registry.address, repository: "ai-app", tag: "main" }, credentials, FAST);

test("Entra ID token: /oauth2/exchange answering 307 to another origin gets no re-post of the token", async () => {
  script = (req, res, self) => {
    if (req.url === "/v2/") return reply(res, 401, bearer(self));
    if (req.url === "/oauth2/exchange") return reply(res, 307, toElsewhere(req));
    reply(res, 404);
  };
  await refused(
    exchangeEntraToken(registry.address, ENTRA, { http: FAST }),
    /POST 127\.0\.0\.1:\d+\/oauth2\/exchange: the server redirected to another origin \(http:\/\/127\.0\.0\.1:\d+\)/,
  );
  assert.ok(
    registry.requests.some((r) => r.url === "/oauth2/exchange" && r.body.includes("access_token=")),
    "the exchange did reach the registry itself",
  );
});

test("ACR refresh token: /oauth2/token answering 307 to another origin gets no re-post of the refresh token", async () => {
  script = (req, res, self) => {
    if (req.url.startsWith("/v2/ai-app/manifests/")) return reply(res, 401, bearer(self));
    if (req.url === "/oauth2/token") return reply(res, 307, toElsewhere(req));
    reply(res, 404);
  };
  await refused(resolve({ kind: "acr-refresh-token", refreshToken: REFRESH }), /redirected to another origin/);
});

test("Basic credentials: neither the token endpoint nor the registry API may carry them to another origin", async () => {
  script = (req, res, self) => {
    if (req.url.startsWith("/v2/ai-app/manifests/")) return reply(res, 401, bearer(self));
    if (req.url.startsWith("/oauth2/token?")) return reply(res, 307, toElsewhere(req));
    reply(res, 404);
  };
  await refused(
    resolve({ kind: "basic", username: "alice", password: PASSWORD }),
    /GET token for repository:ai-app:pull .*redirected to another origin/,
  );

  script = (req, res) => {
    if (!req.headers.authorization) return reply(res, 401, { "www-authenticate": 'Basic realm="registry"' });
    reply(res, 307, toElsewhere(req));
  };
  await refused(
    resolve({ kind: "basic", username: "alice", password: PASSWORD }),
    /HEAD 127\.0\.0\.1:\d+\/v2\/ai-app\/manifests\/main: the server redirected to another origin/,
  );
  assert.is(registry.requests.at(-1)!.headers.authorization, basicAuth("alice", PASSWORD), "sent to the registry itself");
});

test("Bearer token: a manifest request answering 307 to another origin gets no re-send of the token", async () => {
  script = (req, res, self) => {
    if (req.url.startsWith("/oauth2/token")) return reply(res, 200, {}, { token: ISSUED });
    if (req.headers.authorization === `Bearer ${ISSUED}`) return reply(res, 307, toElsewhere(req));
    reply(res, 401, bearer(self));
  };
  await refused(resolve({ kind: "anonymous" }), /redirected to another origin/);
});

test("a redirect on the same origin is followed, with its credentials", async () => {
  script = (req, res) => {
    if (!req.headers.authorization) return reply(res, 401, { "www-authenticate": 'Basic realm="registry"' });
    if (req.url === "/v2/ai-app/manifests/main") return reply(res, 307, { location: "/v2/moved/ai-app/manifests/main" });
    reply(res, 200, { "docker-content-digest": OWN_DIGEST, "content-type": "application/vnd.oci.image.manifest.v1+json" });
  };
  const r = await resolve({ kind: "basic", username: "alice", password: PASSWORD });
  assert.is(r.digest, OWN_DIGEST);
  const moved = registry.requests.find((q) => q.url === "/v2/moved/ai-app/manifests/main")!;
  assert.is(moved.headers.authorization, basicAuth("alice", PASSWORD));
});

test("redirect loops end with a clear error", async () => {
  script = (req, res) => reply(res, 307, { location: req.url });
  await refused(resolve({ kind: "anonymous" }), /more than \d+ redirects/);
});

test("a Bearer realm on another host gets no credentials (localhost is not 127.0.0.1)", async () => {
  script = (req, res, self) => {
    if (req.url.startsWith("/v2/")) return reply(res, 401, bearer(self, `http://localhost:${elsewhere.port}/oauth2/token`));
    reply(res, 404);
  };
  await refused(
    resolve({ kind: "acr-refresh-token", refreshToken: REFRESH }),
    /refusing token realm http:\/\/localhost:\d+: .*only to the registry's own host \(127\.0\.0\.1\)/,
  );
  await refused(resolve({ kind: "basic", username: "alice", password: PASSWORD }), /refusing token realm/);
  await refused(exchangeEntraToken(registry.address, ENTRA, { http: FAST }), /refusing token realm/);
});

test("an anonymous lookup may use another host's token service (nothing secret is sent there)", async () => {
  script = (req, res, self) => {
    if (req.headers.authorization === "Bearer from-elsewhere") return reply(res, 200, { "docker-content-digest": OWN_DIGEST });
    reply(res, 401, bearer(self, `http://localhost:${elsewhere.port}/token`));
  };
  assert.is((await resolve({ kind: "anonymous" })).digest, OWN_DIGEST);
  assert.is(elsewhere.requests.length, 1);
  assert.is(elsewhere.requests[0]!.headers.authorization, undefined);
});

test("credentials never go over plain HTTP off loopback", async () => {
  let called = 0;
  const stub = (async () => (called++, new Response(null, { status: 200 }))) as typeof fetch;
  for (const init of [{ headers: { authorization: "Basic eDp5" } }, { method: "POST", body: "refresh_token=x" }]) {
    const err = await requestWithRetry("http://registry.example.com/v2/", init, "GET registry.example.com/v2/", { fetch: stub }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.instance(err, RegistryError, "refused");
    assert.match(err!.message, /GET registry\.example\.com\/v2\/: refusing to send credentials over plain HTTP/);
  }
  assert.is(called, 0);
  await requestWithRetry("http://127.0.0.1:1/v2/", { headers: { authorization: "Basic eDp5" } }, "loopback", { fetch: stub });
  await requestWithRetry("http://registry.example.com/v2/", { method: "GET" }, "anonymous", { fetch: stub });
  assert.is(called, 2, "loopback, and requests without credentials, still go");
});

test.run();
