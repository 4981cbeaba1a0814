/**
 * What a connection calls its credential in error messages: the mode and the fields that chose
 * it (secrets by their variable, never their value), for every auth mode. No request is made.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AuthInput, AuthMode } from "../../dagger/src/credentials/auth-mode.js";
import { SECRET_ENV, SecretField } from "../../dagger/src/credentials/env.js";
import { CLI_LABELS } from "../../dagger/src/model-store/cli-args.js";
import { connect } from "../../dagger/src/model-store/connect.js";
import { ContainerSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from "../support/azure.js";
import { storageJwt } from "../support/token-server.js";

const KEY = Buffer.from("not-a-real-account-key-0123456789").toString("base64");
const ids = { tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "11111111-2222-3333-4444-555555555555" };
const sas = generateBlobSASQueryParameters(
  { containerName: "models", permissions: ContainerSASPermissions.parse("rl"), expiresOn: new Date(Date.now() + 3600_000) },
  new StorageSharedKeyCredential("acct01", KEY),
).toString();

const CASES: Record<AuthMode, { auth: AuthInput<string>; credential: string }> = {
  "connection-string": {
    auth: { connectionString: `DefaultEndpointsProtocol=https;AccountName=acct01;AccountKey=${KEY};EndpointSuffix=core.windows.net` },
    credential: "connection string (AZURE_STORAGE_CONNECTION_STRING)",
  },
  "sas-token": { auth: { sasToken: sas, account: "acct01" }, credential: "SAS token (AZURE_STORAGE_SAS_TOKEN)" },
  "account-key": { auth: { accountKey: KEY, account: "acct01" }, credential: "account key (AZURE_STORAGE_KEY)" },
  "client-secret": {
    auth: { clientSecret: "s3cret-value", ...ids, account: "acct01" },
    credential: "Entra ID client secret (AZURE_CLIENT_SECRET)",
  },
  "federated-token": {
    auth: { federatedTokenFile: "/var/run/token", ...ids, account: "acct01" },
    credential: "Entra ID federated token (AZURE_FEDERATED_TOKEN_FILE)",
  },
  "azure-pipelines": {
    auth: {
      systemAccessToken: "s3cret-value",
      serviceConnectionId: "sc-1",
      oidcRequestUri: "https://dev.azure.com/o/_apis",
      ...ids,
      account: "acct01",
    },
    credential: "Azure Pipelines service connection (SYSTEM_ACCESSTOKEN)",
  },
  "managed-identity": {
    auth: { managedIdentity: true, clientId: ids.clientId, account: "acct01" },
    credential: "managed identity (--managed-identity)",
  },
  "entra-token": {
    auth: { entraToken: storageJwt(ids.tenantId), account: "acct01" },
    credential: "Entra ID access token (AZURE_STORAGE_ENTRA_TOKEN)",
  },
  "azure-cli": { auth: { azureCli: true, tenantId: ids.tenantId, account: "acct01" }, credential: "Azure CLI sign-in (--az-login)" },
};

test("every mode is named with the fields that chose it (ids, endpoints and ambient values left out), never a secret value", () => {
  for (const [mode, c] of Object.entries(CASES)) {
    const conn = connect({ container: "models", auth: c.auth }, CLI_LABELS, "read");
    assert.is(conn.plan.mode, mode);
    assert.is(conn.context.credential, c.credential, mode);
    for (const f of Object.keys(SECRET_ENV) as SecretField[]) {
      const secret = c.auth[f];
      if (secret) assert.not.ok(conn.context.credential.includes(secret), `${mode}: the ${f} value is in the description`);
    }
  }
});

test.run();
