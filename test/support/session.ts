/**
 * Runs module code against the fake engine: in-process (the function called directly,
 * inside the SDK's own `connection`), or through the SDK's real module entrypoint in a
 * child process, which decodes arguments exactly as the Dagger runtime does.
 */
import { spawn } from "node:child_process";
import { copyFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { connection } from "./sdk.js";
import { FakeEngine, FakeEngineOptions } from "./fake-engine.js";
import { tempDir } from "./temp.js";
export { contextDirectoryId } from "./fake-engine.js";

export const ROOT = resolve(import.meta.dirname, "../..");
export const MODULE_SRC = join(ROOT, "dagger/src");
export const SDK_DIST = join(ROOT, "dagger/node_modules/@dagger.io/dagger/dist/src");

export interface Outcome<T> {
  engine: FakeEngine;
  result?: T;
  error?: Error;
}

/** Calls `fn` with the SDK connected to a fresh fake engine; never throws, returns what happened. */
export async function recordGraph<T>(fn: () => Promise<T>, opts: FakeEngineOptions = {}): Promise<Outcome<T>> {
  const engine = await new FakeEngine(opts).start();
  const saved = { port: process.env.DAGGER_SESSION_PORT, token: process.env.DAGGER_SESSION_TOKEN };
  Object.assign(process.env, engine.env());
  const outcome: Outcome<T> = { engine };
  try {
    await connection(async () => {
      outcome.result = await fn();
    });
  } catch (e) {
    outcome.error = e as Error;
  } finally {
    restore("DAGGER_SESSION_PORT", saved.port);
    restore("DAGGER_SESSION_TOKEN", saved.token);
    await engine.stop();
  }
  return outcome;
}

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** All TypeScript files of the module, as the runtime hands them to its entrypoint. */
export function moduleFiles(dir = MODULE_SRC): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return moduleFiles(p);
    return /\.m?ts$/.test(f) && !f.endsWith(".d.ts") ? [p] : [];
  });
}

export interface EntrypointRun {
  engine: FakeEngine;
  exitCode: number | null;
  output: string;
  value?: unknown;
  error?: string;
}

/**
 * Invokes one function through the SDK's real entrypoint (scan, argument loading, invoke,
 * returnValue/returnError), answering `currentFunctionCall` from `opts.call`.
 */
export async function callThroughEntrypoint(
  opts: FakeEngineOptions & { call: NonNullable<FakeEngineOptions["call"]> },
): Promise<EntrypointRun> {
  const engine = await new FakeEngine(opts).start();
  try {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "test/support/entrypoint-child.ts"), ...moduleFiles(), clientGenFile()],
      { cwd: ROOT, env: { ...process.env, ...engine.env(), OTEL_SDK_DISABLED: "true" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exitCode = await new Promise<number | null>((res) => child.on("close", res));
    return { engine, exitCode, output, ...engine.returned() };
  } finally {
    await engine.stop();
  }
}

/** The client type file the introspector wants, under the name it requires. */
let clientGen: string | undefined;
export function clientGenFile(): string {
  if (clientGen) return clientGen;
  const dir = tempDir("introspect-");
  const target = join(dir, "client.gen.ts");
  copyFileSync(join(SDK_DIST, "api/client.gen.d.ts"), target);
  return (clientGen = target);
}
