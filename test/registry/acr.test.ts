/**
 * The ACR Entra ID exchange against a local server that behaves as ACR documents its
 * login server: GET /v2/ -> Bearer challenge, POST /oauth2/exchange -> refresh_token.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { entraCredential } from "../../dagger/src/credentials/entra.js";
import {
  AccessTokenSource,
  ACR_ENTRA_SCOPE,
  discoverAcrEndpoints,
  entraTokenFor,
  exchangeEntraToken,
} from "../../dagger/src/registry/acr.js";
import { checkRealm } from "../../dagger/src/registry/client.js";
import { RegistryError } from "../../dagger/src/registry/http.js";
import { parseRegistry } from "../../dagger/src/registry/names.js";
import { FakeAcr, fakeEntraToken, startFakeAcr } from "../support/fake-acr.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";

const TENANT = "11111111-2222-3333-4444-555555555555";
const OTHER_TENANT = "99999999-8888-7777-6666-555555555555";
const ENTRA = fakeEntraToken(TENANT);
const FAST = { baseDelayMs: 1, maxDelayMs: 5 };

let acr: FakeAcr;
let plain: RunningRegistry;

test.before(async () => {
  acr = await startFakeAcr({ entraToken: ENTRA, tenant: TENANT });
  acr.setRegistryService("myacr.azurecr.io");
  plain = await startRegistry({ users: { alice: "pw-1234" } });
});
test.after(async () => {
  await acr?.stop();
  await plain?.stop();
});

async function rejects(p: Promise<unknown>, code: string, re: RegExp): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, RegistryError, String(e));
    assert.is((e as RegistryError).code, code, (e as Error).message);
    assert.match((e as Error).message, re, (e as Error).message);
    assert.not.ok((e as Error).message.includes(ENTRA), "the Entra token must not appear in errors");
    return (e as Error).message;
  }
  assert.unreachable(`expected ${code}`);
  return "";
}

test("endpoints come from the login server's Bearer challenge", async () => {
  const ep = await discoverAcrEndpoints(acr.address, FAST);
  assert.equal(ep, { exchange: `${acr.url}/oauth2/exchange`, token: `${acr.url}/oauth2/token`, service: "myacr.azurecr.io" });
});

test("exchange posts grant_type, service, tenant (from the token's tid) and access_token as a form", async () => {
  const before = acr.requests.length;
  const refresh = await exchangeEntraToken(acr.address, ENTRA, { http: FAST });
  assert.ok(acr.refreshTokens.includes(refresh), "the refresh token the server issued");
  const post = acr.requests.slice(before).find((r) => r.path === "/oauth2/exchange")!;
  assert.is(post.method, "POST");
  assert.equal(post.form, { grant_type: "access_token", service: "myacr.azurecr.io", tenant: TENANT, access_token: ENTRA });
});

test("an explicit --tenant is sent as given; an opaque token without one sends no tenant", async () => {
  await rejects(
    exchangeEntraToken(acr.address, ENTRA, { tenant: OTHER_TENANT, http: FAST }),
    "UNAUTHORIZED",
    /rejected the Entra ID token \(HTTP 401: UNAUTHORIZED: token for another tenant\)/,
  );
  assert.is(acr.requests.at(-1)!.form!.tenant, OTHER_TENANT);
  await rejects(
    exchangeEntraToken(acr.address, "opaque-but-wrong", { http: FAST }),
    "UNAUTHORIZED",
    /expired, issued for another tenant or audience, or its identity has no role/,
  );
  assert.not.ok("tenant" in acr.requests.at(-1)!.form!, "no tenant when neither given nor in the token");
});

test("a wrong or empty token is a clear 401 without the token in the message", async () => {
  await rejects(exchangeEntraToken(acr.address, fakeEntraToken(TENANT), { http: FAST }), "UNAUTHORIZED", /invalid Entra ID token/);
  await rejects(exchangeEntraToken(acr.address, "  ", { http: FAST }), "UNAUTHORIZED", /token is empty/);
});

test("a registry without token auth is not ACR: --entra-token is refused with the alternative named", async () => {
  await rejects(
    exchangeEntraToken(plain.address, ENTRA, { http: FAST }),
    "UNSUPPORTED",
    /does not issue a Bearer token challenge.*use --username\/--password/,
  );
});

// Compile-time proof (tsc in npm test) that the credentials module's @azure/identity
// TokenCredential plugs in where the ACR exchange takes an AccessTokenSource.
export const tokenCredentialFits = (c: ReturnType<typeof entraCredential>): AccessTokenSource => c;

test("a TokenCredential-like source is asked for the ARM scope", async () => {
  const asked: (string | string[])[] = [];
  const token = await entraTokenFor({ getToken: async (s) => (asked.push(s), { token: "tok-1", expiresOnTimestamp: 0 }) });
  assert.is(token, "tok-1");
  assert.equal(asked, [ACR_ENTRA_SCOPE]);
  await rejects(entraTokenFor({ getToken: async () => null }), "UNAUTHORIZED", /returned no access token/);
});

test("credentials only travel to HTTPS realms (plain HTTP on loopback) on the registry's own host; ACR names its own /oauth2/token", () => {
  const acrHost = parseRegistry("myacr.azurecr.io");
  assert.is(checkRealm("https://myacr.azurecr.io/oauth2/token", acrHost).href, "https://myacr.azurecr.io/oauth2/token");
  assert.is(checkRealm("https://MyACR.azurecr.io/oauth2/token", acrHost).host, "myacr.azurecr.io");
  assert.throws(() => checkRealm("http://myacr.azurecr.io/oauth2/token", acrHost), /only sent over HTTPS/);
  assert.throws(
    () => checkRealm("https://myacr.azurecr.io:8443/oauth2/token", acrHost),
    /issues tokens at https:\/\/myacr\.azurecr\.io\/oauth2\/token/,
  );
  assert.throws(() => checkRealm("https://myacr.azurecr.io/elsewhere", acrHost), /issues tokens at/);
  assert.throws(
    () => checkRealm("https://login.example.com/oauth2/token", acrHost),
    /only to the registry's own host \(myacr\.azurecr\.io\)/,
  );
  assert.throws(() => checkRealm("http://127.0.0.1:5001/token", acrHost), /only to the registry's own host/);
  // distribution's token server on another port of the registry's host
  const local = parseRegistry("127.0.0.1:5000");
  assert.is(checkRealm("http://127.0.0.1:5001/token", local).host, "127.0.0.1:5001");
  assert.throws(() => checkRealm("http://localhost:5001/token", local), /only to the registry's own host \(127\.0\.0\.1\)/);
  // without credentials only the transport matters (Docker Hub's realm is on another host)
  assert.is(checkRealm("https://auth.docker.io/token", parseRegistry("registry-1.docker.io"), false).host, "auth.docker.io");
  assert.throws(() => checkRealm("http://auth.example.com/token", parseRegistry("registry.example.com"), false), /only sent over HTTPS/);
  assert.throws(() => checkRealm("file:///etc/passwd", local), /without a usable realm/);
  assert.throws(() => checkRealm("not a url", acrHost), /without a usable realm/);
  assert.throws(() => checkRealm(undefined, acrHost), /without a usable realm/);
});

test.run();
