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
import { parseSelector } from "./versions.js";
import { S3_SECRET_ENV, S3_TOKEN_FILE_ENV, S3AuthInput, S3Labels } from "./s3-settings.js";

export const MAX_FILE_SIZE_ENV = "MODEL_STORE_MAX_FILE_SIZE";

export const COMMANDS = ["publish", "list", "resolve", "fetch", "alias", "yank", "unyank"] as const;
export type Command = (typeof COMMANDS)[number];

/** The command's name: the package's bin (package.json "bin", scripts/ai-app-models.mjs). */
export const PROGRAM = "ai-app-models";

export interface CliOptions {
  command: Command;
  name: string;
  /** Undefined for publish means "the manifest's version". */
  version?: string;
  /** publish --model-name: must equal the manifest's name. */
  expectName?: string;
  prerelease: boolean;
  dir?: string;
  /** publish: create the container when missing (a fresh Azurite, a new store). */
  createContainer: boolean;
  out?: string;
  cacheDir?: string;
  /** fetch: refuse files larger than this (undefined: DEFAULT_MAX_FILE_BYTES). */
  maxFileBytes?: number;
  json: boolean;
  /** Report upload/download progress on stderr even when stderr is not a terminal. */
  progress: boolean;
  expectManifestSha256?: string;
  /** alias: what to do with which alias. */
  aliasAction?: "set" | "rm" | "history";
  /** list: a column per metric model.json records. */
  metrics: boolean;
  alias?: string;
  /** publish: sign the directory with this private key (PEM file) first. */
  signingKey?: string;
  /** fetch: verify the signature with this public key (PEM file); mandatory once given. */
  publicKey?: string;
  /** yank: why. */
  reason?: string;
  /** alias, yank, unyank: who made the change (recorded in its history). */
  by?: string;
  /** The Blob container (also the name the S3 bucket goes by in --json output). */
  container: string;
  authorityHost?: string;
  auth: AuthInput<string>;
  /** Set when the store is an S3 bucket (--s3-bucket): then the Azure fields are unused. */
  s3?: S3CliSettings;
}

/** The store as an S3 bucket, from --s3-* flags and the AWS_* secrets. */
export interface S3CliSettings {
  bucket: string;
  region: string;
  endpoint?: string;
  pathStyle: boolean;
  auth: S3AuthInput;
}

export class UsageError extends Error {
  override name = "UsageError";
}

/** `--help`: the text goes to stdout and the exit code is 0. */
export class HelpRequest extends UsageError {
  override name = "HelpRequest";
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
  azureCli: "--az-login",
  federatedTokenFile: FEDERATED_TOKEN_FILE_ENV,
  ...(Object.fromEntries(Object.entries(SECRET_ENV)) as Record<SecretField, string>),
};

/** How the CLI's users spell each S3 field, for error messages. */
export const S3_CLI_LABELS: S3Labels & { bucket: string; region: string; endpoint: string } = {
  bucket: "--s3-bucket",
  region: "--s3-region",
  endpoint: "--s3-endpoint",
  ...S3_SECRET_ENV,
  webIdentityTokenFile: S3_TOKEN_FILE_ENV,
  profile: "--s3-profile",
  roleArn: "--s3-role-arn",
  roleSessionName: "--s3-role-session-name",
  defaultChain: "--s3-default-chain",
};

/** Flags someone might try for a secret, and the variable to use instead. */
const SECRET_FLAGS: Record<string, string> = {
  "--access-key-id": S3_SECRET_ENV.accessKeyId,
  "--s3-access-key-id": S3_SECRET_ENV.accessKeyId,
  "--secret-access-key": S3_SECRET_ENV.secretAccessKey,
  "--s3-secret-access-key": S3_SECRET_ENV.secretAccessKey,
  "--session-token": S3_SECRET_ENV.sessionToken,
  "--s3-session-token": S3_SECRET_ENV.sessionToken,
  "--web-identity-token": S3_SECRET_ENV.webIdentityToken,
  "--s3-web-identity-token": S3_SECRET_ENV.webIdentityToken,
  "--connection-string": SECRET_ENV.connectionString,
  "--sas-token": SECRET_ENV.sasToken,
  "--sas": SECRET_ENV.sasToken,
  "--account-key": SECRET_ENV.accountKey,
  "--key": SECRET_ENV.accountKey,
  "--client-secret": SECRET_ENV.clientSecret,
  "--federated-token": SECRET_ENV.federatedToken,
  "--system-access-token": SECRET_ENV.systemAccessToken,
  "--entra-token": SECRET_ENV.entraToken,
  "--access-token": SECRET_ENV.entraToken,
};

