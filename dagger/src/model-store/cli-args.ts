/**
 * The model-store command line, parsed without side effects: options from argv, secrets
 * from the environment only (a secret in argv ends up in shell history and process lists).
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { AuthInput, FieldLabels } from "../credentials/auth-mode.js";
import { FEDERATED_TOKEN_FILE_ENV, OIDC_REQUEST_URI_ENV, SECRET_ENV, SecretField } from "../credentials/env.js";
import { DEFAULT_CONTAINER, DEFAULT_MODEL_NAME } from "./layout.js";
import { DEFAULT_MAX_FILE_BYTES } from "./fetch.js";
import { parseSize } from "./sizes.js";

export const MAX_FILE_SIZE_ENV = "MODEL_STORE_MAX_FILE_SIZE";

export const COMMANDS = ["publish", "list", "resolve", "fetch"] as const;
export type Command = (typeof COMMANDS)[number];

export interface CliOptions {
  command: Command;
  name: string;
  /** Undefined for publish means "the manifest's version". */
  version?: string;
  prerelease: boolean;
  dir?: string;
  /** publish: create the container when missing (a fresh Azurite, a new store). */
  createContainer: boolean;
  out?: string;
  cacheDir?: string;
  /** fetch: refuse files larger than this (undefined: DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  json: boolean;
  expectManifestSha256?: string;
  container: string;
  authorityHost?: string;
  auth: AuthInput<string>;
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** How the CLI's users spell each auth field, for error messages. */
export const CLI_LABELS: FieldLabels = {
  account: "--account",
  accountUrl: "--account-url",
  tenantId: "--tenant-id",
  clientId: "--client-id",
  serviceConnectionId: "--service-connection-id",
  oidcRequestUri: OIDC_REQUEST_URI_ENV,
  managedIdentity: "--managed-identity",
  federatedTokenFile: FEDERATED_TOKEN_FILE_ENV,
  ...(Object.fromEntries(Object.entries(SECRET_ENV)) as Record<SecretField, string>),
};

/** Flags someone might try for a secret, and the variable to use instead. */
const SECRET_FLAGS: Record<string, string> = {
  "--connection-string": SECRET_ENV.connectionString,
  "--sas-token": SECRET_ENV.sasToken,
  "--sas": SECRET_ENV.sasToken,
  "--account-key": SECRET_ENV.accountKey,
  "--key": SECRET_ENV.accountKey,
  "--client-secret": SECRET_ENV.clientSecret,
  "--federated-token": SECRET_ENV.federatedToken,
  "--system-access-token": SECRET_ENV.systemAccessToken,
};

