/**
 * Plain words for the sign-ins that depend on the machine rather than on a secret: managed
 * identity (only on Azure) and the Azure CLI (only where `az` is installed and signed in). The
 * SDK reports both as CredentialUnavailableError with a message about endpoints or MSAL codes;
 * a person needs to hear where the mode works and what to run or use instead.
 */
import type { TokenCredential } from "@azure/identity";
import { CredentialError, FieldLabels } from "./auth-mode.js";

/** A credential whose sign-in failures pass through `explain` (which returns undefined to keep the original). */
export function withSignInHelp(credential: TokenCredential, explain: (e: unknown) => Error | undefined): TokenCredential {
  return {
    getToken: async (scopes, options) => {
      try {
        return await credential.getToken(scopes, options);
      } catch (e) {
        throw explain(e) ?? e;
      }
    },
  };
}

const isUnavailable = (e: unknown) => (e as Error | undefined)?.name === "CredentialUnavailableError";

/** The SDK's own first line, short, as the detail in parentheses. */
function detail(e: unknown): string {
  const line = String((e as Error)?.message ?? e)
    .split("\n")[0]!
    .trim();
  return line.length > 120 ? `${line.slice(0, 117)}...` : line;
}

/** Ways to sign in that work off Azure, in the caller's spelling. */
function offAzureAlternatives(labels: FieldLabels): string {
  return [
    ...(labels.azureCli ? [`${labels.azureCli} (your az login session)`] : []),
    `${labels.entraToken} (your own access token)`,
    `${labels.federatedToken} with ${labels.tenantId} and ${labels.clientId} (a federated token)`,
    `${labels.sasToken} (a SAS)`,
  ].join(", ");
}

export function explainManagedIdentity(labels: FieldLabels): (e: unknown) => Error | undefined {
  return (e) =>
    isUnavailable(e)
      ? new CredentialError(
          `no managed identity answered here (${detail(e)}): ${labels.managedIdentity} only works on Azure ` +
            `(a VM, AKS, App Service or Functions, or an Azure DevOps agent running on Azure) with an identity assigned ` +
            `(${labels.clientId} for a user-assigned one); elsewhere sign in with ${offAzureAlternatives(labels)}`,
        )
      : undefined;
}

export function explainAzureCli(labels: FieldLabels, tenantId?: string): (e: unknown) => Error | undefined {
  const login = `az login${tenantId ? ` --tenant ${tenantId}` : ""}`;
  return (e) => {
    if (!isUnavailable(e)) return undefined;
    const message = String((e as Error).message);
    if (/could not be found|not installed|ENOENT/i.test(message)) {
      return new CredentialError(
        `the Azure CLI (az) is not installed or not on PATH: install it (https://aka.ms/azure-cli), then run ${login}; ` +
          `or give your own token in ${labels.entraToken} instead of ${labels.azureCli ?? "az login"}`,
      );
    }
    if (/az login/.test(message)) {
      return new CredentialError(`you are not signed in to the Azure CLI: run ${login}, then try again`);
    }
    return undefined;
  };
}
