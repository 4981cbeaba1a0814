/**
 * Tag -> digest through the OCI distribution API: `HEAD /v2/<repo>/manifests/<tag>`,
 * following the registry's `WWW-Authenticate` challenge (Basic, or Bearer with
 * realm/service/scope as ACR and distribution's token servers send it).
 */
import { createHash } from "node:crypto";
import {
  Challenge,
  describeErrorBody,
  errorCodes,
  HttpOptions,
  parseChallenges,
  readBytes,
  readJson,
  RegistryError,
  requestWithRetry,
} from "./http.js";
import { checkDigest, checkRepository, checkTag, isLoopbackRegistry, parseRegistry, RegistryHost, registryBaseUrl } from "./names.js";

/** ACR's fixed user name for a refresh token obtained by exchanging an Entra ID token. */
export const ACR_REFRESH_TOKEN_USER = "00000000-0000-0000-0000-000000000000";

/** What the client authenticates with, once a challenge asks for it. */
export type RegistryCredentials =
  | { kind: "anonymous" }
  /** ACR admin user, service principal id/secret, htpasswd users, ... */
  | { kind: "basic"; username: string; password: string }
  /** An ACR refresh token (from `exchangeEntraToken`), traded for access tokens at the realm. */
  | { kind: "acr-refresh-token"; refreshToken: string };

/** Every manifest type a tag may point at: multi-arch indexes first, then single manifests. */
export const MANIFEST_MEDIA_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;

export interface ResolvedDigest {
  /** `sha256:...` */
  digest: string;
  /** `registry/repository@sha256:...` */
  reference: string;
  /** The manifest's media type as the registry reports it. */
  mediaType?: string;
}

const MAX_MANIFEST_BYTES = 4 << 20;

/** A client for one registry; caches the access token it obtained per scope. */
export class RegistryClient {
  readonly registry: RegistryHost;
  private readonly base: string;
  private readonly tokens = new Map<string, string>();
  private basicChallenged = false;

  constructor(
    registry: string,
    private readonly credentials: RegistryCredentials = { kind: "anonymous" },
    private readonly http: HttpOptions = {},
  ) {
    this.registry = parseRegistry(registry);
    this.base = registryBaseUrl(this.registry);
  }

  /** Resolves `repository:tag` to the digest of the manifest (or index) the tag points at. */
  async resolveDigest(repository: string, tag: string): Promise<ResolvedDigest> {
    checkRepository(repository, this.registry.address);
    checkTag(tag);
    const path = `/v2/${repository}/manifests/${tag}`;
    const name = `${this.registry.address}/${repository}:${tag}`;
    const accept = { accept: MANIFEST_MEDIA_TYPES.join(", ") };
    const head = await this.send("HEAD", path, repository, accept);
    if (head.status === 404) return this.notFound(repository, tag);
    this.expectOk(head, `HEAD ${name}`, repository);
    const mediaType = head.headers.get("content-type")?.split(";")[0]?.trim() || undefined;
    let digest = head.headers.get("docker-content-digest") ?? undefined;
    if (!digest) {
      // Some registries omit the header on HEAD: fetch the manifest and hash its exact bytes.
      const get = await this.send("GET", path, repository, accept);
      if (get.status === 404) return this.notFound(repository, tag);
      this.expectOk(get, `GET ${name}`, repository);
      const bytes = await readBytes(get, MAX_MANIFEST_BYTES);
      digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      const stated = get.headers.get("docker-content-digest");
      if (stated && stated !== digest) {
        throw new RegistryError("PROTOCOL", `${name}: the registry says digest ${stated} but the manifest bytes hash to ${digest}`);
      }
    }
    try {
      checkDigest(digest);
    } catch {
      throw new RegistryError("PROTOCOL", `${name}: the registry returned an unusable digest ${JSON.stringify(digest.slice(0, 80))}`);
    }
    return { digest, reference: `${this.registry.address}/${repository}@${digest}`, ...(mediaType ? { mediaType } : {}) };
  }

  /** The repository's tags (first page), or undefined when the repository does not exist. */
  async listTags(repository: string, max = 100): Promise<string[] | undefined> {
    checkRepository(repository, this.registry.address);
    const res = await this.send("GET", `/v2/${repository}/tags/list?n=${max}`, repository, { accept: "application/json" });
    const body = await readJson(res);
    if (res.status === 404) {
      if (errorCodes(body).includes("NAME_UNKNOWN") || errorCodes(body).length === 0) return undefined;
    }
    this.expectOk(res, `GET ${this.registry.address}/v2/${repository}/tags/list`, repository, body);
    const tags = (body as { tags?: unknown } | undefined)?.tags;
    return Array.isArray(tags) ? tags.map(String) : [];
  }

