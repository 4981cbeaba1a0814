/**
 * `npx ai-app-models publish|list|resolve|fetch|alias|yank|unyank` (also `npm run model -- ...`): the model store
 * for people and for the Dagger steps (which run this same file in a Node container). stdout
 * holds only the result (one JSON document with --json); progress and logs go to stderr.
 * Errors are one clear line on stderr with a non-zero exit; secrets are redacted from anything printed.
 */
import { pathToFileURL } from "node:url";
import { CredentialError, NoCredentialsError } from "../credentials/auth-mode.js";
import { SECRET_ENV } from "../credentials/env.js";
import { redact } from "../credentials/redact.js";
import { CLI_LABELS, CliOptions, HelpRequest, parseCli, S3_CLI_LABELS, UsageError } from "./cli-args.js";
import { BlobBackend } from "./blob-backend.js";
import { connect, retryFromEnv } from "./connect.js";
import { S3_SECRET_ENV, S3_TOKEN_FILE_ENV } from "./s3-settings.js";
import { StoreError } from "./errors.js";
import { fetchModel } from "./fetch.js";
import { terminalSafe } from "./printable.js";
import { noProgress, progressReporter, ProgressReporter } from "./progress.js";
import { humanBytes } from "./sizes.js";
import { publishModel, readLocalModel } from "./publish.js";
import { ModelStore } from "./store.js";
import { parseSelector } from "./versions.js";
import { AliasChange, aliasHistory, AliasHistory, removeAlias, setAlias } from "./aliases.js";
import { hintsFor } from "./hints.js";
import { listingJson, listingTable } from "./listing.js";
import { signDirectory, verifierFor } from "./local-signing.js";
import { unyankVersion, YankChange, yankVersion, yankWarning } from "./yank.js";

/** The way in besides a Blob container's sign-ins, for the message when none is given. */
const S3_WAY_IN =
  `an S3 bucket instead of a Blob container: --s3-bucket NAME --s3-region REGION with ${S3_SECRET_ENV.accessKeyId} and ${S3_SECRET_ENV.secretAccessKey}, ` +
  `--s3-profile NAME, --s3-role-arn ARN (a web identity token in ${S3_TOKEN_FILE_ENV}) or --s3-default-chain`;

export interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
  /** stderr is a terminal someone watches: progress is shown without --progress. */
  errIsTerminal?: boolean;
}

const processIo: Io = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  errIsTerminal: process.stderr.isTTY === true,
};

/** Runs one command; resolves to the exit code (0 ok, 1 failed, 2 usage). */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, rawIo: Io = processIo, signal?: AbortSignal): Promise<number> {
  const secrets = [
    ...Object.values(SECRET_ENV),
    S3_SECRET_ENV.secretAccessKey,
    S3_SECRET_ENV.sessionToken,
    S3_SECRET_ENV.webIdentityToken,
  ].map((k) => env[k]);
  // Store contents reach this output: never let a control character through (see printable.ts).
  const io: Io = { ...rawIo, out: (t) => rawIo.out(terminalSafe(t)), err: (t) => rawIo.err(terminalSafe(t)) };
  try {
    const opts = parseCli(argv, env);
    await run(opts, io, env, signal);
    return 0;
  } catch (e) {
    if (e instanceof HelpRequest) {
      io.out(e.message);
      return 0;
    }
    if (e instanceof UsageError) {
      io.err(`error: ${redact(e.message, secrets)}\n`);
      return 2;
    }
    const known = e instanceof StoreError || e instanceof CredentialError;
    const message = known ? (e as Error).message : `unexpected failure: ${(e as Error)?.message ?? String(e)}`;
    io.err(`error: ${redact(message, secrets)}\n`);
    if (!known && env.MODEL_STORE_DEBUG) io.err(redact(String((e as Error)?.stack), secrets) + "\n");
    return 1;
  }
}

