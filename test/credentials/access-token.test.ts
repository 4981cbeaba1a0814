/** A person's own Entra access token (az account get-access-token) as a TokenCredential: its expiry, and the checks made before use. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { accessTokenCredential, accessTokenProblem } from "../../dagger/src/credentials/access-token.js";
import { CredentialError } from "../../dagger/src/credentials/auth-mode.js";
import { storageJwt } from "../support/token-server.js";
import { inMinutes, jwt as claimsJwt } from "../support/jwt.js";

const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const SCOPE = "https://storage.azure.com/.default";

/** A JWT with the given claims and a fake signature. */
function jwt(claims: Record<string, unknown>): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${b64({ typ: "JWT", alg: "RS256" })}.${b64(claims)}.${Buffer.from("sig-0123456789").toString("base64url")}`;
}

test("returns the token with the expiry its exp claim carries, so the SDK never reuses it past that", async () => {
  const token = storageJwt(TENANT, 1800);
  const exp = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString()).exp as number;
  const got = await accessTokenCredential(token).getToken(SCOPE);
  assert.is(got?.token, token);
  assert.is(got?.expiresOnTimestamp, exp * 1000);
  assert.is(got?.tokenType, "Bearer");
});

test("surrounding whitespace (a pasted token, a trailing newline from az ... -o tsv) is ignored", async () => {
  const token = storageJwt(TENANT);
  assert.is((await accessTokenCredential(`  ${token}\n`).getToken(SCOPE))?.token, token);
  assert.is(accessTokenProblem(`${token}\n`), undefined);
});

test("a token without exp is used for a short while, then asked for again (the same value: it is all there is)", async () => {
  const token = jwt({ aud: "https://storage.azure.com" });
  const before = Date.now();
  const got = await accessTokenCredential(token).getToken(SCOPE);
  assert.ok(got!.expiresOnTimestamp > before && got!.expiresOnTimestamp <= before + 10 * 60_000, String(got!.expiresOnTimestamp));
});

test("not a JWT, expired, for another resource: a clear problem that never quotes the token", () => {
  const notJwt = "opaque-SECRET-token-value-0123456789";
  const expired = storageJwt(TENANT, -120);
  const management = jwt({ aud: "https://management.core.windows.net/", exp: Math.floor(Date.now() / 1000) + 3600 });
  const badJson = `eyJhbGciOiJSUzI1NiJ9.${Buffer.from("{not json").toString("base64url")}.c2ln`;
  const cases: [string, RegExp][] = [
    [notJwt, /not a JWT .*az account get-access-token --resource https:\/\/storage.azure.com\//],
    [badJson, /not a JWT/],
    [expired, /expired at \d{4}-\d\d-\d\dT.*az account get-access-token --resource https:\/\/storage.azure.com\//],
    [management, /is for https:\/\/management.core.windows.net\/, not Blob Storage.*--resource https:\/\/storage.azure.com\//],
  ];
  for (const [token, expected] of cases) {
    const problem = accessTokenProblem(token);
    assert.ok(problem, `no problem found for ${expected}`);
    assert.match(problem!, expected);
    assert.not.ok(problem!.includes(token) || problem!.includes(token.split(".")[1] ?? "\0"), problem);
  }
  // An account-scoped audience is as good as storage.azure.com.
  const account = jwt({ aud: "https://acct01.blob.core.windows.net", exp: Math.floor(Date.now() / 1000) + 600 });
  assert.is(accessTokenProblem(account), undefined);
});

test("a token that expires while in use fails its next getToken with the same clear message", async () => {
  const now = Date.now();
  const credential = accessTokenCredential(storageJwt(TENANT, 60), () => now + 120_000);
  try {
    await credential.getToken(SCOPE);
    assert.unreachable("an expired token was handed out");
  } catch (e) {
    assert.instance(e, CredentialError);
    assert.match((e as Error).message, /expired at/);
  }
});

test("claims as RFC 7519 defines them: nbf not yet reached, exp or nbf not a number, aud a list of strings", () => {
  const STORAGE = "https://storage.azure.com";
  const exp = inMinutes(60);
  // aud may be one string or a list: a list naming Blob Storage among others is for Blob Storage.
  assert.is(accessTokenProblem(claimsJwt({ aud: ["https://management.core.windows.net/", STORAGE], exp })), undefined);
  const cases: [string, RegExp][] = [
    [claimsJwt({ aud: STORAGE, exp, nbf: inMinutes(30) }), /not valid before \d{4}-\d\d-\d\dT.* \(in 30 min\).*clock/],
    [claimsJwt({ aud: STORAGE, exp: String(exp) }), /exp claim is a string, not a number/],
    [claimsJwt({ aud: STORAGE, exp: null }), /exp claim is null, not a number/],
    [claimsJwt({ aud: STORAGE, exp, nbf: "now" }), /nbf claim is a string, not a number/],
    [
      claimsJwt({ aud: ["https://management.core.windows.net/", "api://other"], exp }),
      /is for https:\/\/management.core.windows.net\/, api:\/\/other, not Blob Storage/,
    ],
    [claimsJwt({ aud: [STORAGE, 42], exp }), /aud claim is neither a string nor a list of strings/],
    [claimsJwt({ aud: { value: STORAGE }, exp }), /aud claim is neither a string nor a list of strings/],
  ];
  for (const [token, expected] of cases) {
    const problem = accessTokenProblem(token);
    assert.ok(problem, `no problem found for ${expected}`);
    assert.match(problem!, expected);
    assert.match(problem!, /az account get-access-token --resource https:\/\/storage.azure.com\//);
    assert.not.ok(problem!.includes(token.split(".")[1]!), problem);
  }
});

test("with a margin (a step that runs for a while), a token expiring within it is refused, saying how long it has left", () => {
  const now = Date.now();
  const token = storageJwt(TENANT, 120);
  assert.is(accessTokenProblem(token, now), undefined, "no margin: still valid for two minutes");
  const problem = accessTokenProblem(token, now, { marginMs: 20 * 60_000 });
  assert.match(problem ?? "", /expires at \d{4}-.*\(in 2 min\).*20 min/);
  assert.is(accessTokenProblem(storageJwt(TENANT, 3600), now, { marginMs: 20 * 60_000 }), undefined);
});

test.run();
