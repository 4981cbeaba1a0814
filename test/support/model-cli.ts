/** Runs the model-store command as a user would: a separate Node process, options in argv, secrets in env. */
import { spawn, ChildProcess, execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { TRANSPILE } from "../../dagger/src/model-store/step.js";

const ROOT = resolve(import.meta.dirname, "../..");
const MODULE = join(ROOT, "dagger");
export const CLI_PATH = join(ROOT, "dagger/src/model-store/cli.ts");

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliLimits {
  /** The shell's `ulimit -f` for the command (512-byte blocks in POSIX sh): writes past it fail with EFBIG. */
  fileSizeBlocks?: number;
}

/**
 * Spawns the CLI (asynchronously: in-process test servers must keep answering) with only
 * PATH, HOME and `env`, so nothing from the developer's environment leaks in.
 */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
  limits: CliLimits = {},
): { child: ChildProcess; done: Promise<CliRun> } {
  const command = [process.execPath, "--import", "tsx", CLI_PATH, ...args];
  const [file, ...argv] =
    limits.fileSizeBlocks === undefined ? command : ["/bin/sh", "-c", `ulimit -f ${limits.fileSizeBlocks} && exec "$@"`, "sh", ...command];
  const child = spawn(file!, argv, {
    cwd: ROOT,
    // Short retry delays keep failure cases fast; the retry logic itself is unchanged.
    env: { PATH: process.env.PATH ?? "", HOME: env.HOME ?? "/nonexistent", MODEL_STORE_RETRY_DELAY_MS: "20", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliRun>((res) => child.on("close", (code, signal) => res({ code, signal, stdout, stderr })));
  return { child, done };
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return startCli(args, env).done;
}

/** The package's bin (package.json "bin": ai-app-models), started through its own shebang as a shell would. */
export const BIN_PATH = join(ROOT, "scripts/ai-app-models.mjs");

/**
 * Runs the bin with the same clean environment as startCli. Not through npx: inside this
 * repository npx installs the workspace into its cache and runs the root postinstall.
 */
export function runBin(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(BIN_PATH, args, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: env.HOME ?? "/nonexistent", MODEL_STORE_RETRY_DELAY_MS: "20", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise<CliRun>((res) => child.on("close", (code, signal) => res({ code, signal, stdout, stderr })));
}

/**
 * The CLI laid out in `dir` as the Dagger step ships it: package.json, src/model-store and
 * src/credentials, node_modules holding only the lockfile's production packages (linked), and
 * the same transpile command, so `node dist/model-store/cli.js` runs as in the container.
 */
export function buildCliLayout(dir: string): void {
  cpSync(join(MODULE, "package.json"), join(dir, "package.json"));
  for (const sub of ["model-store", "credentials"]) cpSync(join(MODULE, "src", sub), join(dir, "src", sub), { recursive: true });
  const lock = JSON.parse(readFileSync(join(MODULE, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean }> };
  for (const [path, meta] of Object.entries(lock.packages)) {
    // Top-level installs only (nested ones come along inside their parent's folder).
    if (!path.startsWith("node_modules/") || path.slice("node_modules/".length).includes("node_modules/") || meta.dev) continue;
    mkdirSync(resolve(dir, path, ".."), { recursive: true });
    symlinkSync(join(MODULE, path), join(dir, path));
  }
  mkdirSync(join(dir, "node_modules/.bin"), { recursive: true });
  symlinkSync(join(MODULE, "node_modules/.bin/esbuild"), join(dir, "node_modules/.bin/esbuild"));
  execFileSync(TRANSPILE[0]!, TRANSPILE.slice(1), { cwd: dir, stdio: "inherit" });
}