async function run(opts: CliOptions, io: Io, env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  const log = (line: string) => io.err(`${line}\n`);
  const progress: ProgressReporter = opts.progress || io.errIsTerminal ? progressReporter(log) : noProgress;
  if (opts.command === "publish") {
    // Local checks first: a bad directory fails before any credential or network use.
    const read = await readLocalModel(opts.dir!);
    if (opts.expectName !== undefined && opts.expectName !== read.manifest.name) {
      throw new StoreError(
        `${opts.dir}/model.json names model "${read.manifest.name}" but --model-name ${opts.expectName} was asked for; publish the right directory (or drop --model-name)`,
      );
    }
    const local = opts.signingKey ? { ...read, signature: await signDirectory(read.dir, opts.signingKey, env) } : read;
    const store = await open(opts, env, "write", log);
    if (opts.createContainer) await store.call(`create the ${store.backend.location.noun}`, () => store.backend.createContainerIfMissing());
    const r = await publishModel(store, local, {
      ...(opts.version ? { version: opts.version } : {}),
      ...(signal ? { signal } : {}),
      progress,
    });
    io.out(
      opts.json
        ? JSON.stringify(r) + "\n"
        : `published ${r.name} ${r.version} to ${store.place} at ${store.endpoint}: ` +
            `${r.files} file(s), ${humanBytes(r.uploadedBytes)} uploaded${r.reusedFiles ? `, ${r.reusedFiles} already there` : ""}, ` +
            `${local.signature ? "signed, " : ""}manifest sha256 ${r.manifestSha256}\n`,
    );
    return;
  }
  if (opts.command === "alias" && opts.aliasAction === "history") {
    const store = await open(opts, env, "read", log);
    const history = await aliasHistory(store, opts.name, opts.alias!);
    io.out(opts.json ? JSON.stringify(history) + "\n" : historyText(history));
    return;
  }
  if (opts.command === "alias" || opts.command === "yank" || opts.command === "unyank") {
    const store = await open(opts, env, "write", log);
    const by = opts.by!;
    if (opts.command === "alias") {
      const change =
        opts.aliasAction === "set"
          ? await setAlias(store, opts.name, opts.alias!, opts.version!, by)
          : await removeAlias(store, opts.name, opts.alias!, by);
      io.out(opts.json ? JSON.stringify(change) + "\n" : aliasLine(change));
      return;
    }
    const change =
      opts.command === "yank"
        ? await yankVersion(store, opts.name, opts.version!, opts.reason!, by)
        : await unyankVersion(store, opts.name, opts.version!, by);
    io.out(opts.json ? JSON.stringify(change) + "\n" : yankLine(change));
    if (change.yanked && change.aliases.length) {
      const aliases = change.aliases.map((a) => `@${a}`).join(", ");
      log(`note: ${aliases} point(s) at it and refuse(s) to resolve until moved (${store.hints.setAlias("ALIAS")}) or it is unyanked`);
    }
    return;
  }
  const selector = parseSelector(opts.version ?? "latest", opts.prerelease);
  const store = await open(opts, env, "read", log);
  if (opts.command === "list") {
    const listing = await store.listVersions(opts.name);
    const doc = listingJson(opts.name, { container: opts.container, place: store.place, endpoint: store.endpoint }, listing);
    io.out(opts.json ? JSON.stringify(doc) + "\n" : listingTable(doc, { metrics: opts.metrics }));
    return;
  }
  const model = await store.resolve(opts.name, selector);
  if (opts.expectManifestSha256 && opts.expectManifestSha256 !== model.manifestSha256) {
    throw new StoreError(
      `${model.name} ${model.version}: model.json is not the one expected (sha256 ${model.manifestSha256}, expected ${opts.expectManifestSha256}); it changed since it was resolved`,
    );
  }
  if (model.yanked) log(yankWarning(model));
  if (opts.command === "resolve") {
    const summary = {
      name: model.name,
      version: model.version,
      manifestSha256: model.manifestSha256,
      files: model.manifest.files,
      ...(model.alias ? { alias: model.alias } : {}),
      ...(model.yanked ? { yanked: model.yanked } : {}),
    };
    io.out(opts.json ? JSON.stringify(summary) + "\n" : `${model.name} ${model.version} (manifest sha256 ${model.manifestSha256})\n`);
    return;
  }
  const r = await fetchModel(store, model, opts.out!, {
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
    ...(opts.maxFileBytes ? { maxFileBytes: opts.maxFileBytes } : {}),
    ...(opts.publicKey ? { verify: verifierFor(opts.publicKey, env) } : {}),
    ...(signal ? { signal } : {}),
    progress,
  });
  io.out(
    opts.json
      ? JSON.stringify(r) + "\n"
      : r.upToDate
        ? `${r.target} already holds ${r.name} ${r.version} (verified, nothing downloaded)\n`
        : `fetched ${r.name} ${r.version} into ${r.target}: ${r.files} file(s) verified, ${humanBytes(r.downloadedBytes)} downloaded, ${humanBytes(r.reusedBytes)} reused` +
          `${r.signer ? `, signed by ${r.signer}` : ""}\n`,
  );
}