/** az storage's spellings (and the Dagger module's) that mean one of ours. */
const FLAG_HINTS: Record<string, string> = {
  "--account-name": "use --account NAME",
  "--container-name": "use --container NAME",
  "--blob-endpoint": "use --account-url URL",
  "--auth-mode": "use --az-login to sign in with your az login session (az's --auth-mode login), or a secret from the environment",
  "--tenant": "use --tenant-id ID",
  "--login": "use --az-login",
  "--model-dir": "use --dir DIR",
  "--model": "use --dir DIR (publish) or --model-name NAME",
  "--bucket": "use --s3-bucket NAME (with --s3-region)",
  "--region": "use --s3-region REGION",
  "--endpoint-url": "use --s3-endpoint URL",
  "--profile": "use --s3-profile NAME",
};

/** One flag of one command as its --help shows it; `value` names what follows the flag. */
interface FlagDoc {
  flag: string;
  value?: string;
  text: string;
}

const MODEL_NAME: FlagDoc = {
  flag: "--model-name",
  value: "NAME",
  text: `the model, the folder under the container (default ${DEFAULT_MODEL_NAME})`,
};
const SELECTOR: FlagDoc = {
  flag: "--model-version",
  value: "V",
  text: "which version (default latest: the highest complete, not-yanked release); also an exact X.Y.Z, or @ALIAS (e.g. @champion: the version that alias points at)",
};
const PRERELEASE: FlagDoc = { flag: "--prerelease", text: "let latest pick prereleases (e.g. 1.4.0-rc.1) too" };
const EXPECT: FlagDoc = {
  flag: "--expect-manifest-sha256",
  value: "HEX",
  text: "refuse, before anything is written, a version whose model.json has another sha256 (it changed since it was resolved)",
};
const PROGRESS: FlagDoc = { flag: "--progress", text: "report file, bytes and rate on stderr (default: only when stderr is a terminal)" };
const JSON_OUT: FlagDoc = { flag: "--json", text: "print one JSON document on stdout instead of text" };
const BY: FlagDoc = { flag: "--by", value: "WHO", text: "who makes the change, kept in its history (default $USER)" };
const EXACT = (what: string): FlagDoc => ({ flag: "--model-version", value: "X.Y.Z", text: `the exact version ${what} (required)` });

