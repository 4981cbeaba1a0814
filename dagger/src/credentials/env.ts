/**
 * The environment variables that carry secrets into the model-store command: the CLI reads
 * them, the Dagger steps set them with `withSecretVariable`. Secrets never travel in argv.
 */

/** Secret fields of AuthInput and the variable each is read from. */
export const SECRET_ENV = {
  connectionString: "AZURE_STORAGE_CONNECTION_STRING",
  sasToken: "AZURE_STORAGE_SAS_TOKEN",
  accountKey: "AZURE_STORAGE_KEY",
  clientSecret: "AZURE_CLIENT_SECRET",
  federatedToken: "AZURE_FEDERATED_TOKEN",
  systemAccessToken: "SYSTEM_ACCESSTOKEN",
  entraToken: "AZURE_STORAGE_ENTRA_TOKEN",
} as const;

export type SecretField = keyof typeof SECRET_ENV;

/** Path of a file holding a federated token (AKS workload identity and others write it there). */
export const FEDERATED_TOKEN_FILE_ENV = "AZURE_FEDERATED_TOKEN_FILE";

/** Set by Azure Pipelines on every task; AzurePipelinesCredential reads it from the environment. */
export const OIDC_REQUEST_URI_ENV = "SYSTEM_OIDCREQUESTURI";