async function open(opts: CliOptions, env: NodeJS.ProcessEnv, access: "read" | "write", log: (l: string) => void): Promise<ModelStore> {
  if (opts.s3) {
    // Loaded only for an S3 store: a Blob store's command never loads the AWS SDK.
    const { connectS3 } = await import("./s3-connect.js");
    const { bucket, region, endpoint, pathStyle, auth } = opts.s3;
    const s3 = connectS3(
      { bucket, region, ...(endpoint ? { endpoint } : {}), ...(pathStyle ? { pathStyle } : {}), auth, retry: retryFromEnv(env) },
      S3_CLI_LABELS,
    );
    return new ModelStore(s3.backend, log, hintsFor(env));
  }
  const config = {
    container: opts.container,
    auth: opts.auth,
    retry: retryFromEnv(env),
    ...(opts.authorityHost ? { authorityHost: opts.authorityHost } : {}),
  };
  try {
    return new ModelStore(new BlobBackend(connect(config, CLI_LABELS, access)), log, hintsFor(env));
  } catch (e) {
    throw e instanceof NoCredentialsError ? e.also([S3_WAY_IN]) : e;
  }
}

/** An alias's moves for people: what it points at now, then each move, newest first. */
function historyText(h: AliasHistory): string {
  const now = h.version === null ? "removed" : `points at ${h.version}`;
  const moves = [...h.history].reverse();
  const by = Math.max(...moves.map((m) => m.by.length));
  const lines = moves.map((m) => `  ${m.at}  ${m.by.padEnd(by)}  ${m.from ?? "(not set)"} -> ${m.to ?? "(removed)"}`);
  return `@${h.alias} of ${h.name}: ${now}; ${moves.length} move${moves.length === 1 ? "" : "s"}, newest first\n${lines.join("\n")}\n`;
}

function aliasLine(c: AliasChange): string {
  if (!c.changed) return `@${c.alias} of ${c.name} already points at ${c.move.to}; nothing changed\n`;
  const was = c.replacedInvalid !== undefined ? " (its invalid record replaced)" : c.move.from ? ` (was ${c.move.from})` : "";
  return c.move.to === null
    ? `removed @${c.alias} of ${c.name}${c.replacedInvalid !== undefined ? was : ` (it pointed at ${c.move.from})`}\n`
    : `@${c.alias} of ${c.name} now points at ${c.move.to}${was}\n`;
}

function yankLine(c: YankChange): string {
  if (!c.changed) return `${c.name} ${c.version} already is yanked with that reason; nothing changed\n`;
  return c.yanked
    ? `yanked ${c.name} ${c.version}: latest skips it, aliases pointing at it refuse it, exact pins still fetch it with a warning\n`
    : `unyanked ${c.name} ${c.version}\n`;
}

/** Runs the command for this process: argv, environment, stdio, Ctrl-C; sets the exit code. */
export async function runAsCommand(argv: readonly string[] = process.argv.slice(2)): Promise<void> {
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130); // second signal: stop now
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  process.exitCode = await main(argv, process.env, processIo, controller.signal);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runAsCommand();
