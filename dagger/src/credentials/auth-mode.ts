/**
 * Which way to authenticate to Blob Storage the given options describe. Pure: it looks at which
 * fields are present and at non-secret values only, so no secret can end up in its errors.
 */

export type AuthMode =
  | "connection-string"
  | "sas-token"
  | "account-key"
  | "client-secret"
  | "federated-token"
  | "azure-pipelines"
  | "managed-identity"
  | "entra-token"
  | "azure-cli";

/** The Entra ID modes: they send bearer tokens (a TokenCredential), so only ever over https. */
export const ENTRA_MODES: readonly AuthMode[] = [
  "client-secret",
  "federated-token",
  "azure-pipelines",
  "managed-identity",
  "entra-token",
  "azure-cli",
];

/**
 * Everything a caller may give. `S` is how a secret is carried: a string in the CLI, a Dagger
 * `Secret` in the module; selection only checks that it is there.
 */
export interface AuthInput<S = string> {
  /** Storage account name. */
  account?: string | undefined;
  /** Blob endpoint, e.g. https://acct.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1. */
  accountUrl?: string | undefined;
  tenantId?: string | undefined;
  clientId?: string | undefined;
  serviceConnectionId?: string | undefined;
  /** Azure Pipelines' OIDC endpoint (System.OidcRequestUri); set by the agent, not a secret. */
  oidcRequestUri?: string | undefined;
  managedIdentity?: boolean | undefined;
  connectionString?: S | undefined;
  sasToken?: S | undefined;
  accountKey?: S | undefined;
  clientSecret?: S | undefined;
  federatedToken?: S | undefined;
  /** Path of a file holding the federated token (re-read on every use: such tokens rotate). */
  federatedTokenFile?: string | undefined;
  systemAccessToken?: S | undefined;
  /** A person's own Entra access token for https://storage.azure.com/ (az account get-access-token). */
  entraToken?: S | undefined;
  /** Sign in with the Azure CLI's `az login` session (the plain CLI only: there is no az in a Dagger step). */
  azureCli?: boolean | undefined;
}

export type AuthField = keyof AuthInput;

/** Fields only some interfaces offer; a caller without a label for one never mentions its mode. */
type OptionalField = "azureCli";

/** How the caller spells each field in its own interface (an env var, a flag, a Dagger argument). */
export type FieldLabels = Record<Exclude<AuthField, OptionalField>, string> & Partial<Record<OptionalField, string>>;

export interface AuthPlan {
  mode: AuthMode;
  /** The Blob endpoint to talk to (absent for a connection string, which carries its own). */
  accountUrl?: string;
  /** Account name, where the mode needs one (account key). */
  accountName?: string;
}

export class CredentialError extends Error {
  override name = "CredentialError";
}

/** No sign-in at all: the message lists every way in, one per line. */
export class NoCredentialsError extends CredentialError {
  override name = "NoCredentialsError";
  constructor(readonly ways: readonly string[]) {
    super(`no storage credentials given; give exactly one of:\n${ways.map((w) => `  - ${w}`).join("\n")}`);
  }

  /** The same error naming more ways in that the caller has (another kind of store, a test service). */
  also(more: readonly string[]): NoCredentialsError {
    return new NoCredentialsError([...this.ways, ...more]);
  }
}

/** A requirement: one field, or any one of several. */
type Need = AuthField | readonly AuthField[];

interface ModeRule {
  title: string;
  /** Fields whose presence selects this mode. */
  triggers: readonly AuthField[];
  requires: readonly Need[];
  /** Non-trigger fields the mode uses besides its requirements. */
  optional: readonly AuthField[];
}

const ENDPOINT: Need = ["accountUrl", "account"];

// Listed in this order when no credentials are given: a person's own sign-in first.
const RULES: Record<AuthMode, ModeRule> = {
  "azure-cli": {
    title: "Azure CLI sign-in",
    triggers: ["azureCli"],
    requires: [ENDPOINT],
    // --tenant-id picks the tenant az asks a token from (a guest in several tenants).
    optional: ["account", "accountUrl", "tenantId"],
  },
  "entra-token": { title: "Entra ID access token", triggers: ["entraToken"], requires: [ENDPOINT], optional: ["account", "accountUrl"] },
  "connection-string": { title: "connection string", triggers: ["connectionString"], requires: [], optional: [] },
  "sas-token": { title: "SAS token", triggers: ["sasToken"], requires: [ENDPOINT], optional: ["account", "accountUrl"] },
  "account-key": { title: "account key", triggers: ["accountKey"], requires: [ENDPOINT], optional: ["account", "accountUrl"] },
  "client-secret": {
    title: "Entra ID client secret",
    triggers: ["clientSecret"],
    requires: ["tenantId", "clientId", ENDPOINT],
    optional: ["account", "accountUrl"],
  },
  "federated-token": {
    title: "Entra ID federated token",
    triggers: ["federatedToken", "federatedTokenFile"],
    requires: ["tenantId", "clientId", ENDPOINT],
    optional: ["account", "accountUrl"],
  },
  "azure-pipelines": {
    title: "Azure Pipelines service connection",
    triggers: ["systemAccessToken", "serviceConnectionId"],
    requires: ["systemAccessToken", "serviceConnectionId", "tenantId", "clientId", "oidcRequestUri", ENDPOINT],
    optional: ["account", "accountUrl"],
  },
  "managed-identity": {
    title: "managed identity",
    triggers: ["managedIdentity"],
    requires: [ENDPOINT],
    optional: ["account", "accountUrl", "clientId"],
  },
};

/** Set by the environment rather than chosen (Azure Pipelines exports it to every task): never "unused". */
const AMBIENT: readonly AuthField[] = ["oidcRequestUri"];

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