  /** 404 on a manifest: tell a missing repository from a missing tag (distribution says MANIFEST_UNKNOWN for both). */
  private async notFound(repository: string, tag: string): Promise<never> {
    const repoName = `${this.registry.address}/${repository}`;
    const tags = await this.listTags(repository);
    if (tags === undefined) {
      throw new RegistryError(
        "REPOSITORY_NOT_FOUND",
        `repository ${repoName} does not exist (nothing was pushed to it yet, or the name is misspelled)`,
        404,
      );
    }
    const shown = [...tags].sort().slice(0, 10).join(", ") + (tags.length > 10 ? ", ..." : "");
    throw new RegistryError(
      "TAG_NOT_FOUND",
      `tag ${JSON.stringify(tag)} not found in ${repoName} (${tags.length ? `tags there: ${shown}` : "it has no tags"})`,
      404,
    );
  }

  private expectOk(res: Response, what: string, repository: string, body?: unknown): void {
    if (res.ok) return;
    const detail = describeErrorBody(body, this.secrets());
    const suffix = detail ? ` (${detail})` : "";
    if (res.status === 401) {
      const challenge = this.pickChallenge(res);
      if (this.credentials.kind === "anonymous") {
        throw new RegistryError(
          "UNAUTHORIZED",
          `${what}: the registry requires credentials (HTTP 401); pass --username/--password or --entra-token`,
          401,
        );
      }
      if (challenge?.scheme === "bearer" && challenge.params.error === "insufficient_scope") {
        throw new RegistryError(
          "DENIED",
          `${what}: the credentials were accepted but grant no pull access to ${repository} (HTTP 401 insufficient_scope: missing AcrPull/AcrPush role, or no such repository)`,
          401,
        );
      }
      throw new RegistryError("UNAUTHORIZED", `${what}: the registry rejected the credentials (HTTP 401)${suffix}`, 401);
    }
    if (res.status === 403) {
      throw new RegistryError("DENIED", `${what}: access denied (HTTP 403) to ${repository}${suffix}`, 403);
    }
    throw new RegistryError("PROTOCOL", `${what}: unexpected HTTP ${res.status}${suffix}`, res.status);
  }

  /** Sends a request, answering one authentication challenge if the registry issues it. */
  private async send(method: string, path: string, repository: string, headers: Record<string, string>): Promise<Response> {
    const url = this.base + path;
    const what = `${method} ${this.registry.address}${path.replace(/\?.*$/, "")}`;
    const scope = `repository:${repository}:pull`;
    const first = await requestWithRetry(url, { method, headers: { ...headers, ...this.cachedAuth(scope) } }, what, this.http);
    if (first.status !== 401) return first;
    const challenge = this.pickChallenge(first);
    // A 401 that came with credentials we already sent for this challenge is final.
    if (!challenge || this.alreadyAnswered(challenge, scope)) return first;
    await first.body?.cancel().catch(() => undefined);
    const auth = await this.answer(challenge, scope, repository);
    if (!auth) return first;
    return requestWithRetry(url, { method, headers: { ...headers, ...auth } }, what, this.http);
  }

  private alreadyAnswered(challenge: Challenge, scope: string): boolean {
    if (challenge.scheme === "basic") return this.basicChallenged;
    return this.tokens.has(challenge.params.scope ?? scope);
  }

  private cachedAuth(scope: string): Record<string, string> {
    if (this.basicChallenged && this.credentials.kind !== "anonymous") return { authorization: this.basicHeader() };
    const token = this.tokens.get(scope);
    return token ? { authorization: `Bearer ${token}` } : {};
  }

  private pickChallenge(res: Response): Challenge | undefined {
    const all = parseChallenges(res.headers.get("www-authenticate") ?? "");
    return all.find((c) => c.scheme === "bearer") ?? all.find((c) => c.scheme === "basic");
  }

  private basicHeader(): string {
    const c = this.credentials;
    const [user, pass] =
      c.kind === "basic" ? [c.username, c.password] : c.kind === "acr-refresh-token" ? [ACR_REFRESH_TOKEN_USER, c.refreshToken] : ["", ""];
    return "Basic " + Buffer.from(`${user}:${pass}`).toString("base64");
  }

  private async answer(challenge: Challenge, scope: string, repository: string): Promise<Record<string, string> | undefined> {
    if (this.credentials.kind === "anonymous" && challenge.scheme === "basic") return undefined;
    if (challenge.scheme === "basic") {
      this.basicChallenged = true;
      return { authorization: this.basicHeader() };
    }
    if (challenge.scheme !== "bearer") return undefined;
    const wanted = challenge.params.scope ?? scope;
    const token = await this.fetchToken(challenge, wanted, repository);
    this.tokens.set(wanted, token);
    if (wanted !== scope) this.tokens.set(scope, token);
    return { authorization: `Bearer ${token}` };
  }

