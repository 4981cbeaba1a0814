/**
 * The model store inside Dagger: the same command people run (src/model-store/cli.ts), run in a
 * pinned Node container built from this module's own source. Secrets enter only as secret
 * variables, a store that is a Dagger service (Azurite) is reached through a service binding,
 * and model files land on the container's disk and come back as a Directory.
 *
 * Caching: resolving, listing and publishing talk to the outside world and carry a per-call
 * nonce; the download step does not: its arguments name the exact version and the sha256 of its
 * model.json, so Dagger's own cache answers an unchanged model without moving a byte.
 */
import { randomUUID } from "node:crypto";
import { Container, dag, Directory, Secret, Service } from "@dagger.io/dagger";
import { execErrorStderr } from "../shared/runtime-compat.js";
import { AuthInput, FieldLabels, isGiven, NoCredentialsError, selectAuth } from "../credentials/auth-mode.js";
import { OIDC_REQUEST_URI_ENV, SECRET_ENV, SecretField } from "../credentials/env.js";
import { IMAGES } from "../images.js";
import { AZURITE_ACCOUNT, AZURITE_BLOB_PORT, AZURITE_KEY } from "./azurite-dev.js";
import { DEFAULT_CONTAINER } from "./layout.js";
import { bucketProblem, endpointProblem, regionProblem, S3_SECRET_ENV, S3Labels, selectS3Auth } from "./s3-settings.js";
import { ModelStoreSettings } from "./settings.js";
import { YankInfo, yankWarning } from "./yank.js";
import { CALLER_ENV } from "./hints.js";
import { ModelVersions, modelVersions } from "./model-versions.js";

/** Store arguments as the Dagger functions take them (with-store): secrets as Secrets, or an Azurite service. */
export type StoreArgs = ModelStoreSettings;

/** How the functions' users spell each auth field, for the shared selection errors. */
export const DAGGER_LABELS: FieldLabels = {
  account: "--account",
  accountUrl: "--account-url",
  tenantId: "--tenant-id",
  clientId: "--client-id",
  serviceConnectionId: "--service-connection-id",
  oidcRequestUri: "--oidc-request-uri",
  managedIdentity: "--managed-identity",
  // The module takes the token as one Secret (env://, file://): both fields are that one flag.
  federatedTokenFile: "--federated-token",
  connectionString: "--connection-string",
  sasToken: "--sas-token",
  accountKey: "--account-key",
  clientSecret: "--client-secret",
  federatedToken: "--federated-token",
  systemAccessToken: "--system-access-token",
  entraToken: "--entra-token",
};

/** The ways in besides with-store's sign-ins, for the message when none is given. */
const OTHER_WAYS_IN = [
  "an Azurite service instead of Azure: --store-service (e.g. tcp://localhost:10000; its development account)",
  "an S3 bucket instead of Blob Storage: with-aws-store in place of with-store (dagger call with-aws-store --help)",
];

/** Everything a container needs to reach one store. */
export interface StoreTarget {
  /** Non-secret CLI flags (container, endpoint, ids). */
  flags: string[];
  /** Secrets, each set as the environment variable the CLI reads. */
  secrets: { env: string; secret: Secret }[];
  /** Plain environment variables (Azure Pipelines' OIDC endpoint). */
  env: { name: string; value: string }[];
  /** A Dagger service the store lives in, bound as STORE_HOST. */
  service?: Service;
}

export const STORE_HOST = "blob-store";
const CLI_DIR = "/opt/model-store";
/** The CLI as plain JavaScript: transpiled once in a cached layer, so runs skip tsx (~50 MB and a compile per start). */
export const CLI = ["node", "dist/model-store/cli.js"];
/** Where fetched models land in the fetch container, and the content cache volume's mount. */
export const FETCH_OUT = "/model";
const BLOB_CACHE = "/var/cache/model-store";
const NONCE_ENV = "MODEL_STORE_CALL_ID";

/** How with-aws-store's users spell each S3 field, for the shared checks' messages. */
export const DAGGER_S3_LABELS: S3Labels & { bucket: string; region: string; endpoint: string } = {
  bucket: "--bucket",
  region: "--region",
  endpoint: "--endpoint",
  accessKeyId: "--access-key-id",
  secretAccessKey: "--secret-access-key",
  sessionToken: "--session-token",
  // A profile lives in ~/.aws, which a container does not have: the command line's sign-in only.
  profile: "",
  roleArn: "--role-arn",
  webIdentityToken: "--web-identity-token",
  webIdentityTokenFile: "--web-identity-token",
  roleSessionName: "--role-session-name",
  defaultChain: "--default-chain",
};

