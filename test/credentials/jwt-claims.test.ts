/** A JWT's claims read without verifying it, and the checks made on them before a token is used (credentials/jwt-claims.ts). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CLOCK_SKEW_MS, formatSpan, jwtClaims, TokenRule, tokenProblem } from "../../dagger/src/credentials/jwt-claims.js";
import { inMinutes, jwt } from "../support/jwt.js";

const RULE: TokenRule = { audience: { name: "the service", accepts: (a) => a === "api://service" }, getOne: "get-token --for service" };
const NOW = Date.UTC(2025, 0, 31, 12, 0, 0);
const at = (minutes: number) => inMinutes(minutes, NOW);

test("claims: a compact JWS payload that is a JSON object; anything else is not a JWT", () => {
  assert.equal(jwtClaims(jwt({ aud: "x", exp: 1 })), { aud: "x", exp: 1 });
  assert.equal(jwtClaims(`  ${jwt({ a: 1 })}\n`), { a: 1 }, "surrounding whitespace ignored");
  const b64 = (s: string) => Buffer.from(s).toString("base64url");
  for (const notJwt of [
    "",
    "opaque-token",
    "a.b",
    `${b64("{}")}.${b64("[1]")}.c2ln`,
    `${b64("{}")}.${b64("null")}.c2ln`,
    `x.${b64("{bad")}.y`,
    "a.b+c.d",
    "a.b.c.d.e",
  ]) {
    assert.is(jwtClaims(notJwt), undefined, notJwt);
  }
});

test("a token valid long enough, for the service, with every claim typed as RFC 7519 says: no problem", () => {
  assert.is(tokenProblem(jwt({ aud: "api://service", nbf: at(-5), exp: at(60) }), RULE, { now: NOW, marginMs: 20 * 60_000 }), undefined);
  assert.is(tokenProblem(jwt({ aud: ["api://other", "api://service"], exp: at(60) }), RULE, { now: NOW }), undefined, "aud as a list");
  assert.is(
    tokenProblem(jwt({ aud: "api://service", exp: at(60) + 0.5 }), RULE, { now: NOW }),
    undefined,
    "a NumericDate may have a fraction",
  );
});

test("absent claims are not refused (each is optional in RFC 7519; the service decides): no exp, no nbf, no aud", () => {
  assert.is(tokenProblem(jwt({ aud: "api://service" }), RULE, { now: NOW, marginMs: 60 * 60_000 }), undefined);
  assert.is(tokenProblem(jwt({ exp: at(60) }), RULE, { now: NOW }), undefined);
  assert.is(tokenProblem(jwt({}), { getOne: "x" }, { now: NOW }), undefined);
});

test("exp: expired, or expiring within the margin, says when, how long ago or how long it has left, why, and how to get another", () => {
  assert.match(
    tokenProblem(jwt({ exp: at(-90) }), RULE, { now: NOW })!,
    /^the token expired at 2025-01-31T10:30:00.000Z \(90 min ago\); get a fresh one with get-token --for service$/,
  );
  assert.match(
    tokenProblem(jwt({ exp: at(0) }), RULE, { now: NOW })!,
    /expired at 2025-01-31T12:00:00.000Z \(0 s ago\)/,
    "exp = now is expired",
  );
  const soon = tokenProblem(jwt({ exp: at(12) }), RULE, { now: NOW, marginMs: 20 * 60_000, why: "the release can take up to 20 min" });
  assert.is(
    soon,
    "the token expires at 2025-01-31T12:12:00.000Z (in 12 min), but the release can take up to 20 min; get a fresh one with get-token --for service",
  );
  assert.match(tokenProblem(jwt({ exp: at(12) }), RULE, { now: NOW, marginMs: 20 * 60_000 })!, /but it must stay valid for 20 min more;/);
  assert.is(tokenProblem(jwt({ exp: at(20) }), RULE, { now: NOW, marginMs: 20 * 60_000 }), undefined, "exactly the margin left is enough");
  assert.ok(tokenProblem(jwt({ exp: at(20) - 1 }), RULE, { now: NOW, marginMs: 20 * 60_000 }), "a second less is not");
});

test("nbf: up to the allowed clock skew ahead is accepted; further ahead is refused, pointing at the clock", () => {
  const skew = CLOCK_SKEW_MS / 60_000;
  assert.is(tokenProblem(jwt({ nbf: at(skew), exp: at(60) }), RULE, { now: NOW }), undefined);
  assert.is(
    tokenProblem(jwt({ nbf: at(30), exp: at(90) }), RULE, { now: NOW }),
    "the token is not valid before 2025-01-31T12:30:00.000Z (in 30 min), beyond the 5 min of clock skew allowed: check this machine's clock, or get one with get-token --for service",
  );
});

test("claims of the wrong type are named, whatever else holds", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ exp: String(at(60)) }, "its exp claim is a string, not a number of seconds since 1970 (RFC 7519 NumericDate)"],
    [{ exp: null }, "its exp claim is null, not a number"],
    [{ exp: [at(60)] }, "its exp claim is a list, not a number"],
    [{ exp: at(60), nbf: true }, "its nbf claim is a boolean, not a number"],
    [{ exp: at(60), nbf: { t: 1 } }, "its nbf claim is an object, not a number"],
    [{ exp: at(60), aud: 7 }, "its aud claim is neither a string nor a list of strings (RFC 7519)"],
    [{ exp: at(60), aud: ["api://service", null] }, "its aud claim is neither a string nor a list of strings"],
  ];
  for (const [claims, expected] of cases) {
    const problem = tokenProblem(jwt(claims), RULE, { now: NOW });
    assert.ok(problem?.startsWith(`the token is malformed: ${expected}`), `${JSON.stringify(claims)}: ${problem}`);
    assert.ok(problem!.endsWith("; get one with get-token --for service"), problem);
  }
  // JSON has no NaN or Infinity: an exp too large for a double parses as Infinity and is refused.
  const huge = `${Buffer.from("{}").toString("base64url")}.${Buffer.from('{"exp":1e999}').toString("base64url")}.c2ln`;
  assert.match(tokenProblem(huge, RULE, { now: NOW })!, /exp claim is a number out of range, not a number of seconds/);
});

test("aud: a token for another service names what it is for (quoted, bounded) and what it should be", () => {
  assert.is(
    tokenProblem(jwt({ aud: ["api://a", "api://b"], exp: at(60) }), RULE, { now: NOW }),
    "the token is for api://a, api://b, not the service; get one with get-token --for service",
  );
  assert.match(
    tokenProblem(jwt({ aud: [], exp: at(60) }), RULE, { now: NOW })!,
    /is for no audience \(an empty aud list\), not the service/,
  );
  const odd = tokenProblem(jwt({ aud: `api://x\u001b[31m${"y".repeat(300)}`, exp: at(60) }), RULE, { now: NOW })!;
  assert.not.match(odd, "\u001b");
  assert.ok(odd.length < 300, odd);
  assert.is(tokenProblem(jwt({ aud: "api://a", exp: at(60) }), { getOne: "x" }, { now: NOW }), undefined, "no known audience: any is fine");
});

test("a noun for the token, and never the token itself in a message", () => {
  const token = jwt({ aud: "api://other", exp: at(-1) }, "SIGNATURE-MARKER");
  const problem = tokenProblem(token, { ...RULE, noun: "the access token" }, { now: NOW })!;
  assert.match(problem, /^the access token is for api:\/\/other/);
  for (const part of token.split(".")) assert.not.ok(problem.includes(part), part);
  assert.match(tokenProblem("not-a-jwt-SECRET", RULE, { now: NOW })!, /^the token is not a JWT .*; get one with get-token --for service$/);
  assert.not.match(tokenProblem("not-a-jwt-SECRET", RULE, { now: NOW })!, "SECRET");
});

test("spans as people read them", () => {
  assert.equal([40_000, 119_500, 12 * 60_000, 179 * 60_000, 5 * 3600_000, 4 * 86400_000, -90_000].map(formatSpan), [
    "40 s",
    "2 min",
    "12 min",
    "179 min",
    "5 h",
    "4 d",
    "2 min",
  ]);
});

test.run();
