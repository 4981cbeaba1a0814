/**
 * The claims of a JWT access token (Entra ID, an ACR refresh token, a Kubernetes service account
 * token), read without verifying the signature: the service that receives the token is the
 * authority. Reading them up front turns the usual mistakes into one clear line before anything
 * runs: a token that expires before the work it is needed for is done, one not valid yet, one for
 * another service, claims of the wrong type. Claims are read as RFC 7519 defines them: `exp` and
 * `nbf` are NumericDates (JSON numbers of seconds since 1970), `aud` is one string or a list of
 * strings and the token is for a service when any entry names it. A token without `exp` (or `nbf`,
 * or `aud`) is not refused for lacking it: RFC 7519 makes each optional, every Entra and ACR token
 * carries all three, and the service decides. Messages quote claims at most, never the token.
 */

export type Claims = Record<string, unknown>;

/**
 * Clock skew tolerated on `nbf`: the 5 minutes Microsoft's token validation allows by default
 * (Entra ID also back-dates `nbf` by 5 minutes), so a machine a little ahead is not refused.
 */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The payload of a compact JWS (three base64url parts, a JSON object in the middle), or undefined. */
export function jwtClaims(token: string): Claims | undefined {
  const parts = token.trim().split(".");
  if (parts.length !== 3 || !parts.every((p) => /^[A-Za-z0-9_-]*$/.test(p)) || !parts[1]) return undefined;
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
    return claims !== null && typeof claims === "object" && !Array.isArray(claims) ? (claims as Claims) : undefined;
  } catch {
    return undefined;
  }
}

/** The service a token must be for. */
export interface Audience {
  /** How messages name it, e.g. `AKS (6dae42f8-…)`. */
  name: string;
  /** Whether one `aud` entry names this service. */
  accepts(aud: string): boolean;
}

export interface TokenRule {
  /** The service the token is for, when it is known; any audience otherwise. */
  audience?: Audience | undefined;
  /** The command that gets one, e.g. `az account get-access-token --resource … --query accessToken -o tsv`. */
  getOne: string;
  /** How messages name the token (default: "the token"), e.g. "the access token". */
  noun?: string;
}

export interface TokenTiming {
  /** The time to check against, in ms since 1970. */
  now?: number;
  /** How long the token must stay valid from `now`: the longest stretch it is used for. */
  marginMs?: number;
  /** Why, for the message: e.g. `deploy can take up to 20 min (…)`. */
  why?: string;
}

/** A span as people read it: `40 s`, `12 min`, `5 h`, `3 d`. */
export function formatSpan(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 180 * 60) return `${Math.round(s / 60)} min`;
  if (s < 72 * 3600) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** A claim's JSON type as a message names it. */
function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A NumericDate claim in ms, undefined when absent, or a problem when it is not a finite number. */
function numericDate(claims: Claims, name: "exp" | "nbf"): number | undefined | { problem: string } {
  if (!(name in claims)) return undefined;
  const v = claims[name];
  if (typeof v === "number" && Number.isFinite(v)) return v * 1000;
  const what = typeof v === "number" ? "a number out of range" : typeName(v);
  return { problem: `its ${name} claim is ${what}, not a number of seconds since 1970 (RFC 7519 NumericDate)` };
}

/** The `aud` entries (one string or a list of strings), undefined when absent, or a problem. */
export function audiences(claims: Claims): string[] | undefined | { problem: string } {
  if (!("aud" in claims)) return undefined;
  const aud = claims.aud;
  if (typeof aud === "string") return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === "string")) return aud as string[];
  return { problem: "its aud claim is neither a string nor a list of strings (RFC 7519)" };
}

/** A claim value for a message: control characters out, at most 100 characters. */
function quoted(v: string): string {
  const clean = JSON.stringify(v).slice(1, -1);
  return clean.length > 100 ? `${clean.slice(0, 100)}…` : clean;
}

/**
 * What makes `token` unusable under `rule` at `timing.now` for `timing.marginMs` more, as one line
 * ending in what to do; undefined when its claims look fine.
 */
export function tokenProblem(token: string, rule: TokenRule, timing: TokenTiming = {}): string | undefined {
  const now = timing.now ?? Date.now();
  const margin = Math.max(0, timing.marginMs ?? 0);
  const getOne = `get one with ${rule.getOne}`;
  const fresh = `get a fresh one with ${rule.getOne}`;
  const the = rule.noun ?? "the token";
  const claims = jwtClaims(token);
  if (!claims) return `${the} is not a JWT (three dot-separated base64url parts, a JSON object in the middle); ${getOne}`;
  const exp = numericDate(claims, "exp");
  const nbf = numericDate(claims, "nbf");
  const aud = audiences(claims);
  for (const c of [exp, nbf, aud]) if (c && typeof c === "object" && "problem" in c) return `${the} is malformed: ${c.problem}; ${getOne}`;
  const expMs = exp as number | undefined;
  const nbfMs = nbf as number | undefined;
  const auds = aud as string[] | undefined;
  if (rule.audience && auds && !auds.some((a) => rule.audience!.accepts(a))) {
    const named = auds.length ? auds.map(quoted).join(", ") : "no audience (an empty aud list)";
    return `${the} is for ${named}, not ${rule.audience.name}; ${getOne}`;
  }
  if (expMs !== undefined && expMs <= now) {
    return `${the} expired at ${new Date(expMs).toISOString()} (${formatSpan(now - expMs)} ago); ${fresh}`;
  }
  if (nbfMs !== undefined && nbfMs > now + CLOCK_SKEW_MS) {
    return (
      `${the} is not valid before ${new Date(nbfMs).toISOString()} (in ${formatSpan(nbfMs - now)}), beyond the ` +
      `${formatSpan(CLOCK_SKEW_MS)} of clock skew allowed: check this machine's clock, or ${getOne}`
    );
  }
  if (expMs !== undefined && expMs - now < margin) {
    const why = timing.why ?? `it must stay valid for ${formatSpan(margin)} more`;
    return `${the} expires at ${new Date(expMs).toISOString()} (in ${formatSpan(expMs - now)}), but ${why}; ${fresh}`;
  }
  return undefined;
}