/** Checks the arguments (same rules and messages as the CLI) and maps them onto a container. */
export function storeTarget(args: StoreArgs): StoreTarget {
  const {
    s3Bucket,
    s3Region,
    s3Endpoint,
    s3PathStyle,
    awsAccessKeyId,
    awsSecretAccessKey,
    awsSessionToken,
    s3RoleArn,
    s3WebIdentityToken,
    s3RoleSessionName,
    s3DefaultChain,
    ...blob
  } = args;
  if (s3Bucket !== undefined) {
    return s3Target({
      bucket: s3Bucket,
      region: s3Region ?? "",
      ...(s3Endpoint ? { endpoint: s3Endpoint } : {}),
      pathStyle: s3PathStyle ?? false,
      secrets: {
        ...(awsAccessKeyId ? { accessKeyId: awsAccessKeyId } : {}),
        ...(awsSecretAccessKey ? { secretAccessKey: awsSecretAccessKey } : {}),
        ...(awsSessionToken ? { sessionToken: awsSessionToken } : {}),
        ...(s3WebIdentityToken ? { webIdentityToken: s3WebIdentityToken } : {}),
      },
      ...(s3RoleArn ? { roleArn: s3RoleArn } : {}),
      ...(s3RoleSessionName ? { roleSessionName: s3RoleSessionName } : {}),
      defaultChain: s3DefaultChain ?? false,
    });
  }
  const { storeService, container: containerArg, ...azure } = blob;
  const container = containerArg || DEFAULT_CONTAINER;
  if (storeService) {
    const extra = (Object.keys(azure) as (keyof typeof azure)[]).filter((k) => isGiven(azure[k]));
    if (extra.length > 0) {
      throw new Error(
        `--store-service (Azurite) replaces the Azure storage arguments; remove ${extra.map((k) => DAGGER_LABELS[k]).join(", ")}`,
      );
    }
    return azuriteTarget(storeService, container);
  }
  try {
    selectAuth(azure as AuthInput<unknown>, DAGGER_LABELS);
  } catch (e) {
    throw e instanceof NoCredentialsError ? e.also(OTHER_WAYS_IN) : e;
  }
  const flag = (name: string, v: string | undefined) => (v ? [name, v] : []);
  const secrets = (Object.keys(SECRET_ENV) as SecretField[]).flatMap((f) => {
    const secret = azure[f];
    return secret ? [{ env: SECRET_ENV[f], secret }] : [];
  });
  return {
    flags: [
      "--container",
      container,
      ...flag("--account", args.account),
      ...flag("--account-url", args.accountUrl),
      ...flag("--tenant-id", args.tenantId),
      ...flag("--client-id", args.clientId),
      ...flag("--service-connection-id", args.serviceConnectionId),
      ...(args.managedIdentity ? ["--managed-identity"] : []),
    ],
    secrets,
    env: args.oidcRequestUri ? [{ name: OIDC_REQUEST_URI_ENV, value: args.oidcRequestUri }] : [],
  };
}

interface S3Args {
  bucket: string;
  region: string;
  endpoint?: string;
  pathStyle: boolean;
  secrets: Partial<Record<keyof typeof S3_SECRET_ENV, Secret>>;
  roleArn?: string;
  roleSessionName?: string;
  defaultChain: boolean;
}

/**
 * An S3 bucket as the store: everything checked here as the CLI checks it (region, bucket name,
 * endpoint, one sign-in), non-secret settings as --s3-* flags, each secret as the AWS_* variable
 * the CLI reads. A named profile is not offered: ~/.aws is not in the container.
 */
function s3Target(a: S3Args): StoreTarget {
  const L = DAGGER_S3_LABELS;
  const problem =
    bucketProblem(a.bucket, L.bucket) ??
    (a.endpoint ? endpointProblem(a.endpoint, L.endpoint) : undefined) ??
    regionProblem(a.region, a.endpoint !== undefined, L.region);
  if (problem) throw new Error(problem);
  selectS3Auth(
    {
      ...Object.fromEntries(Object.keys(a.secrets).map((k) => [k, "(secret)"])),
      ...(a.roleArn ? { roleArn: a.roleArn } : {}),
      ...(a.roleSessionName ? { roleSessionName: a.roleSessionName } : {}),
      ...(a.defaultChain ? { defaultChain: true } : {}),
    },
    L,
  );
  const flag = (name: string, v: string | undefined) => (v ? [name, v] : []);
  return {
    flags: [
      "--s3-bucket",
      a.bucket,
      "--s3-region",
      a.region,
      ...flag("--s3-endpoint", a.endpoint),
      ...(a.pathStyle ? ["--s3-path-style"] : []),
      ...flag("--s3-role-arn", a.roleArn),
      ...flag("--s3-role-session-name", a.roleSessionName),
      ...(a.defaultChain ? ["--s3-default-chain"] : []),
    ],
    secrets: (Object.keys(S3_SECRET_ENV) as (keyof typeof S3_SECRET_ENV)[]).flatMap((k) => {
      const secret = a.secrets[k];
      return secret ? [{ env: S3_SECRET_ENV[k], secret }] : [];
    }),
    env: [],
  };
}