export const USAGE = `Usage: npm run model -- <command> [options]

Commands:
  publish --dir DIR [--version X.Y.Z] [--create-container]
                                                upload a model directory (model.json + files) as a new version
  list    [--name NAME] [--json]                list versions: complete, incomplete (no model.json yet) or invalid
  resolve [--name NAME] [--version V] [--prerelease] [--json]
                                                show which version a fetch would take
  fetch   --out DIR [--name NAME] [--version V] [--prerelease] [--cache-dir DIR | --no-cache]
          [--max-file-size SIZE] [--expect-manifest-sha256 HEX] [--json]
                                                download, verify every sha256, then move into DIR

  --name defaults to ${DEFAULT_MODEL_NAME}; --version defaults to "latest" (highest complete release).
  --max-file-size refuses, before downloading, any model file larger than SIZE (e.g. 8GiB, 500MB);
  default $${MAX_FILE_SIZE_ENV}, else ${DEFAULT_MAX_FILE_BYTES / 1024 ** 3}GiB. fetch only replaces a directory it wrote itself.

Store options:
  --container NAME            blob container (default ${DEFAULT_CONTAINER})
  --account NAME              storage account (endpoint https://NAME.blob.core.windows.net)
  --account-url URL           blob endpoint instead, e.g. http://127.0.0.1:10000/devstoreaccount1
  --tenant-id ID --client-id ID           Entra ID application (client secret, federated token, pipelines)
  --service-connection-id ID              Azure Pipelines service connection (with SYSTEM_ACCESSTOKEN)
  --managed-identity          use the machine's managed identity (--client-id for a user-assigned one)
  --authority-host URL        Entra sign-in host for sovereign clouds

Secrets, from the environment only (exactly one mode):
  ${SECRET_ENV.connectionString}
  ${SECRET_ENV.sasToken}            with --account or --account-url
  ${SECRET_ENV.accountKey}                  with --account (or a path-style --account-url)
  ${SECRET_ENV.clientSecret}                with --tenant-id --client-id
  ${SECRET_ENV.federatedToken} or ${FEDERATED_TOKEN_FILE_ENV}   with --tenant-id --client-id
  ${SECRET_ENV.systemAccessToken}                 with --service-connection-id --tenant-id --client-id (and ${OIDC_REQUEST_URI_ENV})
`;

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.MODEL_STORE_CACHE_DIR) return env.MODEL_STORE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "ai-app-pipeline", "models");
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions {
  for (const arg of argv) {
    const flag = arg.split("=")[0]!;
    const envName = SECRET_FLAGS[flag];
    if (envName) throw new UsageError(`${flag} is not accepted: secrets are read from the environment only; set ${envName} instead`);
  }
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") throw new UsageError(USAGE);
  if (!(COMMANDS as readonly string[]).includes(command))
    throw new UsageError(`unknown command ${JSON.stringify(command)}; expected one of ${COMMANDS.join(", ")}\n\n${USAGE}`);
  let values: ReturnType<typeof parseFlags>["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(rest));
  } catch (e) {
    throw new UsageError(`${(e as Error).message.replace(/\. To specify .*$/s, "")}\n\n${USAGE}`);
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}\n\n${USAGE}`);
  const cmd = command as Command;
  if (cmd === "publish" && !values.dir) throw new UsageError("publish needs --dir DIR (the model directory holding model.json)");
  if (cmd === "fetch" && !values.out) throw new UsageError("fetch needs --out DIR (where the verified model goes)");
  if (cmd !== "publish" && values["create-container"]) throw new UsageError("--create-container only applies to publish");
  if (values["no-cache"] && values["cache-dir"]) throw new UsageError("give --cache-dir or --no-cache, not both");
  if (cmd !== "fetch" && values["max-file-size"] !== undefined) throw new UsageError("--max-file-size only applies to fetch");
  const maxFileBytes =
    cmd === "fetch"
      ? (sizeSetting(values["max-file-size"], "--max-file-size") ?? sizeSetting(nonEmpty(env[MAX_FILE_SIZE_ENV]), MAX_FILE_SIZE_ENV))
      : undefined;
  const sha = values["expect-manifest-sha256"];
  if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha))
    throw new UsageError("--expect-manifest-sha256 must be 64 lowercase hex characters");

  const secret = (field: SecretField) => nonEmpty(env[SECRET_ENV[field]]);
  const auth: AuthInput<string> = {
    ...opt("account", values.account),
    ...opt("accountUrl", values["account-url"]),
    ...opt("tenantId", values["tenant-id"]),
    ...opt("clientId", values["client-id"]),
    ...opt("serviceConnectionId", values["service-connection-id"]),
    ...opt("oidcRequestUri", nonEmpty(env[OIDC_REQUEST_URI_ENV])),
    ...(values["managed-identity"] ? { managedIdentity: true } : {}),
    ...opt("federatedTokenFile", nonEmpty(env[FEDERATED_TOKEN_FILE_ENV])),
    ...opt("connectionString", secret("connectionString")),
    ...opt("sasToken", secret("sasToken")),
    ...opt("accountKey", secret("accountKey")),
    ...opt("clientSecret", secret("clientSecret")),
    ...opt("federatedToken", secret("federatedToken")),
    ...opt("systemAccessToken", secret("systemAccessToken")),
  };
  const version = values.version ?? (cmd === "publish" ? undefined : "latest");
  const cacheDir = cmd === "fetch" && !values["no-cache"] ? (values["cache-dir"] ?? defaultCacheDir(env)) : undefined;
  return {
    command: cmd,
    name: values.name ?? DEFAULT_MODEL_NAME,
    ...(version !== undefined ? { version } : {}),
    prerelease: values.prerelease ?? false,
    ...opt("dir", values.dir),
    createContainer: values["create-container"] ?? false,
    ...opt("out", values.out),
    ...opt("cacheDir", cacheDir),
    ...opt("maxFileBytes", maxFileBytes),
    json: values.json ?? false,
    ...opt("expectManifestSha256", sha),
    container: values.container ?? DEFAULT_CONTAINER,
    ...opt("authorityHost", values["authority-host"]),
    auth,
  };
}

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      version: { type: "string" },
      prerelease: { type: "boolean" },
      dir: { type: "string" },
      "create-container": { type: "boolean" },
      out: { type: "string" },
      "cache-dir": { type: "string" },
      "no-cache": { type: "boolean" },
      "max-file-size": { type: "string" },
      json: { type: "boolean" },
      "expect-manifest-sha256": { type: "string" },
      container: { type: "string" },
      account: { type: "string" },
      "account-url": { type: "string" },
      "tenant-id": { type: "string" },
      "client-id": { type: "string" },
      "service-connection-id": { type: "string" },
      "managed-identity": { type: "boolean" },
      "authority-host": { type: "string" },
    },
  });
}

function sizeSetting(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) throw new UsageError(`${name} must be a size such as 4GiB, 500MB or 1073741824 (got ${JSON.stringify(text)})`);
  return bytes;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== "" ? v : undefined;
}

/** `{ [key]: value }` when value is defined, `{}` otherwise (exactOptional-friendly spreading). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
