/**
 * The CLI's --signing-key and --public-key: model/sign_model.py (the OpenSSF model-signing
 * library is Python) run from this repository's virtualenv, which `npm install` prepares
 * (scripts/setup-python.sh). In Dagger the same script runs in its own Python container instead
 * (signing.ts), so the store's Node container never needs Python.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { StoreError } from "./errors.js";
import { SIGNATURE_NAME } from "./manifest.js";

export const SIGNING_PYTHON_ENV = "MODEL_SIGNING_PYTHON";
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const SCRIPT = join(REPO, "model", "sign_model.py");

function python(env: NodeJS.ProcessEnv): string {
  const venv = join(REPO, ".venv", "bin", "python");
  return env[SIGNING_PYTHON_ENV] || (existsSync(venv) ? venv : "python3");
}

/**
 * What sign_model.py gets of the environment: enough to run Python, nothing else. The CLI's own
 * environment may hold AZURE_* secrets (client secret, SAS, connection string) that the signer
 * never needs.
 */
const PASSED_TO_SIGNER = /^(PATH|HOME|LANG|LC_[A-Z]+|TZ|TMPDIR|PYTHONIOENCODING|PYTHONUTF8)$/;

export function signerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([k, v]) => v !== undefined && PASSED_TO_SIGNER.test(k)));
}

/** Runs sign_model.py; its "error:" line becomes a StoreError. */
function run(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  if (!existsSync(SCRIPT)) {
    throw new StoreError(
      `signing needs ${SCRIPT} and the model-signing package: run the command from a clone of this repository after npm install`,
    );
  }
  return new Promise((ok, fail) =>
    execFile(
      python(env),
      [SCRIPT, ...args],
      { timeout: 10 * 60_000, maxBuffer: 1024 * 1024, env: signerEnv(env) },
      (error, stdout, stderr) => {
        if (!error) return ok(stdout);
        const line = stderr.split("\n").find((l) => l.startsWith("error: "));
        fail(
          new StoreError(
            line
              ? line.slice("error: ".length)
              : `model signing failed (${python(env)} ${SCRIPT}): ${stderr.trim().split("\n").at(-1) ?? error.message}`,
          ),
        );
      },
    ),
  );
}

/** The signature of `dir` made with `privateKey` (a PEM file), without writing into `dir`. */
export async function signDirectory(dir: string, privateKey: string, env: NodeJS.ProcessEnv): Promise<Buffer> {
  const work = await mkdtemp(join(tmpdir(), "model-sign-"));
  try {
    const out = join(work, SIGNATURE_NAME);
    await run(["sign", "--model", dir, "--private-key", privateKey, "--signature", out], env);
    return await readFile(out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A fetch `verify` hook: checks a directory's model.sig with `publicKey` (a PEM file); resolves to the signer. */
export function verifierFor(publicKey: string, env: NodeJS.ProcessEnv): (dir: string) => Promise<string> {
  return async (dir) => {
    const out = await run(["verify", "--model", dir, "--public-key", publicKey], env);
    return (JSON.parse(out) as { signer: string }).signer;
  };
}
