/**
 * Entra ID credentials from plain values, independent of any Azure service: Blob Storage uses
 * them here, the ACR token exchange can use the same function. No Dagger, no hidden globals
 * except the one @azure/identity itself reads (SYSTEM_OIDCREQUESTURI, checked up front).
 */
import {
  AzureCliCredential,
  AzurePipelinesCredential,
  ClientAssertionCredential,
  ClientSecretCredential,
  ManagedIdentityCredential,
  type TokenCredential,
} from "@azure/identity";
import { CredentialError } from "./auth-mode.js";
import { OIDC_REQUEST_URI_ENV } from "./env.js";

export type EntraAuth =
  | { kind: "client-secret"; tenantId: string; clientId: string; clientSecret: string }
  /** A workload-identity token (Azure DevOps `idToken`, GitHub OIDC, AKS): fetched anew on every sign-in. */
  | { kind: "federated-token"; tenantId: string; clientId: string; getToken: () => Promise<string> }
  | { kind: "azure-pipelines"; tenantId: string; clientId: string; serviceConnectionId: string; systemAccessToken: string }
  /** System-assigned when `clientId` is absent, user-assigned otherwise. */
  | { kind: "managed-identity"; clientId?: string }
  /** The `az login` session of the person running the command (`tenantId` picks one of their tenants). */
  | { kind: "azure-cli"; tenantId?: string };

export interface EntraClientOptions {
  /** Sign-in endpoint for sovereign clouds or a test double; instance discovery is skipped when set. */
  authorityHost?: string;
}

/** A TokenCredential for `auth`; signing in happens on first use (getToken), not here. */
export function entraCredential(auth: EntraAuth, client: EntraClientOptions = {}): TokenCredential {
  const options = client.authorityHost ? { authorityHost: client.authorityHost, disableInstanceDiscovery: true } : {};
  switch (auth.kind) {
    case "client-secret":
      return new ClientSecretCredential(auth.tenantId, auth.clientId, auth.clientSecret, options);
    case "federated-token":
      return new ClientAssertionCredential(auth.tenantId, auth.clientId, auth.getToken, options);
    case "azure-pipelines":
      if (!process.env[OIDC_REQUEST_URI_ENV]) {
        throw new CredentialError(
          `Azure Pipelines auth needs ${OIDC_REQUEST_URI_ENV} in the environment (Azure Pipelines sets it on every task; pass $(System.OidcRequestUri))`,
        );
      }
      return new AzurePipelinesCredential(auth.tenantId, auth.clientId, auth.serviceConnectionId, auth.systemAccessToken, options);
    case "managed-identity":
      return auth.clientId ? new ManagedIdentityCredential({ clientId: auth.clientId }) : new ManagedIdentityCredential();
    case "azure-cli":
      return new AzureCliCredential(auth.tenantId ? { tenantId: auth.tenantId } : {});
  }
}
