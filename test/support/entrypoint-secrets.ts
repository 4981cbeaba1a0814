/** The SDK's module entrypoint driven with Secret arguments: a fake engine that knows the secrets' ids up front. */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { FakeEngine, FakeEngineOptions, Op } from "./fake-engine.js";
import { clientGenFile, moduleFiles, ROOT } from "./session.js";

export interface SecretArgRun {
  engine: FakeEngine;
  exitCode: number | null;
  output: string;
  value?: unknown;
  error?: string;
}

/**
 * Like session.ts's callThroughEntrypoint, but `secrets` (name -> plaintext) are registered in
 * the fake engine first, as `setSecret` would, and `inputArgs(ids)` receives their ids: so a
 * Secret argument arrives as an id and is decoded by the SDK exactly as in production.
 * `secret.plaintext()` on such an id answers the plaintext.
 */
export async function callWithSecrets(
  opts: Omit<FakeEngineOptions, "call"> & {
    secrets: Record<string, string>;
    call: {
      parentName: string;
      name: string;
      /** The parent object's saved state; a function when it holds secret ids (e.g. with-registry's password). */
      parent?: Record<string, unknown> | ((ids: Record<string, string>) => Record<string, unknown>);
      inputArgs: (ids: Record<string, string>) => Record<string, unknown>;
    };
    env?: Record<string, string>;
  },
): Promise<SecretArgRun> {
  const secretChains = new Map<string, Op[]>();
  const respond = (chain: Op[]) => {
    const leaf = chain.at(-1);
    if (leaf?.field === "plaintext") {
      const set = chain.find((o) => o.field === "setSecret");
      if (set) return String(set.args.plaintext);
    }
    return opts.respond?.(chain);
  };
  const call: NonNullable<FakeEngineOptions["call"]> = { parentName: opts.call.parentName, name: opts.call.name };
  const engine = await new FakeEngine({ ...opts, respond, call }).start();
  const ids: Record<string, string> = {};
  for (const [name, plaintext] of Object.entries(opts.secrets)) {
    const chain: Op[] = [{ field: "setSecret", args: { name, plaintext } }];
    secretChains.set(name, chain);
    ids[name] = engine.idFor(chain);
  }
  call.inputArgs = opts.call.inputArgs(ids);
  const parent = opts.call.parent;
  if (parent) call.parent = typeof parent === "function" ? parent(ids) : parent;
  try {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(ROOT, "test/support/entrypoint-child.ts"), ...moduleFiles(), clientGenFile()],
      { cwd: ROOT, env: { ...process.env, ...opts.env, ...engine.env(), OTEL_SDK_DISABLED: "true" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exitCode = await new Promise<number | null>((res) => child.on("close", res));
    return { engine, exitCode, output, ...engine.returned() };
  } finally {
    await engine.stop();
  }
}