const COMMAND_HELP: Record<Command, { synopsis: string; summary: string; flags: FlagDoc[]; notes?: string }> = {
  publish: {
    synopsis:
      "publish --dir DIR [--model-name NAME] [--model-version X.Y.Z] [--signing-key KEY.pem] [--create-container] [--progress] [--json]",
    summary: "upload a model directory (model.json + files) as a new version",
    flags: [
      { flag: "--dir", value: "DIR", text: "the model directory: model.json and every file it lists (required)" },
      {
        flag: "--model-name",
        value: "NAME",
        text: "must equal the name in model.json, a guard against the wrong directory (default: model.json's)",
      },
      {
        flag: "--model-version",
        value: "X.Y.Z",
        text: "must equal the version in model.json, a guard against the wrong build (default: model.json's)",
      },
      {
        flag: "--signing-key",
        value: "KEY.pem",
        text: "sign the directory first (model/sign_model.py: OpenSSF model-signing, an EC private key in PEM)",
      },
      { flag: "--create-container", text: "create the container when it is missing (a fresh Azurite, a new store)" },
      PROGRESS,
      JSON_OUT,
    ],
    notes:
      "The files go first and model.json last, so a half-uploaded version is never complete; an existing version is never overwritten.\n" +
      "With --signing-key the signature (model.sig) is uploaded before model.json. A model.sig already in DIR is uploaded as it is.",
  },
  list: {
    synopsis: "list [--model-name NAME] [--metrics] [--json]",
    summary: "list versions: complete, incomplete (no model.json yet) or invalid, with aliases, yanks and which one is latest",
    flags: [
      MODEL_NAME,
      {
        flag: "--metrics",
        text: "add a column per metric the versions' model.json record (e.g. heldout_accuracy); --json always has them",
      },
      JSON_OUT,
    ],
  },
  resolve: {
    synopsis: "resolve [--model-name NAME] [--model-version V] [--prerelease] [--expect-manifest-sha256 HEX] [--json]",
    summary: "show which version a fetch would take",
    flags: [MODEL_NAME, SELECTOR, PRERELEASE, EXPECT, JSON_OUT],
  },
  alias: {
    synopsis: "alias set ALIAS --model-version X.Y.Z | alias rm ALIAS | alias history ALIAS [--model-name NAME] [--by WHO] [--json]",
    summary: "point an alias (champion, production) at a complete version, remove it, or show who moved it when",
    flags: [EXACT("the alias points at from now on (alias set only)"), MODEL_NAME, { ...BY, text: `${BY.text} (set and rm)` }, JSON_OUT],
    notes:
      "An alias points only at a complete, not-yanked version; select it with --model-version @ALIAS. Every move is a\n" +
      "conditional write kept in the alias's history; a concurrent move makes this one fail, changing nothing.",
  },
  yank: {
    synopsis: "yank --model-version X.Y.Z --reason TEXT [--model-name NAME] [--by WHO] [--json]",
    summary: "withdraw a version: latest skips it, a pin still fetches it with a warning",
    flags: [
      EXACT("to withdraw"),
      { flag: "--reason", value: "TEXT", text: "why, shown to everyone who still fetches it (required)" },
      MODEL_NAME,
      BY,
      JSON_OUT,
    ],
    notes: "Nothing is deleted; unyank puts it back. An alias pointing at it refuses to resolve until it is moved or the version unyanked.",
  },
  unyank: {
    synopsis: "unyank --model-version X.Y.Z [--model-name NAME] [--by WHO] [--json]",
    summary: "put a yanked version back in use",
    flags: [EXACT("to put back"), MODEL_NAME, BY, JSON_OUT],
  },
  fetch: {
    synopsis:
      "fetch --out DIR [--model-name NAME] [--model-version V] [--prerelease] [--cache-dir DIR | --no-cache]\n" +
      "        [--max-file-size SIZE] [--expect-manifest-sha256 HEX] [--public-key KEY.pub] [--progress] [--json]",
    summary: "download, verify every sha256, then move into DIR",
    flags: [
      { flag: "--out", value: "DIR", text: "where the verified model goes (required); fetch only replaces a directory it wrote itself" },
      MODEL_NAME,
      SELECTOR,
      PRERELEASE,
      {
        flag: "--cache-dir",
        value: "DIR",
        text: "content cache, so an unchanged file is not downloaded again (default $MODEL_STORE_CACHE_DIR, else ~/.cache/ai-app-pipeline/models)",
      },
      { flag: "--no-cache", text: "use no content cache" },
      {
        flag: "--max-file-size",
        value: "SIZE",
        text: `refuse, before downloading, any model file larger than SIZE, e.g. 8GiB, 500MB (default $${MAX_FILE_SIZE_ENV}, else ${DEFAULT_MAX_FILE_BYTES / 1024 ** 3}GiB)`,
      },
      EXPECT,
      {
        flag: "--public-key",
        value: "KEY.pub",
        text: "make the signature mandatory: an unsigned version, another signer or a changed file is refused, nothing kept",
      },
      PROGRESS,
      JSON_OUT,
    ],
  },
};

/** The flags `cmd` takes besides the store options, with their old spellings (still taken, not shown). */
function commandFlags(cmd: Command): Set<string> {
  const flags = new Set(COMMAND_HELP[cmd].flags.map((f) => f.flag.slice(2)));
  if (flags.has("model-name")) flags.add("name");
  if (flags.has("model-version")) flags.add("version");
  return flags;
}

/** The commands that take `flag` (without its dashes), for "only applies to" messages. */
function commandsTaking(flag: string): string {
  const names = COMMANDS.filter((c) => commandFlags(c).has(flag));
  return names.length > 1 ? `${names.slice(0, -1).join(", ")} and ${names.at(-1)}` : (names[0] ?? "no command");
}

