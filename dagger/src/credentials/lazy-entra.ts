/**
 * entraCredential with @azure/identity (and MSAL, ~60 MB resident) loaded only when the first
 * token is requested, so commands using a key, SAS or connection string never pay for it.
 * Only types are imported statically here; keep it that way.
 */
import type { TokenCredential } from "@azure/identity";
import type { EntraAuth, EntraClientOptions } from "./entra.js";

export function lazyEntraCredential(auth: EntraAuth, client: EntraClientOptions = {}): TokenCredential {
  let credential: Promise<TokenCredential> | undefined;
  return {
    getToken: async (scopes, options) => {
      credential ??= import("./entra.js").then((m) => m.entraCredential(auth, client));
      return (await credential).getToken(scopes, options);
    },
  };
}