/** The builder that configured `target`'s store, for messages that tell the user what to run: with-store or with-aws-store. */
export function storeBuilder(target: StoreTarget): "with-store" | "with-aws-store" {
  return target.flags.includes("--s3-bucket") ? "with-aws-store" : "with-store";
}

/** An Azurite service (blob port 10000) as the store, with its development account. */
export function azuriteTarget(service: Service, container = DEFAULT_CONTAINER): StoreTarget {
  return {
    flags: ["--container", container, "--account-url", `http://${STORE_HOST}:${AZURITE_BLOB_PORT}/${AZURITE_ACCOUNT}`],
    secrets: [{ env: SECRET_ENV.accountKey, secret: dag.setSecret("azurite-development-key", AZURITE_KEY) }],
    env: [],
    service,
  };
}

/**
 * The model-store command: pinned Node, runtime dependencies in their own cached layer, then only
 * the store's code, transpiled by the esbuild that tsx (a runtime dependency) brings.
 */
export function modelStoreCli(): Container {
  const src = dag.currentModule().source();
  return dag
    .container()
    .from(IMAGES.node)
    .withMountedCache("/root/.npm", dag.cacheVolume("model-store-npm"))
    .withWorkdir(CLI_DIR)
    .withDirectory(CLI_DIR, src, { include: ["package.json", "package-lock.json"] })
    .withExec(["npm", "ci", "--omit=dev", "--no-audit", "--no-fund"])
    .withDirectory(`${CLI_DIR}/src`, src.directory("src"), { include: ["model-store/**", "credentials/**"] })
    .withExec(TRANSPILE)
    .withEnvVariable(CALLER_ENV, "dagger"); // its hints name the module's functions (set-alias --alias ...): hints.ts
}

/**
 * esbuild expands the globs itself (no shell here); output keeps the ./x.js import specifiers
 * valid, and JSON files (model.schema.json, read beside schema.js at run time) are copied as-is.
 */
export const TRANSPILE = [
  "node_modules/.bin/esbuild",
  "src/**/*.ts",
  "src/**/*.json",
  "--outdir=dist",
  "--format=esm",
  "--platform=node",
  "--loader:.json=copy",
  "--log-level=warning",
];

/** The command container wired to `target`. */
export function withStore(ctr: Container, target: StoreTarget): Container {
  let c = target.service ? ctr.withServiceBinding(STORE_HOST, target.service) : ctr;
  for (const e of target.env) c = c.withEnvVariable(e.name, e.value);
  for (const s of target.secrets) c = c.withSecretVariable(s.env, s.secret);
  return c;
}

/** A step that must run on every call (it reads or changes the store as it is now). */
function uncached(ctr: Container): Container {
  return ctr.withEnvVariable(NONCE_ENV, randomUUID());
}

export interface ModelRef {
  name: string;
  version: string;
  manifestSha256: string;
  /** Set when the version was pinned exactly although yanked: the CLI's warning line (an alias refuses a yanked version). */
  warning?: string;
}

/** Resolves `version` ("latest" or exact) to one complete version, asking the store every time. */
export async function resolveModel(target: StoreTarget, name: string, version: string, prerelease: boolean): Promise<ModelRef> {
  const args = [
    "resolve",
    "--model-name",
    name,
    "--model-version",
    version,
    ...(prerelease ? ["--prerelease"] : []),
    "--json",
    ...target.flags,
  ];
  return parseModelRef(await runCli(uncached(withStore(modelStoreCli(), target)), args, "resolve"));
}

/** The `resolve --json` output, checked. */
export function parseModelRef(stdout: string): ModelRef {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  const v = JSON.parse(line) as Partial<ModelRef> & { yanked?: YankInfo };
  if (typeof v.name !== "string" || typeof v.version !== "string" || !/^[0-9a-f]{64}$/.test(v.manifestSha256 ?? "")) {
    throw new Error(`model store resolve: unexpected output ${JSON.stringify(line.slice(0, 200))}`);
  }
  const ref = { name: v.name, version: v.version, manifestSha256: v.manifestSha256! };
  return v.yanked ? { ...ref, warning: yankWarning({ ...ref, yanked: v.yanked }) } : ref;
}

