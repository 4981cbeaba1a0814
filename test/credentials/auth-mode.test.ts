/** Credential selection: every mode, every missing piece, every conflict, and no secret in any message. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { accountNameFromUrl, AuthField, AuthInput, AuthMode, CredentialError, selectAuth } from "../../dagger/src/credentials/auth-mode.js";
import { CLI_LABELS } from "../../dagger/src/model-store/cli-args.js";
import { DAGGER_LABELS } from "../../dagger/src/model-store/step.js";

const SECRET = "pa55-SECRET-value-0123456789";
const ids = { tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "11111111-2222-3333-4444-555555555555" };

const COMPLETE: Record<AuthMode, AuthInput<string>> = {
  "connection-string": { connectionString: SECRET },
  "sas-token": { sasToken: SECRET, account: "acct01" },
  "account-key": { accountKey: SECRET, account: "acct01" },
  "client-secret": { clientSecret: SECRET, ...ids, account: "acct01" },
  "federated-token": { federatedToken: SECRET, ...ids, account: "acct01" },
  "azure-pipelines": {
    systemAccessToken: SECRET,
    serviceConnectionId: "sc-1",
    oidcRequestUri: "https://dev.azure.com/o/p/_apis/x",
    ...ids,
    account: "acct01",
  },
  "managed-identity": { managedIdentity: true, account: "acct01" },
  "entra-token": { entraToken: SECRET, account: "acct01" },
  "azure-cli": { azureCli: true, account: "acct01" },
};
const MODES = Object.keys(COMPLETE) as AuthMode[];
const TRIGGERS: Record<AuthMode, AuthField> = {
  "connection-string": "connectionString",
  "sas-token": "sasToken",
  "account-key": "accountKey",
  "client-secret": "clientSecret",
  "federated-token": "federatedToken",
  "azure-pipelines": "systemAccessToken",
  "managed-identity": "managedIdentity",
  "entra-token": "entraToken",
  "azure-cli": "azureCli",
};

/** The error selectAuth throws for `input` (failing the test when it does not throw). */
function failure(input: AuthInput<unknown>, labels = CLI_LABELS): string {
  try {
    selectAuth(input, labels);
  } catch (e) {
    assert.instance(e, CredentialError);
    const msg = (e as Error).message;
    assert.not.ok(msg.includes(SECRET), `secret leaked into: ${msg}`);
    return msg;
  }
  assert.unreachable(`expected a CredentialError for ${JSON.stringify(Object.keys(input))}`);
  return "";
}

test("each complete mode is selected, with its endpoint", () => {
  for (const mode of MODES) {
    const plan = selectAuth(COMPLETE[mode], CLI_LABELS);
    assert.is(plan.mode, mode);
    if (mode === "connection-string") assert.is(plan.accountUrl, undefined);
    else assert.is(plan.accountUrl, "https://acct01.blob.core.windows.net");
  }
  assert.is(selectAuth(COMPLETE["account-key"], CLI_LABELS).accountName, "acct01");
});

test("every required piece of every mode, when missing, is named", () => {
  const required: Record<AuthMode, AuthField[][]> = {
    "connection-string": [],
    "sas-token": [["account", "accountUrl"]],
    "account-key": [["account", "accountUrl"]],
    "client-secret": [["tenantId"], ["clientId"], ["account", "accountUrl"]],
    "federated-token": [["tenantId"], ["clientId"], ["account", "accountUrl"]],
    "azure-pipelines": [["tenantId"], ["clientId"], ["oidcRequestUri"], ["serviceConnectionId"], ["account", "accountUrl"]],
    "managed-identity": [["account", "accountUrl"]],
    "entra-token": [["account", "accountUrl"]],
    "azure-cli": [["account", "accountUrl"]],
  };
  let cases = 0;
  for (const mode of MODES) {
    for (const group of required[mode]) {
      const input: Record<string, unknown> = { ...COMPLETE[mode] };
      for (const f of group) delete input[f];
      const msg = failure(input);
      for (const f of group) assert.ok(msg.includes(CLI_LABELS[f]!), `${mode} without ${group}: ${msg}`);
      assert.match(msg, /missing/);
      cases++;
    }
  }
  // Azure Pipelines is also selected by its service connection alone: then the token is what is missing.
  const { systemAccessToken: _, ...noToken } = COMPLETE["azure-pipelines"];
  assert.match(failure(noToken), /missing SYSTEM_ACCESSTOKEN/);
  assert.is(cases, 16);
});

test("a requirement met by any one of several fields reads 'A or B', missing and in the list of ways", () => {
  assert.match(failure({ sasToken: SECRET }), /SAS token auth \(AZURE_STORAGE_SAS_TOKEN\): missing --account-url or --account$/);
  assert.match(failure({ clientSecret: SECRET }), /missing --tenant-id, --client-id, --account-url or --account$/);
  const ways = failure({});
  assert.match(ways, /^ {2}- SAS token: AZURE_STORAGE_SAS_TOKEN with --account-url or --account$/m);
  assert.match(ways, /^ {2}- Entra ID client secret: AZURE_CLIENT_SECRET with --tenant-id, --client-id, --account-url or --account$/m);
});

test("any two modes together are a conflict naming both", () => {
  for (const [i, a] of MODES.entries()) {
    for (const b of MODES.slice(i + 1)) {
      const msg = failure({ ...COMPLETE[a], ...COMPLETE[b] });
      assert.match(msg, /conflicting storage credentials/);
      assert.ok(msg.includes(CLI_LABELS[TRIGGERS[a]]!) && msg.includes(CLI_LABELS[TRIGGERS[b]]!), msg);
    }
  }
});

