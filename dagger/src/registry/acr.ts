/**
 * Azure Container Registry with Microsoft Entra ID: an Entra access token is exchanged for an
 * ACR refresh token (`POST /oauth2/exchange`), which then works as the password of user
 * `00000000-0000-0000-0000-000000000000` for pushes, and for the OCI API through
 * `POST /oauth2/token` (grant_type=refresh_token). The exchange endpoint and the service name
 * are taken from the registry's own Bearer challenge, as the Azure CLI does.
 */
import { describeErrorBody, HttpOptions, parseChallenges, readJson, RegistryError, requestWithRetry } from "./http.js";
import { checkRealm } from "./client.js";
import { parseRegistry, registryBaseUrl } from "./names.js";

/**
 * The scope to ask Entra ID for: the Azure Resource Manager audience, as `az acr login` and
 * `az account get-access-token` (default resource) use; ACR accepts it for the exchange.
 */
export const ACR_ENTRA_SCOPE = "https://management.azure.com/.default";

/**
 * Anything with `getToken(scope)`: structurally an @azure/identity `TokenCredential`, so any
 * credential of `dagger/src/credentials/` (client secret, federated/workload identity, managed
 * identity, Azure Pipelines) plugs in without this module importing the Azure SDK.
 */
export interface AccessTokenSource {
  getToken(scopes: string | string[]): Promise<{ token: string } | null>;
}

/** Gets an Entra access token for ACR from a TokenCredential-like source. */
export async function entraTokenFor(source: AccessTokenSource, scope = ACR_ENTRA_SCOPE): Promise<string> {
  const t = await source.getToken(scope);
  if (!t?.token) throw new RegistryError("UNAUTHORIZED", `the Entra ID credential returned no access token for ${scope}`);
  return t.token;
}

/** The `tid` (tenant) claim of a JWT access token, read without verifying it; undefined if absent. */
export function tenantOfToken(token: string): string | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as { tid?: unknown };
    return typeof claims.tid === "string" && claims.tid ? claims.tid : undefined;
  } catch {
    return undefined;
  }
}

export interface AcrEndpoints {
  /** `https://<registry>/oauth2/exchange` (from the challenge's realm). */
  exchange: string;
  /** `https://<registry>/oauth2/token` (the challenge's realm). */
  token: string;
  /** The `service` the registry names in its challenge (the login server). */
  service: string;
}

/** Reads the registry's Bearer challenge on `GET /v2/` to find its token endpoints. */
export async function discoverAcrEndpoints(registry: string, http: HttpOptions = {}): Promise<AcrEndpoints> {
  const host = parseRegistry(registry);
  const res = await requestWithRetry(`${registryBaseUrl(host)}/v2/`, { method: "GET" }, `GET ${registry}/v2/`, http);
  await res.body?.cancel().catch(() => undefined);
  const bearer = parseChallenges(res.headers.get("www-authenticate") ?? "").find((c) => c.scheme === "bearer");
  if (res.status !== 401 || !bearer) {
    throw new RegistryError(
      "UNSUPPORTED",
      `${registry} does not issue a Bearer token challenge (HTTP ${res.status} on /v2/): --entra-token works with Azure Container Registry; use --username/--password for other registries`,
    );
  }
  const realm = checkRealm(bearer.params.realm, host);
  return {
    exchange: new URL("/oauth2/exchange", realm).href,
    token: realm.href,
    service: bearer.params.service ?? host.host,
  };
}

export interface ExchangeOptions {
  /** Entra tenant id; defaults to the token's own `tid` claim. */
  tenant?: string;
  http?: HttpOptions;
}

/**
 * Exchanges an Entra ID access token for an ACR refresh token (valid for about 3 hours).
 * Form: grant_type=access_token, service, tenant, access_token.
 */
export async function exchangeEntraToken(registry: string, entraToken: string, opts: ExchangeOptions = {}): Promise<string> {
  if (!entraToken.trim()) throw new RegistryError("UNAUTHORIZED", "the Entra ID access token is empty");
  const ep = await discoverAcrEndpoints(registry, opts.http);
  const tenant = opts.tenant ?? tenantOfToken(entraToken);
  const form = new URLSearchParams({ grant_type: "access_token", service: ep.service });
  if (tenant) form.set("tenant", tenant);
  form.set("access_token", entraToken);
  const res = await requestWithRetry(
    ep.exchange,
    { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" }, body: form.toString() },
    `POST ${new URL(ep.exchange).host}/oauth2/exchange`,
    opts.http,
  );
  const body = await readJson(res);
  const detail = describeErrorBody(body, [entraToken]);
  if (res.status === 400 || res.status === 401) {
    throw new RegistryError(
      "UNAUTHORIZED",
      `${registry} rejected the Entra ID token (HTTP ${res.status}${detail ? `: ${detail}` : ""}): ` +
        `it may be expired, issued for another tenant or audience, or its identity has no role on the registry (AcrPush to publish)`,
      res.status,
    );
  }
  if (res.status === 403) {
    throw new RegistryError("DENIED", `${registry} denied the token exchange (HTTP 403${detail ? `: ${detail}` : ""})`, 403);
  }
  if (!res.ok)
    throw new RegistryError(
      "PROTOCOL",
      `${registry}: /oauth2/exchange answered HTTP ${res.status}${detail ? ` (${detail})` : ""}`,
      res.status,
    );
  const refresh = (body as { refresh_token?: unknown } | undefined)?.refresh_token;
  if (typeof refresh !== "string" || refresh === "") {
    throw new RegistryError("PROTOCOL", `${registry}: /oauth2/exchange answered without a refresh_token`);
  }
  return refresh;
}