/**
 * The download step, keyed only by what identifies the content (version + model.json sha256):
 * an unchanged model is a Dagger cache hit. The content cache volume still saves the bytes when
 * the key changes for other reasons (e.g. a rotated token, since secrets key by value).
 */
export function fetchStep(target: StoreTarget, ref: ModelRef): Container {
  return withStore(modelStoreCli(), target)
    .withMountedCache(BLOB_CACHE, dag.cacheVolume("model-store-blobs"))
    .withExec([
      ...CLI,
      "fetch",
      "--model-name",
      ref.name,
      "--model-version",
      ref.version,
      "--expect-manifest-sha256",
      ref.manifestSha256,
      "--out",
      FETCH_OUT,
      "--cache-dir",
      BLOB_CACHE,
      "--progress", // file, bytes and rate in the call's log: stderr is not a terminal here
      ...target.flags,
    ]);
}

/** Resolves, downloads and verifies a model; the returned Directory holds model.json and its files. */
export async function fetchModelDirectory(target: StoreTarget, name: string, version: string, prerelease = false): Promise<Directory> {
  const ref = await resolveModel(target, name, version, prerelease);
  if (ref.warning) console.error(ref.warning); // the function's own log: a yanked pin works, and says so
  const step = fetchStep(target, ref);
  try {
    await step.sync(); // fail here with the store's message, not later inside a build
  } catch (e) {
    throw explainCliFailure(e, "fetch");
  }
  return step.directory(FETCH_OUT);
}

/**
 * Publishes a model directory as a new version; returns the command's summary line. A store
 * that is a Dagger service (a fresh Azurite) gets its container created on first use.
 */
export async function publishModelDirectory(target: StoreTarget, model: Directory, version?: string): Promise<string> {
  const ctr = uncached(withStore(modelStoreCli(), target)).withDirectory("/in/model", model);
  const args = [
    "publish",
    "--dir",
    "/in/model",
    ...(version ? ["--model-version", version] : []),
    "--progress",
    ...(target.service ? ["--create-container"] : []),
    ...target.flags,
  ];
  return (await runCli(ctr, args, "publish")).trim();
}

/** The versions of `name` with their states, aliases, yanks and metrics: one `list --json`, read into an object. */
export async function listModelVersions(target: StoreTarget, name: string): Promise<ModelVersions> {
  return modelVersions(
    await runCli(uncached(withStore(modelStoreCli(), target)), ["list", "--model-name", name, "--json", ...target.flags], "list"),
  );
}

/**
 * Points `alias` at `version` (exact) of `name`, recording `by` (a revision, a pipeline run, a
 * person); release can call it to mark what it deployed (e.g. production). Returns the CLI's line.
 */
export async function moveAlias(target: StoreTarget, name: string, alias: string, version: string, by: string): Promise<string> {
  const args = ["alias", "set", alias, "--model-version", version, "--model-name", name, "--by", by, ...target.flags];
  return (await runCli(uncached(withStore(modelStoreCli(), target)), args, "alias set")).trim();
}

export async function removeModelAlias(target: StoreTarget, name: string, alias: string, by: string): Promise<string> {
  const args = ["alias", "rm", alias, "--model-name", name, "--by", by, ...target.flags];
  return (await runCli(uncached(withStore(modelStoreCli(), target)), args, "alias rm")).trim();
}

/** Yanks (`reason` given) or unyanks (`reason` undefined) one exact version. */
export async function markYanked(target: StoreTarget, name: string, version: string, by: string, reason?: string): Promise<string> {
  const command = reason === undefined ? ["unyank"] : ["yank", "--reason", reason];
  const args = [...command, "--model-version", version, "--model-name", name, "--by", by, ...target.flags];
  return (await runCli(uncached(withStore(modelStoreCli(), target)), args, command[0]!)).trim();
}

async function runCli(ctr: Container, args: string[], what: string): Promise<string> {
  try {
    return await ctr.withExec([...CLI, ...args]).stdout();
  } catch (e) {
    throw explainCliFailure(e, what);
  }
}

/** The CLI's own error line(s) instead of a generic exec failure. */
export function explainCliFailure(e: unknown, what: string): Error {
  const stderr = execErrorStderr(e);
  if (stderr === undefined) return e as Error;
  const lines = stderr.trim().split("\n");
  const from = lines.findIndex((l) => l.startsWith("error: "));
  const message = (from >= 0 ? lines.slice(from) : lines.slice(-10)).join("\n").replace(/^error: /, "");
  return new Error(`model store ${what} failed: ${message}`);
}