function flagLines(flags: FlagDoc[]): string {
  return flags
    .map((f) => {
      const left = `  ${f.flag}${f.value ? ` ${f.value}` : ""}`;
      return left.length < 30 ? `${left.padEnd(30)}${f.text}` : `${left}\n${" ".repeat(30)}${f.text}`;
    })
    .join("\n");
}

const STORE_OPTIONS = `Store options:
  --container NAME            blob container (default ${DEFAULT_CONTAINER})
  --account NAME              storage account (endpoint https://NAME.blob.core.windows.net)
  --account-url URL           blob endpoint instead, e.g. http://127.0.0.1:10000/devstoreaccount1
  --az-login                  sign in as yourself with your az login session (--tenant-id ID to pick a tenant)
  --tenant-id ID --client-id ID           Entra ID application (client secret, federated token, pipelines)
  --service-connection-id ID              Azure Pipelines service connection (with SYSTEM_ACCESSTOKEN)
  --managed-identity          use the machine's managed identity, on Azure only (--client-id for a user-assigned one)
  --authority-host URL        Entra sign-in host for sovereign clouds

Or an S3 bucket (Amazon S3 or an S3-compatible store) instead of a Blob container:
  --s3-bucket NAME --s3-region REGION     the bucket and its region (required)
  --s3-endpoint URL           an S3-compatible store's endpoint (path-style addressing); AWS's own when absent
  --s3-path-style             path-style addressing with AWS's endpoint too
  --s3-profile NAME           a profile of ~/.aws/config (keys, SSO after aws sso login, or a role)
  --s3-role-arn ARN           assume this role with a web identity (OIDC) token: ${S3_TOKEN_FILE_ENV} or ${S3_SECRET_ENV.webIdentityToken}
  --s3-role-session-name NAME the assumed role's session name (default ai-app-pipeline-model-store)
  --s3-default-chain          whatever the AWS SDK's default chain finds (environment, profile, IRSA, instance role)
  ${S3_SECRET_ENV.accessKeyId} and ${S3_SECRET_ENV.secretAccessKey} (${S3_SECRET_ENV.sessionToken} for temporary keys): static keys,
                              read only when none of the three flags above is given

Secrets, from the environment only (exactly one mode):
  ${SECRET_ENV.entraToken}          your own Entra access token (az account get-access-token --resource https://storage.azure.com/)
  ${SECRET_ENV.connectionString}
  ${SECRET_ENV.sasToken}            with --account or --account-url
  ${SECRET_ENV.accountKey}                  with --account (or a path-style --account-url)
  ${SECRET_ENV.clientSecret}                with --tenant-id --client-id
  ${SECRET_ENV.federatedToken} or ${FEDERATED_TOKEN_FILE_ENV}   with --tenant-id --client-id
  ${SECRET_ENV.systemAccessToken}                 with --service-connection-id --tenant-id --client-id (and ${OIDC_REQUEST_URI_ENV})
`;

const column = (synopsis: string, summary: string) => {
  const lines = synopsis.split("\n");
  const last = lines.pop()!;
  return [...lines, last.length < 46 ? `${last.padEnd(46)}${summary}` : `${last}\n${" ".repeat(48)}${summary}`].join("\n  ");
};

export const USAGE = `Usage: ${PROGRAM} <command> [options]
In this repository: ./scripts/${PROGRAM}.mjs <command> or npm run -s model -- <command> (-s keeps npm's banner off stdout)

Commands:
${COMMANDS.map((c) => `  ${column(COMMAND_HELP[c].synopsis, COMMAND_HELP[c].summary)}`).join("\n")}

Run ${PROGRAM} <command> --help for one command's options and their defaults.

${STORE_OPTIONS}`;

/** One command's usage: its own options with their defaults, then the store options. What `fetch --help` prints. */
export function commandUsage(cmd: Command): string {
  const h = COMMAND_HELP[cmd];
  const summary = `${h.summary[0]!.toUpperCase()}${h.summary.slice(1)}.`;
  return `Usage: ${PROGRAM} ${h.synopsis}\n\n${summary}\n${h.notes ? `${h.notes}\n` : ""}\nOptions:\n${flagLines(h.flags)}\n\n${STORE_OPTIONS}`;
}

