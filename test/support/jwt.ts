/** Unsigned JWTs with chosen claims, shaped like the access tokens the pipeline is given (only their claims are read). */

/** The AKS server application: the audience of an Entra access token for any AKS cluster's API. */
export const AKS_AUDIENCE = "6dae42f8-4368-4678-94ff-3960e28e3630";

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");

/** A compact JWT (header.payload.signature) with `claims` and a fake signature, `signature` if given. */
export function jwt(claims: Record<string, unknown>, signature = "c2lnbmF0dXJlLTAxMjM0NTY3ODk"): string {
  return `${b64({ typ: "JWT", alg: "RS256" })}.${b64(claims)}.${signature}`;
}

/** Seconds since the epoch, `minutes` from now (a NumericDate, as exp, nbf and iat are). */
export function inMinutes(minutes: number, now = Date.now()): number {
  return Math.floor(now / 1000) + Math.round(minutes * 60);
}