  /**
   * Docker token protocol: GET realm?service&scope (Basic auth when we have a user), or for an
   * ACR refresh token the OAuth2 form `POST realm` with grant_type=refresh_token.
   */
  private async fetchToken(challenge: Challenge, scope: string, repository: string): Promise<string> {
    const realm = checkRealm(challenge.params.realm, this.registry, this.credentials.kind !== "anonymous");
    const service = challenge.params.service ?? this.registry.host;
    const what = `token for ${scope} from ${realm.origin}${realm.pathname}`;
    let res: Response;
    if (this.credentials.kind === "acr-refresh-token") {
      const form = new URLSearchParams({ grant_type: "refresh_token", service, scope, refresh_token: this.credentials.refreshToken });
      res = await requestWithRetry(
        realm.href,
        { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: form.toString() },
        `POST ${what}`,
        this.http,
      );
    } else {
      const url = new URL(realm.href);
      url.searchParams.set("service", service);
      url.searchParams.set("scope", scope);
      const headers: Record<string, string> = { accept: "application/json" };
      if (this.credentials.kind === "basic") headers.authorization = this.basicHeader();
      res = await requestWithRetry(url.href, { method: "GET", headers }, `GET ${what}`, this.http);
    }
    const body = await readJson(res);
    const detail = describeErrorBody(body, this.secrets());
    if (res.status === 401 && this.credentials.kind === "anonymous") {
      throw new RegistryError(
        "UNAUTHORIZED",
        `${this.registry.address}: the registry requires credentials (HTTP 401 from its token service); pass --username/--password or --entra-token`,
        401,
      );
    }
    if (res.status === 401) {
      const who =
        this.credentials.kind === "acr-refresh-token"
          ? "the ACR refresh token (expired, or for another registry)"
          : "the username/password";
      throw new RegistryError(
        "UNAUTHORIZED",
        `${this.registry.address}: the token service rejected ${who} (HTTP 401)${detail ? ` (${detail})` : ""}`,
        401,
      );
    }
    if (res.status === 403) {
      throw new RegistryError(
        "DENIED",
        `${this.registry.address}: the token service denied access to ${repository} (HTTP 403)${detail ? ` (${detail})` : ""}`,
        403,
      );
    }
    if (!res.ok) {
      throw new RegistryError(
        "PROTOCOL",
        `${this.registry.address}: the token service answered HTTP ${res.status}${detail ? ` (${detail})` : ""}`,
        res.status,
      );
    }
    const b = body as { token?: unknown; access_token?: unknown } | undefined;
    const token = b?.access_token ?? b?.token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryError("PROTOCOL", `${this.registry.address}: the token service answered without a token`);
    }
    return token;
  }

  private secrets(): string[] {
    const c = this.credentials;
    const s = c.kind === "basic" ? [c.password] : c.kind === "acr-refresh-token" ? [c.refreshToken] : [];
    return [...s, ...this.tokens.values()];
  }
}

/** Hosts of Azure Container Registry login servers (public and sovereign clouds). */
const ACR_LOGIN_SERVER = /\.azurecr\.(io|cn|us)$/i;

/**
 * Where a Bearer challenge may send the client for a token: an absolute URL over HTTPS (plain
 * HTTP only on loopback). When credentials go with the token request (`withCredentials`), the
 * realm must be on the registry's own host (any port: distribution's token server may listen
 * on another one), and an ACR login server must name its own `https://<login server>/oauth2/token`,
 * the form ACR documents; anything else would hand the password or token to another server.
 */
export function checkRealm(realm: string | undefined, registry: RegistryHost, withCredentials = true): URL {
  let url: URL;
  try {
    url = new URL(realm ?? "");
  } catch {
    throw new RegistryError("PROTOCOL", `${registry.address}: Bearer challenge without a usable realm (${JSON.stringify(realm ?? "")})`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new RegistryError(
      "PROTOCOL",
      `${registry.address}: Bearer challenge without a usable realm (${JSON.stringify(url.protocol)} is not HTTP)`,
    );
  }
  const loopback = isLoopbackRegistry({ host: url.hostname, address: url.host });
  if (url.protocol !== "https:" && !loopback) {
    throw new RegistryError(
      "PROTOCOL",
      `${registry.address}: refusing token realm ${url.origin}: credentials are only sent over HTTPS (or to loopback)`,
    );
  }
  if (!withCredentials) return url;
  const bare = (h: string) => h.toLowerCase().replace(/\.$/, "");
  if (bare(url.hostname) !== bare(registry.host)) {
    throw new RegistryError(
      "PROTOCOL",
      `${registry.address}: refusing token realm ${url.origin}: credentials are sent only to the registry's own host (${registry.host}), and this challenge names another`,
    );
  }
  if (
    ACR_LOGIN_SERVER.test(bare(registry.host)) &&
    (url.origin !== new URL(registryBaseUrl(registry)).origin || url.pathname !== "/oauth2/token")
  ) {
    throw new RegistryError(
      "PROTOCOL",
      `${registry.address}: refusing token realm ${url.origin}${url.pathname}: an Azure Container Registry issues tokens at https://${registry.host}/oauth2/token`,
    );
  }
  return url;
}

/** One-shot `resolveDigest` for a `registry`, `repository` and `tag`. */
export async function resolveDigest(
  target: { registry: string; repository: string; tag: string },
  credentials: RegistryCredentials = { kind: "anonymous" },
  http: HttpOptions = {},
): Promise<ResolvedDigest> {
  return new RegistryClient(target.registry, credentials, http).resolveDigest(target.repository, target.tag);
}