export function modeTitle(mode: AuthMode): string {
  return RULES[mode].title;
}

/**
 * The one complete mode `input` describes, or a CredentialError naming what is missing,
 * conflicting or unused. `labels` spells the fields the way the caller's user typed them.
 */
export function selectAuth(input: AuthInput<unknown>, labels: FieldLabels): AuthPlan {
  const given = (f: AuthField) => isGiven(input[f]);
  const name = (f: AuthField) => labelOf(labels, f);
  const list = (fs: readonly AuthField[]) => fs.map(name).join(", ");

  const chosen = (Object.keys(RULES) as AuthMode[]).filter((m) => RULES[m].triggers.some(given));
  if (chosen.length === 0) {
    const offered = (Object.keys(RULES) as AuthMode[]).filter((m) => RULES[m].triggers.some((f) => labels[f] !== undefined));
    throw new NoCredentialsError(offered.map((m) => `${RULES[m].title}: ${describeNeeds(m, labels)}`));
  }
  if (chosen.length > 1) {
    const parts = chosen.map((m) => `${RULES[m].title} (${list(RULES[m].triggers.filter(given))})`);
    throw new CredentialError(`conflicting storage credentials: ${parts.join(" and ")}; give exactly one`);
  }
  const mode = chosen[0]!;
  const rule = RULES[mode];
  const problems: string[] = [];
  if (given("federatedToken") && given("federatedTokenFile")) {
    problems.push(`give ${labels.federatedToken} or ${labels.federatedTokenFile}, not both`);
  }
  const missing = rule.requires.filter((n) => !(typeof n === "string" ? given(n) : n.some(given)));
  if (missing.length > 0) {
    problems.push(`missing ${missing.map((n) => needLabel(n, labels)).join(", ")}`);
  }
  const used = new Set<AuthField>([...rule.triggers, ...rule.optional, ...AMBIENT, ...rule.requires.flat()]);
  const unused = (Object.keys(labels) as AuthField[]).filter((f) => given(f) && !used.has(f));
  if (unused.length > 0) problems.push(`not used by ${rule.title} auth, remove: ${list(unused)}`);

  let accountUrl: string | undefined;
  let accountName: string | undefined;
  if (given("account") && !ACCOUNT_NAME.test(input.account!)) {
    problems.push(`${labels.account} must be 3-24 lowercase letters and digits (got ${JSON.stringify(input.account)})`);
  }
  if (given("accountUrl")) {
    const url = checkAccountUrl(input.accountUrl!, mode);
    if (typeof url === "string") accountUrl = url;
    else problems.push(`${labels.accountUrl} ${url.problem}`);
  } else if (given("account") && mode !== "connection-string") {
    accountUrl = `https://${input.account}.blob.core.windows.net`;
  }
  if (mode === "account-key") {
    accountName = given("account") ? input.account : accountUrl ? accountNameFromUrl(accountUrl) : undefined;
    if (accountName === undefined && accountUrl !== undefined) {
      problems.push(`account key auth needs the account name: add ${labels.account}`);
    }
  }
  if (problems.length > 0) {
    throw new CredentialError(`${rule.title} auth (${list(rule.triggers.filter(given))}): ${problems.join("; ")}`);
  }
  return { mode, ...(accountUrl ? { accountUrl } : {}), ...(accountName ? { accountName } : {}) };
}

/** How `labels` spells `f`; the field's own name when the caller does not offer it (never shown in practice). */
export function labelOf(labels: FieldLabels, f: AuthField): string {
  return labels[f] ?? f;
}

/** An argument counts as given unless it is absent, empty or false. */
export function isGiven(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  return typeof v !== "string" || v.trim() !== "";
}

/** "needs A and B or C" for the no-credentials message. */
function describeNeeds(mode: AuthMode, labels: FieldLabels): string {
  const rule = RULES[mode];
  // Two fields can share one label (the module takes a federated token one way only): name it once.
  const name = (f: AuthField) => labelOf(labels, f);
  const trigger = [...new Set(rule.triggers.map(name))].join(" or ");
  const rest = rule.requires.filter((n) => typeof n !== "string" || !rule.triggers.includes(n)).map((n) => needLabel(n, labels));
  return rest.length ? `${trigger} with ${rest.join(", ")}` : trigger;
}

/** A requirement as the caller spells it: "--account-url or --account" for any one of several. */
function needLabel(n: Need, labels: FieldLabels): string {
  return typeof n === "string" ? labelOf(labels, n) : n.map((f) => labelOf(labels, f)).join(" or ");
}

/** The normalised URL, or what is wrong with it. Bearer tokens are only ever sent over https. */
function checkAccountUrl(raw: string, mode: AuthMode): string | { problem: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: "is not a URL (expected e.g. https://myaccount.blob.core.windows.net)" };
  }
  if (url.search || url.hash || url.username || url.password) {
    return { problem: "must not carry a query, fragment or credentials (give the SAS token as a secret instead)" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return { problem: "must be an http(s) URL" };
  if (url.protocol === "http:" && ENTRA_MODES.includes(mode)) {
    return { problem: "must be https: Entra ID tokens are never sent over plain http" };
  }
  return url.toString().replace(/\/+$/, "");
}

/** `acct` from https://acct.blob.core.windows.net, or from a path-style URL (Azurite, IP endpoints). */
export function accountNameFromUrl(accountUrl: string): string | undefined {
  const url = new URL(accountUrl);
  const host = /^([a-z0-9]{3,24})\.blob\./.exec(url.hostname)?.[1];
  if (host) return host;
  const first = url.pathname.split("/").find((s) => s !== "");
  return first && ACCOUNT_NAME.test(first) ? first : undefined;
}
