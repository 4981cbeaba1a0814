/**
 * Runs the real `dagger` CLI against the engine that .ci/engine/up started: argv arrays only (no
 * shell), the harness's environment plus DO_NOT_TRACK=1, plain progress output, and a hang guard
 * per call. Each call's output is also written to a log file, so a failed check can be read whole.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./session.js";
import { certSignedBy, TlsFiles } from "./tls.js";

/** Where .ci/engine/up writes the env lines (`AI_APP_ENGINE_RUN` overrides, as in .ci/engine/env). */
export const ENGINE_RUN = process.env.AI_APP_ENGINE_RUN ?? "/run/ai-app-pipeline-engine";
export const ENGINE_ENV_FILE = join(ENGINE_RUN, "env");

/** A hang guard, not a measurement: a cold `dagger call ci` takes a few minutes here. */
export const DEFAULT_TIMEOUT_MS = 15 * 60_000;

/** Full output of every call, one file per call (under the ignored .tmp/). */
export const LOG_DIR = process.env.E2E_LOG_DIR ?? join(ROOT, ".tmp/e2e-logs");

export interface EngineEnv {
  /** The environment every `dagger` call runs with. */
  env: Record<string, string>;
  /** The host end of the engine's veth pair: where servers the engine must reach listen. */
  hostIp: string;
  /** The harness's registry (host:port, plain HTTP), reachable from the engine and from here. */
  registry: string;
}

let cachedEnv: EngineEnv | undefined;

/**
 * The engine's environment: the env file sourced by bash (a fixed script, the file as its argument),
 * so whatever the harness writes there is read as the shell would read it. Throws with one line
 * when the engine is not up.
 */
export function engineEnv(): EngineEnv {
  if (cachedEnv) return cachedEnv;
  if (!existsSync(ENGINE_ENV_FILE)) throw new Error(`no engine: run .ci/engine/up first (no ${ENGINE_ENV_FILE})`);
  const r = spawnSync("bash", ["-c", '. "$1" >/dev/null && env -0', "engine-env", ENGINE_ENV_FILE], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`no engine: run .ci/engine/up first (sourcing ${ENGINE_ENV_FILE} failed: ${r.stderr.trim()})`);
  const env: Record<string, string> = {};
  for (const kv of r.stdout.split("\0")) {
    const i = kv.indexOf("=");
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  const runner = env._EXPERIMENTAL_DAGGER_RUNNER_HOST ?? "";
  const socket = runner.startsWith("unix://") ? runner.slice("unix://".length) : "";
  if (!socket || !existsSync(socket)) throw new Error(`no engine: run .ci/engine/up first (no engine socket ${socket || "(unset)"})`);
  Object.assign(env, { DO_NOT_TRACK: "1", NO_COLOR: "1", DAGGER_NO_NAG: "1", DAGGER_NO_UPDATE_CHECK: "1" });
  cachedEnv = { env, hostIp: env.AI_APP_ENGINE_HOST_IP ?? "10.200.0.1", registry: env.AI_APP_ENGINE_REGISTRY ?? "10.200.0.1:5000" };
  return cachedEnv;
}

/**
 * A certificate for the engine's host address signed by the harness's test CA, which the engine
 * and its containers trust: for servers the tests start on the veth (registries, API servers).
 */
export function engineCert(): TlsFiles & { dir: string; ca: string; hostIp: string } {
  const { env, hostIp } = engineEnv();
  const caDir = env.AI_APP_ENGINE_TEST_CA;
  if (!caDir || !existsSync(join(caDir, "ca.key")))
    throw new Error("the engine harness has no test CA (AI_APP_ENGINE_TEST_CA): restart it with .ci/engine/down && .ci/engine/up");
  return { ...certSignedBy(caDir, hostIp), hostIp };
}

export interface DaggerResult {
  /** Exit code; null when the hang guard killed it. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the call in milliseconds. */
  ms: number;
  timedOut: boolean;
  /** The file holding the argv, exit code and both streams. */
  log: string;
  argv: string[];
}

export interface DaggerOptions {
  /** Working directory: the module to load (default: the repository root). */
  cwd?: string;
  timeoutMs?: number;
  /** Extra environment on top of the engine's. */
  env?: Record<string, string>;
  /** Name of the log file (default: derived from the arguments). */
  label?: string;
}

let calls = 0;

/** `dagger --progress=plain ARGS...`; never throws for a non-zero exit, returns what happened. */
/**
 * Seen on the engine, twice in one run of about 60 calls: a session loses its own upload of the
 * module while loading it ("failed to load local module source context: <id>: not found"), before
 * any function runs. Engine-side and transient, so such a call is made again, at most twice, and
 * says so; any other failure is the call's result.
 */
const LOST_CONTEXT = /failed to load local module source context: \S+: not found/;
const LOST_CONTEXT_RETRIES = 2;

export async function dagger(args: string[], opts: DaggerOptions = {}): Promise<DaggerResult> {
  let r = await daggerOnce(args, opts);
  for (let retry = 1; retry <= LOST_CONTEXT_RETRIES && r.code !== 0 && LOST_CONTEXT.test(r.stderr); retry++) {
    console.log(`    ${callLine(r)}: the engine lost the module's upload; calling again (${retry}/${LOST_CONTEXT_RETRIES})`);
    r = await daggerOnce(args, { ...opts, label: `${opts.label ?? args.join("_")}-again${retry}` });
  }
  return r;
}

function daggerOnce(args: string[], opts: DaggerOptions): Promise<DaggerResult> {
  const { env } = engineEnv();
  const argv = ["dagger", "--progress=plain", ...args];
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  mkdirSync(LOG_DIR, { recursive: true });
  const label = (opts.label ?? args.join("_")).replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 80);
  const log = join(LOG_DIR, `${String(++calls).padStart(3, "0")}-${process.pid}-${label}.log`);
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: opts.cwd ?? ROOT,
      env: { ...env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // its own process group, so the hang guard stops the CLI and its children
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    let timedOut = false;
    const guard = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGTERM");
      } catch {
        child.kill("SIGTERM");
      }
    }, timeoutMs);
    let done = false;
    const finish = (code: number | null, spawnError?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(guard);
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8") + (spawnError ? `\n${spawnError.message}` : "");
      const ms = Date.now() - started;
      const head = `$ ${argv.join(" ")}\n# cwd ${opts.cwd ?? ROOT}; exit ${code}${timedOut ? " (killed by the hang guard)" : ""}; ${ms} ms\n`;
      writeFileSync(log, `${head}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
      resolve({ code, stdout, stderr, ms, timedOut, log, argv });
    };
    child.on("error", (e) => finish(null, e));
    child.on("close", (code) => finish(code));
  });
}

/** One line for a test's output: what ran, how long, how it ended. */
export function callLine(r: DaggerResult): string {
  return `${r.argv.slice(2).join(" ")}: exit ${r.code}${r.timedOut ? " (hang guard)" : ""} in ${(r.ms / 1000).toFixed(1)} s (log ${r.log})`;
}

/** A call's stdout and stderr together, for matching a message wherever the CLI printed it. */
export function both(r: DaggerResult): string {
  return `${r.stdout}\n${r.stderr}`;
}

/** The last `n` lines of a stream, for an assertion message. */
export function tail(text: string, n = 40): string {
  return text.trimEnd().split("\n").slice(-n).join("\n");
}
