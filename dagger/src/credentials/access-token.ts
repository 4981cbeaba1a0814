/**
 * A person's own Entra ID access token for Blob Storage (`az account get-access-token --resource
 * https://storage.azure.com/`) as a TokenCredential. The token is only read, never verified: the
 * storage service is the authority. Reading its `exp` lets the SDK know when it stops being
 * valid, and checking its claims up front (jwt-claims.ts: `exp`, `nbf`, `aud`) turns the usual
 * mistakes (an expired token, a token for Azure Resource Manager) into one clear line before any
 * request. Messages quote claims at most, never the token.
 */
import type { AccessToken, TokenCredential } from "@azure/identity";
import { CredentialError } from "./auth-mode.js";
import { jwtClaims, TokenRule, tokenProblem } from "./jwt-claims.js";

/** How to get a token for Blob Storage. */
export const STORAGE_TOKEN_COMMAND = "az account get-access-token --resource https://storage.azure.com/ --query accessToken -o tsv";
/** How long a token without `exp` is taken to be valid before the SDK asks again (it gets the same value). */
const NO_EXP_LIFETIME_MS = 5 * 60_000;

/**
 * Blob Storage accepts tokens for https://storage.azure.com (as a v1 token names it, or the
 * Azure Storage application id a v2 token carries) or for the account's own endpoint.
 */
function isStorageAudience(aud: string): boolean {
  if (aud.toLowerCase() === "e406a681-f3d4-42a8-90b6-c2b029497af1") return true;
  try {
    const host = new URL(aud).hostname;
    return host === "storage.azure.com" || /^[a-z0-9]{3,24}\.blob\./.test(host);
  } catch {
    return false;
  }
}

/** The checks a Blob Storage token gets (jwt-claims.ts): audience Blob Storage. */
export const STORAGE_TOKEN: TokenRule = {
  audience: { name: "Blob Storage", accepts: isStorageAudience },
  getOne: STORAGE_TOKEN_COMMAND,
  noun: "the access token",
};

function expiryOf(token: string): number | undefined {
  const exp = jwtClaims(token)?.exp;
  return typeof exp === "number" && Number.isFinite(exp) ? exp * 1000 : undefined;
}

/**
 * What makes `token` unusable for Blob Storage at `now`, or undefined when it looks fine; with a
 * margin, a token that expires within it is unusable too (`why` says what needs it that long).
 */
export function accessTokenProblem(token: string, now = Date.now(), margin: { marginMs?: number; why?: string } = {}): string | undefined {
  return tokenProblem(token.trim(), STORAGE_TOKEN, { now, ...margin });
}

/**
 * A TokenCredential handing out `token` until its `exp`; after that (or for a token that was
 * never valid) getToken throws a CredentialError saying how to get a new one.
 */
export function accessTokenCredential(token: string, clock: () => number = Date.now): TokenCredential {
  const value = token.trim();
  return {
    getToken: (): Promise<AccessToken> => {
      const now = clock();
      const problem = accessTokenProblem(value, now);
      if (problem) return Promise.reject(new CredentialError(problem));
      const expiresOnTimestamp = expiryOf(value) ?? now + NO_EXP_LIFETIME_MS;
      return Promise.resolve({ token: value, expiresOnTimestamp, tokenType: "Bearer" });
    },
  };
}