/** A usage error: the one relevant line, then where to find the rest. */
function usage(message: string, cmd?: Command): UsageError {
  return new UsageError(`${message}\nrun \`${PROGRAM} ${cmd ? `${cmd} ` : ""}--help\` for usage`);
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.MODEL_STORE_CACHE_DIR) return env.MODEL_STORE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), ".cache"), "ai-app-pipeline", "models");
}

/** The --s3-* flags and AWS_* secrets as S3 settings; undefined without --s3-bucket. */
function s3Settings(values: ReturnType<typeof parseFlags>["values"], env: NodeJS.ProcessEnv, cmd: Command): S3CliSettings | undefined {
  const bucket = values["s3-bucket"];
  if (bucket === undefined) {
    const stray = S3_SETTING_FLAGS.find((f) => values[f] !== undefined);
    if (stray) throw usage(`--${stray} needs --s3-bucket NAME (the store is a Blob container otherwise)`, cmd);
    return undefined;
  }
  const azure = AZURE_STORE_FLAGS.find((f) => values[f] !== undefined);
  if (azure) throw usage(`--${azure} is for a Blob container; with --s3-bucket the store is an S3 bucket: give one or the other`, cmd);
  if (!values["s3-region"]) {
    throw usage(
      "--s3-bucket needs --s3-region REGION, the bucket's region (e.g. eu-west-1; aws s3api get-bucket-location --bucket NAME)",
      cmd,
    );
  }
  // Static keys in the environment are the default way in: an explicit sign-in flag is not overridden by them.
  const explicit = values["s3-profile"] !== undefined || values["s3-role-arn"] !== undefined || values["s3-default-chain"] === true;
  const fromEnv = (name: string) => nonEmpty(env[name]);
  const roleArn = values["s3-role-arn"];
  const auth: S3AuthInput = {
    ...(explicit
      ? {}
      : {
          ...opt("accessKeyId", fromEnv(S3_SECRET_ENV.accessKeyId)),
          ...opt("secretAccessKey", fromEnv(S3_SECRET_ENV.secretAccessKey)),
          ...opt("sessionToken", fromEnv(S3_SECRET_ENV.sessionToken)),
        }),
    ...opt("profile", values["s3-profile"]),
    ...opt("roleArn", roleArn),
    ...(roleArn !== undefined
      ? {
          ...opt("webIdentityToken", fromEnv(S3_SECRET_ENV.webIdentityToken)),
          ...opt("webIdentityTokenFile", fromEnv(S3_TOKEN_FILE_ENV)),
        }
      : {}),
    ...opt("roleSessionName", values["s3-role-session-name"]),
    ...(values["s3-default-chain"] ? { defaultChain: true } : {}),
  };
  return {
    bucket,
    region: values["s3-region"],
    ...opt("endpoint", values["s3-endpoint"]),
    pathStyle: values["s3-path-style"] ?? false,
    auth,
  };
}

