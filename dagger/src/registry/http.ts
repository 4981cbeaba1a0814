/**
 * HTTP for registry and token endpoints: bounded retries with backoff for 429, 5xx and
 * connection failures, one error type whose `code` tells the failure apart, and the
 * `WWW-Authenticate` challenge parser. Uses Node's fetch; never logs a header or a body.
 *
 * Credentials stay with the server they are meant for: redirects are followed here, and
 * only on the request's own origin (fetch's own `follow` re-posts a 307's body, tokens
 * included, to any host); a request carrying credentials never goes over plain HTTP
 * except to loopback.
 */
import { redact } from "../credentials/redact.js";
import { isLoopbackRegistry } from "./names.js";

export type RegistryErrorCode =
  | "TAG_NOT_FOUND"
  | "REPOSITORY_NOT_FOUND"
  | "UNAUTHORIZED"
  | "DENIED"
  | "RATE_LIMITED"
  | "UNAVAILABLE"
  | "UNREACHABLE"
  | "PROTOCOL"
  | "UNSUPPORTED";

export class RegistryError extends Error {
  override name = "RegistryError";
  constructor(
    readonly code: RegistryErrorCode,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface HttpOptions {
  /** Defaults to the global fetch. */
  fetch?: typeof fetch;
  /** Tries per request, first one included (default 4). */
  attempts?: number;
  /** First backoff delay; doubles each retry, with jitter (default 250 ms). */
  baseDelayMs?: number;
  /** Upper bound for one delay, Retry-After included (default 5 s). */
  maxDelayMs?: number;
  /** Per-request timeout (default 30 s). */
  timeoutMs?: number;
  /** For tests: how to wait. */
  sleep?: (ms: number) => Promise<void>;
}

const RETRYABLE = new Set([429, 500, 502, 503, 504]);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Same-origin redirects followed per request before giving up (fetch's own limit is 20). */
export const MAX_REDIRECTS = 5;

/** How long to wait before retry number `retry` (0-based), honouring Retry-After within the bound. */
export function backoffDelay(retry: number, opts: HttpOptions, retryAfter?: string | null): number {
  const base = opts.baseDelayMs ?? 250;
  const max = opts.maxDelayMs ?? 5000;
  const fromHeader = retryAfterMs(retryAfter);
  if (fromHeader !== undefined) return Math.min(fromHeader, max);
  const exp = base * 2 ** retry;
  return Math.min(max, exp / 2 + Math.random() * (exp / 2));
}

function retryAfterMs(value?: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/**
 * One request with bounded retries. Returns the first response that is not retryable
 * (2xx, 3xx, 4xx other than 429); after the last try, a 429 or 5xx becomes a RegistryError.
 * `what` names the request in errors (e.g. "HEAD 127.0.0.1:5000/v2/ai-app/manifests/main").
 */
export async function requestWithRetry(url: string, init: RequestInit, what: string, opts: HttpOptions = {}): Promise<Response> {
  refuseCleartextCredentials(url, init, what);
  const attempts = Math.max(1, opts.attempts ?? 4);
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: { status?: number; retryAfter?: string | null; cause?: string } = {};
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await sleep(backoffDelay(i - 1, opts, last.retryAfter));
    let res: Response;
    try {
      res = await fetchOnOrigin(url, init, what, opts);
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      last = { cause: describeNetworkError(e) };
      continue;
    }
    if (!RETRYABLE.has(res.status)) return res;
    last = { status: res.status, retryAfter: res.headers.get("retry-after") };
    await res.body?.cancel().catch(() => undefined);
  }
  if (last.status === 429) {
    throw new RegistryError(
      "RATE_LIMITED",
      `${what}: rate limited by the registry (HTTP 429) on all ${attempts} tries; wait and run again`,
      429,
    );
  }
  if (last.status !== undefined) {
    throw new RegistryError("UNAVAILABLE", `${what}: the registry failed with HTTP ${last.status} on all ${attempts} tries`, last.status);
  }
  throw new RegistryError("UNREACHABLE", `${what}: cannot reach the server (${last.cause ?? "unknown error"}) after ${attempts} tries`);
}

/**
 * One fetch, following redirects only while they stay on the origin of `url` (scheme, host and
 * port): a redirect elsewhere is refused rather than followed, whatever the request carries.
 * 307/308 repeat the request as it was; 301/302/303 turn a POST into a GET without its body,
 * as browsers do.
 */
async function fetchOnOrigin(url: string, init: RequestInit, what: string, opts: HttpOptions): Promise<Response> {
  const doFetch = opts.fetch ?? fetch;
  const origin = new URL(url).origin;
  let current = url;
  let request = init;
  for (let hop = 0; ; hop++) {
    const res = await doFetch(current, { ...request, redirect: "manual", signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000) });
    const location = res.headers.get("location");
    if (!REDIRECTS.has(res.status) || location === null) return res;
    await res.body?.cancel().catch(() => undefined);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new RegistryError("PROTOCOL", `${what}: the server redirected to an unusable location (HTTP ${res.status})`, res.status);
    }
    if (next.origin !== origin) {
      throw new RegistryError(
        "PROTOCOL",
        `${what}: the server redirected to another origin (${next.origin}); credentials and tokens are only sent to the server they are meant for, so the redirect was not followed (give the registry's own address)`,
        res.status,
      );
    }
    if (hop + 1 > MAX_REDIRECTS) {
      throw new RegistryError("PROTOCOL", `${what}: more than ${MAX_REDIRECTS} redirects (a redirect loop?)`, res.status);
    }
    if (res.status !== 307 && res.status !== 308 && (request.method ?? "GET").toUpperCase() === "POST") {
      const { body: _body, ...rest } = request;
      request = { ...rest, method: "GET" };
    }
    current = next.href;
  }
}

/** A request with an Authorization header or a body (token forms) goes over HTTPS, or plain HTTP to loopback only. */
function refuseCleartextCredentials(url: string, init: RequestInit, what: string): void {
  const u = new URL(url);
  if (u.protocol === "https:" || isLoopbackRegistry({ host: u.hostname, address: u.host })) return;
  const hasAuth = new Headers(init.headers).has("authorization");
  if (hasAuth || (init.body !== undefined && init.body !== null)) {
    throw new RegistryError(
      "PROTOCOL",
      `${what}: refusing to send credentials over plain HTTP to ${u.host} (only HTTPS, or plain HTTP to loopback)`,
    );
  }
}

function describeNetworkError(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError") return "timed out";
  return err.cause?.code ?? err.cause?.message ?? err.message ?? String(e);
}

/** Reads a JSON body, or undefined when it is not JSON. Bounded to 1 MiB. */
export async function readJson(res: Response): Promise<unknown> {
  const text = await readText(res, 1 << 20);
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Reads a text body up to `max` bytes (the rest is discarded). */
export async function readText(res: Response, max = 1 << 20): Promise<string> {
  const buf = await readBytes(res, max);
  return buf.toString("utf8");
}

export async function readBytes(res: Response, max: number): Promise<Buffer> {
  if (!res.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new RegistryError("PROTOCOL", `response body over ${max} bytes`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/** The `errors[].code` values of an OCI distribution error body. */
export function errorCodes(body: unknown): string[] {
  const errors = (body as { errors?: { code?: unknown }[] } | undefined)?.errors;
  return Array.isArray(errors) ? errors.map((e) => String(e?.code ?? "")).filter(Boolean) : [];
}

/** A short, secret-free description of an error body: the first error's code and message. */
export function describeErrorBody(body: unknown, secrets: string[] = []): string {
  const b = body as
    { errors?: { code?: unknown; message?: unknown }[]; error?: unknown; error_description?: unknown; message?: unknown } | undefined;
  let text = "";
  const first = b?.errors?.[0];
  if (first) text = [first.code, first.message].filter(Boolean).join(": ");
  else if (b?.error || b?.error_description) text = [b.error, b.error_description].filter(Boolean).join(": ");
  else if (b?.message) text = String(b.message);
  return redact(text.slice(0, 300), secrets);
}

// ---- WWW-Authenticate ----------------------------------------------------------------

export interface Challenge {
  /** Lowercase: "basic" or "bearer". */
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header into its challenges (RFC 7235): `Bearer realm="...",
 * service="...",scope="repository:x:pull"`, several challenges separated by commas.
 */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skip = (re: RegExp) => {
    while (i < n && re.test(header[i]!)) i++;
  };
  const token = () => {
    const m = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(header.slice(i));
    if (!m) return "";
    i += m[0].length;
    return m[0];
  };
  while (i < n) {
    skip(/[\s,]/);
    const scheme = token();
    if (!scheme) {
      i++;
      continue;
    }
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/[\s,]/);
      const save = i;
      const key = token();
      skip(/\s/);
      if (!key || header[i] !== "=") {
        i = save; // the next challenge's scheme
        break;
      }
      i++; // "="
      skip(/\s/);
      let value = "";
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === "\\" && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        const m = /^[^\s,]*/.exec(header.slice(i))!;
        value = m[0];
        i += value.length;
      }
      challenge.params[key.toLowerCase()] = value;
    }
  }
  return out;
}
