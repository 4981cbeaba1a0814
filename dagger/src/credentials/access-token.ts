/**
 * A person's own Entra ID access token for Blob Storage (`az account get-access-token --resource
 * https://storage.azure.com/`) as a TokenCredential. The token is only read, never verified: the
 * storage service is the authority. Reading its `exp` lets the SDK know when it stops being
 * valid, and checking `exp` and `aud` up front turns the usual mistakes (an expired token, a
 * token for Azure Resource Manager) into one clear line before any request. Messages quote
 * claims at most, never the token.
 */
import type { AccessToken, TokenCredential } from "@azure/identity";
import { CredentialError } from "./auth-mode.js";

const GET_ONE = "get one with az account get-access-token --resource https://storage.azure.com/ --query accessToken -o tsv";
/** How long a token without `exp` is taken to be valid before the SDK asks again (it gets the same value). */
const NO_EXP_LIFETIME_MS = 5 * 60_000;

interface Claims {
  exp?: unknown;
  aud?: unknown;
}

/** The token's claims, or undefined when it is not a JWT (three base64url parts, a JSON object in the middle). */
function claimsOf(token: string): Claims | undefined {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** Blob Storage accepts tokens for https://storage.azure.com or for the account's own endpoint. */
function isStorageAudience(aud: string): boolean {
  try {
    const host = new URL(aud).hostname;
    return host === "storage.azure.com" || /^[a-z0-9]{3,24}\.blob\./.test(host);
  } catch {
    return false;
  }
}

function expiryOf(claims: Claims): number | undefined {
  return typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp * 1000 : undefined;
}

/** What makes `token` unusable for Blob Storage at `now`, or undefined when it looks fine. */
export function accessTokenProblem(token: string, now = Date.now()): string | undefined {
  const claims = claimsOf(token.trim());
  if (!claims) return `the access token is not a JWT (three dot-separated base64url parts); ${GET_ONE}`;
  const expires = expiryOf(claims);
  if (expires !== undefined && expires <= now) {
    return `the access token expired at ${new Date(expires).toISOString()} (they last about an hour); ${GET_ONE}`;
  }
  const aud = typeof claims.aud === "string" ? claims.aud : undefined;
  if (aud !== undefined && !isStorageAudience(aud)) {
    return `the access token is for ${JSON.stringify(aud).slice(1, -1).slice(0, 100)}, not Blob Storage; ${GET_ONE}`;
  }
  return undefined;
}

/**
 * A TokenCredential handing out `token` until its `exp`; after that (or for a token that was
 * never valid) getToken throws a CredentialError saying how to get a new one.
 */
export function accessTokenCredential(token: string, clock: () => number = Date.now): TokenCredential {
  const value = token.trim();
  const claims = claimsOf(value);
  return {
    getToken: (): Promise<AccessToken> => {
      const now = clock();
      const problem = accessTokenProblem(value, now);
      if (problem || !claims) return Promise.reject(new CredentialError(problem ?? "the access token is not a JWT"));
      const expiresOnTimestamp = expiryOf(claims) ?? now + NO_EXP_LIFETIME_MS;
      return Promise.resolve({ token: value, expiresOnTimestamp, tokenType: "Bearer" });
    },
  };
}