export function parseCli(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions {
  for (const arg of argv) {
    const flag = arg.split("=")[0]!;
    const envName = SECRET_FLAGS[flag];
    if (envName) throw new UsageError(`${flag} is not accepted: secrets are read from the environment only; set ${envName} instead`);
  }
  const [command, ...rest] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") throw new HelpRequest(USAGE);
  if (!(COMMANDS as readonly string[]).includes(command)) {
    throw usage(`unknown command ${JSON.stringify(command)}; expected one of ${COMMANDS.join(", ")}`);
  }
  const cmd = command as Command;
  if (rest.includes("--help") || rest.includes("-h")) throw new HelpRequest(commandUsage(cmd));
  let values: ReturnType<typeof parseFlags>["values"];
  let positionals: string[];
  try {
    ({ values, positionals } = parseFlags(rest));
  } catch (e) {
    const unknown = /^Unknown option '([^']+)'/.exec((e as Error).message)?.[1];
    const hint = unknown ? FLAG_HINTS[unknown] : undefined;
    throw usage(hint ? `${unknown}: ${hint}` : (e as Error).message.replace(/\. To specify .*$/s, ""), cmd);
  }
  const own = commandFlags(cmd);
  for (const key of Object.keys(values)) {
    if (!own.has(key) && !STORE_FLAGS.has(key)) throw usage(`--${key} only applies to ${commandsTaking(key)} (not ${cmd})`, cmd);
  }
  const [action, alias, ...extra] = cmd === "alias" ? positionals : [];
  if (cmd === "alias") {
    if (action !== "set" && action !== "rm" && action !== "history")
      throw usage("alias needs set, rm or history: alias set ALIAS --model-version X.Y.Z, alias rm ALIAS, alias history ALIAS", cmd);
    if (!alias) throw usage(`alias ${action} needs the alias name, e.g. alias ${action} champion`, cmd);
    if (extra.length > 0) throw usage(`unexpected argument ${JSON.stringify(extra[0])}`, cmd);
  } else if (positionals.length > 0) throw usage(`unexpected argument ${JSON.stringify(positionals[0])}`, cmd);
  if (cmd === "publish" && !values.dir) throw usage("publish needs --dir DIR (the model directory holding model.json)", cmd);
  if (cmd === "fetch" && !values.out) throw usage("fetch needs --out DIR (where the verified model goes)", cmd);
  if (values["no-cache"] && values["cache-dir"]) throw usage("give --cache-dir or --no-cache, not both", cmd);
  const maxFileBytes =
    cmd === "fetch"
      ? (sizeSetting(values["max-file-size"], "--max-file-size") ?? sizeSetting(nonEmpty(env[MAX_FILE_SIZE_ENV]), MAX_FILE_SIZE_ENV))
      : undefined;
  const sha = values["expect-manifest-sha256"];
  if (sha !== undefined && !/^[0-9a-f]{64}$/.test(sha)) throw usage("--expect-manifest-sha256 must be 64 lowercase hex characters", cmd);
  const name = aliased(values["model-name"], values.name, "--model-name", "--name", cmd);
  const givenVersion = aliased(values["model-version"], values.version, "--model-version", "--version", cmd);
  if (action === "history") {
    if (givenVersion !== undefined) throw usage("alias history takes no --model-version: it shows every version the alias pointed at", cmd);
    if (values.by !== undefined) throw usage("alias history takes no --by: it changes nothing", cmd);
  }
  const changes = (cmd === "alias" && action !== "history") || cmd === "yank" || cmd === "unyank";
  if (changes && action === "rm" && givenVersion !== undefined) throw usage("alias rm takes no --model-version", cmd);
  if (changes && action !== "rm" && (givenVersion === undefined || !isExact(givenVersion))) {
    throw usage(`${cmd}${action ? ` ${action}` : ""} needs --model-version X.Y.Z, an exact version (not latest or an alias)`, cmd);
  }
  if (cmd === "yank" && !values.reason?.trim())
    throw usage('yank needs --reason TEXT (why it is withdrawn, e.g. --reason "accuracy regression")', cmd);
  const by = changes ? (values.by ?? nonEmpty(env.USER) ?? nonEmpty(env.LOGNAME)) : undefined;
  if (changes && !by) throw usage("say who makes this change: --by NAME (recorded in its history; $USER is used when set)", cmd);

  const secret = (field: SecretField) => nonEmpty(env[SECRET_ENV[field]]);
  const auth: AuthInput<string> = {
    ...opt("account", values.account),
    ...opt("accountUrl", values["account-url"]),
    ...opt("tenantId", values["tenant-id"]),
    ...opt("clientId", values["client-id"]),
    ...opt("serviceConnectionId", values["service-connection-id"]),
    ...opt("oidcRequestUri", nonEmpty(env[OIDC_REQUEST_URI_ENV])),
    ...(values["managed-identity"] ? { managedIdentity: true } : {}),
    ...(values["az-login"] ? { azureCli: true } : {}),
    ...opt("federatedTokenFile", nonEmpty(env[FEDERATED_TOKEN_FILE_ENV])),
    ...opt("connectionString", secret("connectionString")),
    ...opt("sasToken", secret("sasToken")),
    ...opt("accountKey", secret("accountKey")),
    ...opt("clientSecret", secret("clientSecret")),
    ...opt("federatedToken", secret("federatedToken")),
    ...opt("systemAccessToken", secret("systemAccessToken")),
    ...opt("entraToken", secret("entraToken")),
  };
  const s3 = s3Settings(values, env, cmd);
  const version = givenVersion ?? (cmd === "publish" ? undefined : "latest");
  const cacheDir = cmd === "fetch" && !values["no-cache"] ? (values["cache-dir"] ?? defaultCacheDir(env)) : undefined;
  return {
    command: cmd,
    name: name ?? DEFAULT_MODEL_NAME,
    ...(version !== undefined ? { version } : {}),
    ...(cmd === "publish" ? opt("expectName", name) : {}),
    prerelease: values.prerelease ?? false,
    ...opt("dir", values.dir),
    createContainer: values["create-container"] ?? false,
    ...opt("out", values.out),
    ...opt("cacheDir", cacheDir),
    ...opt("maxFileBytes", maxFileBytes),
    json: values.json ?? false,
    progress: values.progress ?? false,
    ...opt("expectManifestSha256", sha),
    ...(cmd === "alias" ? { aliasAction: action as "set" | "rm" | "history", alias: alias! } : {}),
    metrics: values.metrics ?? false,
    ...opt("reason", values.reason),
    ...opt("signingKey", values["signing-key"]),
    ...opt("publicKey", values["public-key"]),
    ...opt("by", by),
    container: s3?.bucket ?? values.container ?? DEFAULT_CONTAINER,
    ...opt("authorityHost", values["authority-host"]),
    auth,
    ...(s3 ? { s3 } : {}),
  };
}

