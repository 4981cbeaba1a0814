/**
 * The registry's tokens, checked before anything runs (credentials/jwt-claims.ts). Two are JWTs:
 *  - `with-registry --entra-token`: an Entra ID access token that /oauth2/exchange turns into an
 *    ACR refresh token. ACR takes Azure Resource Manager tokens (what `az account
 *    get-access-token` gives by default, `aud` https://management.core.windows.net/ or
 *    https://management.azure.com/, in any Azure cloud) unless the registry's
 *    "authentication-as-arm" policy is off, and ACR audience tokens (`aud`
 *    https://containerregistry.azure.net) always; either is accepted here.
 *  - `--password` of user 00000000-0000-0000-0000-000000000000: an ACR refresh token (`az acr
 *    login --expose-token`), whose `aud` is the registry's login server.
 * Any other password (the admin user's, a service principal's client secret, a repository-scoped
 * token's) is not a JWT and has no claims to read: it is left to the registry. So is a token
 * source (a TokenCredential), which mints a fresh token when asked.
 */
import { Secret } from "@dagger.io/dagger";
import { Audience, TokenRule, TokenTiming, tokenProblem } from "../credentials/jwt-claims.js";
import { AccessTokenSource } from "./acr.js";
import { ACR_REFRESH_TOKEN_USER } from "./client.js";
import { parseRegistry } from "./names.js";
import { RegistryTarget } from "./settings.js";

/** Azure Resource Manager's hosts in Azure's clouds, and its application id (a v2 token's `aud`). */
const ARM_HOSTS = /^management\.(?:core\.)?(?:windows\.net|azure\.com|usgovcloudapi\.net|chinacloudapi\.cn)$/;
const ARM_APP_ID = "797f4846-ba00-4fd7-ba43-dac1f8f63013";

function isAcrEntraAudience(aud: string): boolean {
  if (aud.toLowerCase() === ARM_APP_ID) return true;
  try {
    const host = new URL(aud).hostname;
    return ARM_HOSTS.test(host) || host === "containerregistry.azure.net";
  } catch {
    return false;
  }
}

/** An Entra ID token for the exchange: Azure Resource Manager or ACR audience. */
export const ACR_ENTRA_TOKEN: TokenRule = {
  audience: {
    name: "Azure Container Registry (an Azure Resource Manager or https://containerregistry.azure.net token)",
    accepts: isAcrEntraAudience,
  },
  getOne: "az account get-access-token --query accessToken -o tsv",
  noun: "the access token",
};

/** An ACR refresh token for `registry`: its audience is the login server. */
export function acrRefreshTokenRule(registry: string): TokenRule {
  const host = parseRegistry(registry).host.toLowerCase();
  const audience: Audience = { name: host, accepts: (aud) => aud.toLowerCase() === host };
  const name = host.endsWith(".azurecr.io") ? host.slice(0, -".azurecr.io".length) : host;
  return { audience, noun: "the refresh token", getOne: `az acr login --name ${name} --expose-token --query accessToken -o tsv` };
}

/** What is wrong with the registry's token, as lines naming the flag it came with; empty when nothing is. */
export async function registryTokenProblems(target: RegistryTarget, timing: TokenTiming): Promise<string[]> {
  const auth = target.auth;
  if (auth.kind === "entra") {
    if (!isSecret(auth.token)) return [];
    const problem = tokenProblem((await auth.token.plaintext()).trim(), ACR_ENTRA_TOKEN, timing);
    return problem ? [`with-registry --entra-token: ${problem}`] : [];
  }
  if (auth.kind === "basic" && auth.username === ACR_REFRESH_TOKEN_USER) {
    const problem = tokenProblem((await auth.password.plaintext()).trim(), acrRefreshTokenRule(target.registry), timing);
    return problem ? [`with-registry --password (an ACR refresh token): ${problem}`] : [];
  }
  return [];
}

/** A Secret given by the user, not a token source (which has getToken and mints a fresh token). */
function isSecret(t: Secret | AccessTokenSource): t is Secret {
  return typeof (t as Partial<AccessTokenSource>).getToken !== "function";
}