test("no credentials at all lists every way to give one", () => {
  const msg = failure({ account: "acct01" });
  assert.match(msg, /no storage credentials given/);
  for (const f of Object.values(TRIGGERS)) assert.ok(msg.includes(CLI_LABELS[f]!), `${f} not offered: ${msg}`);
});

test("your own sign-in: an Entra access token (CLI and Dagger) or az login (the CLI only, --tenant-id optional)", () => {
  assert.match(failure({ account: "acct01" }), /Azure CLI sign-in: --az-login/);
  assert.match(failure({ account: "acct01" }), /Entra ID access token: AZURE_STORAGE_ENTRA_TOKEN/);
  const dagger = failure({ account: "acct01" }, DAGGER_LABELS);
  assert.match(dagger, /Entra ID access token: --entra-token/);
  assert.not.match(dagger, /Azure CLI|az-login/, "a Dagger step has no az session to offer");
  assert.is(selectAuth({ ...COMPLETE["azure-cli"], tenantId: ids.tenantId }, CLI_LABELS).mode, "azure-cli");
  assert.match(
    failure({ ...COMPLETE["entra-token"], tenantId: ids.tenantId }),
    /not used by Entra ID access token auth, remove: --tenant-id/,
  );
  assert.match(
    failure({ ...COMPLETE["entra-token"], accountUrl: "http://127.0.0.1:10000/devstoreaccount1", account: undefined }),
    /must be https/,
  );
  assert.match(
    failure({ ...COMPLETE["azure-cli"], managedIdentity: true }),
    /conflicting .*--az-login.*--managed-identity|conflicting .*--managed-identity.*--az-login/,
  );
});

test("with Dagger's labels each flag is named once per way to sign in (no '--federated-token or --federated-token')", () => {
  const msg = failure({ account: "acct01" }, DAGGER_LABELS);
  for (const line of msg.split("\n").filter((l) => l.trim().startsWith("- "))) {
    const flags = line.match(/--[a-z-]+/g) ?? [];
    assert.equal(flags, [...new Set(flags)], line);
  }
  assert.not.match(msg, /file: or env:/, "Dagger spells secret sources env:// and file://");
});

test("fields a mode does not use are rejected, not silently ignored", () => {
  const extras: [AuthMode, AuthField, unknown][] = [
    ["connection-string", "account", "acct01"],
    ["connection-string", "accountUrl", "https://acct01.blob.core.windows.net"],
    ["sas-token", "tenantId", ids.tenantId],
    ["account-key", "clientId", ids.clientId],
    ["managed-identity", "tenantId", ids.tenantId],
  ];
  for (const [mode, field, value] of extras) {
    const msg = failure({ ...COMPLETE[mode], [field]: value });
    assert.match(msg, /not used by/);
    assert.ok(msg.includes(CLI_LABELS[field]!), msg);
  }
  // Azure Pipelines exports its OIDC endpoint to every task: never an error.
  assert.is(selectAuth({ ...COMPLETE["account-key"], oidcRequestUri: "https://x" }, CLI_LABELS).mode, "account-key");
  // A user-assigned managed identity takes a client id.
  assert.is(selectAuth({ ...COMPLETE["managed-identity"], clientId: ids.clientId }, CLI_LABELS).mode, "managed-identity");
});

test("a federated token given both ways is ambiguous", () => {
  assert.match(failure({ ...COMPLETE["federated-token"], federatedTokenFile: "/var/run/token" }), /not both/);
  assert.is(
    selectAuth({ ...COMPLETE["federated-token"], federatedToken: undefined, federatedTokenFile: "/t" }, CLI_LABELS).mode,
    "federated-token",
  );
});

test("account URLs: checked, normalised, https for Entra, no query", () => {
  const withUrl = (mode: AuthMode, accountUrl: string) => ({ ...COMPLETE[mode], account: undefined, accountUrl });
  assert.is(
    selectAuth(withUrl("account-key", "http://127.0.0.1:10000/devstoreaccount1/"), CLI_LABELS).accountUrl,
    "http://127.0.0.1:10000/devstoreaccount1",
  );
  assert.is(selectAuth(withUrl("account-key", "http://127.0.0.1:10000/devstoreaccount1"), CLI_LABELS).accountName, "devstoreaccount1");
  assert.is(selectAuth(withUrl("account-key", "https://prod42.blob.core.windows.net"), CLI_LABELS).accountName, "prod42");
  assert.match(failure(withUrl("account-key", "http://10.0.0.7:10000")), /needs the account name/);
  assert.match(failure(withUrl("client-secret", "http://127.0.0.1:10000/devstoreaccount1")), /must be https/);
  assert.match(failure(withUrl("sas-token", `https://a.blob.core.windows.net?sv=1&sig=${SECRET}`)), /must not carry a query/);
  assert.match(failure(withUrl("sas-token", "not a url")), /is not a URL/);
  assert.match(failure({ ...COMPLETE["account-key"], account: "Bad_Name" }), /3-24 lowercase letters and digits/);
});

test("accountNameFromUrl: host style and path style", () => {
  assert.is(accountNameFromUrl("https://abc123.blob.core.windows.net"), "abc123");
  assert.is(accountNameFromUrl("https://abc123.blob.core.chinacloudapi.cn"), "abc123");
  assert.is(accountNameFromUrl("http://blob-store:10000/devstoreaccount1"), "devstoreaccount1");
  assert.is(accountNameFromUrl("http://blob-store:10000/"), undefined);
});

test("errors speak the caller's language: Dagger arguments vs CLI environment variables", () => {
  const input = { accountKey: SECRET, clientSecret: SECRET, account: "acct01" };
  assert.match(failure(input, DAGGER_LABELS), /--account-key.*--client-secret/);
  assert.match(failure(input, CLI_LABELS), /AZURE_STORAGE_KEY.*AZURE_CLIENT_SECRET/);
});

test.run();