/** The value of a flag that also has an old spelling (kept working, no longer documented). */
function aliased(value: string | undefined, old: string | undefined, flag: string, oldFlag: string, cmd: Command): string | undefined {
  if (value !== undefined && old !== undefined) throw usage(`${flag} given twice (${oldFlag} is its old spelling)`, cmd);
  return value ?? old;
}

/** The flags that name a Blob Storage store or a way to sign in to one. */
const AZURE_STORE_FLAGS = [
  "container",
  "account",
  "account-url",
  "az-login",
  "tenant-id",
  "client-id",
  "service-connection-id",
  "managed-identity",
  "authority-host",
] as const;

/** The flags that say how to reach and sign in to an S3 bucket (besides --s3-bucket itself). */
const S3_SETTING_FLAGS = [
  "s3-region",
  "s3-endpoint",
  "s3-path-style",
  "s3-profile",
  "s3-role-arn",
  "s3-role-session-name",
  "s3-default-chain",
] as const;

/** The flags that say which store and how to sign in to it: every command takes them. */
const STORE_FLAGS = new Set([...AZURE_STORE_FLAGS, "s3-bucket", ...S3_SETTING_FLAGS]);

function parseFlags(args: string[]) {
  return parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      "model-name": { type: "string" },
      "model-version": { type: "string" },
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
      metrics: { type: "boolean" },
      progress: { type: "boolean" },
      "expect-manifest-sha256": { type: "string" },
      reason: { type: "string" },
      "signing-key": { type: "string" },
      "public-key": { type: "string" },
      by: { type: "string" },
      container: { type: "string" },
      account: { type: "string" },
      "account-url": { type: "string" },
      "az-login": { type: "boolean" },
      "tenant-id": { type: "string" },
      "client-id": { type: "string" },
      "service-connection-id": { type: "string" },
      "managed-identity": { type: "boolean" },
      "authority-host": { type: "string" },
      "s3-bucket": { type: "string" },
      "s3-region": { type: "string" },
      "s3-endpoint": { type: "string" },
      "s3-path-style": { type: "boolean" },
      "s3-profile": { type: "string" },
      "s3-role-arn": { type: "string" },
      "s3-role-session-name": { type: "string" },
      "s3-default-chain": { type: "boolean" },
    },
  });
}

function isExact(version: string): boolean {
  try {
    return parseSelector(version).kind === "exact";
  } catch {
    return true; // not a version at all: the store says so, with the full message
  }
}

function sizeSetting(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const bytes = parseSize(text);
  if (bytes === undefined) throw usage(`${name} must be a size such as 4GiB, 500MB or 1073741824 (got ${JSON.stringify(text)})`, "fetch");
  return bytes;
}

function nonEmpty(v: string | undefined): string | undefined {
  return v !== undefined && v.trim() !== "" ? v : undefined;
}

/** `{ [key]: value }` when value is defined, `{}` otherwise (exactOptional-friendly spreading). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
