/**
 * Signed models inside Dagger: model/sign_model.py (the OpenSSF model-signing library) in the
 * pinned Python container, the same script the store's command runs from the virtualenv
 * (local-signing.ts). Signing happens here and only here: the store's Node container never gets
 * the private key (it receives the directory with model.sig already in it and uploads that, so
 * nothing is signed twice), and verification happens before anything is built from a model.
 *
 * The private key enters as a secret file mount (withMountedSecret: a read-only file on an
 * engine-side tmpfs, there only while an exec runs; never a layer, never an argument or
 * environment value); the public key is not secret and comes as a File. Both paths lie outside
 * the model directory that is handed on.
 */
import { Container, Directory, File, Secret } from "@dagger.io/dagger";
import { execErrorStderr } from "../shared/runtime-compat.js";
import { pythonWithPipCache, withRequirements } from "../shared/python.js";

/** The pinned library and its dependencies (model/requirements-signing.txt), installed before the script is copied. */
export const SIGNING_REQUIREMENTS = "requirements-signing.txt";
export const SIGN_SCRIPT = "/opt/model-signing/sign_model.py";
/** The model directory being signed or verified; what the step hands on. */
export const SIGNING_DIR = "/signing/model";
/** Secret file mount of the private key: root-owned, mode 0400 (the engine's default), and the container runs as root. */
export const SIGNING_KEY_PATH = "/run/secrets/model-signing.key";
export const PUBLIC_KEY_PATH = "/signing/model-signing.pub";

const SIGNER = /^key sha256:[0-9a-f]{64}$/;

/** Python with the model-signing library (a cached layer), then sign_model.py from the repository's model/. */
export function signingContainer(source: Directory): Container {
  const model = source.directory("model");
  return withRequirements(pythonWithPipCache(), model, [SIGNING_REQUIREMENTS]).withFile(SIGN_SCRIPT, model.file("sign_model.py"));
}

/** `model` with model.sig written into it by `key` (an EC private key in PEM); fails with the script's own line. */
export async function signModelDirectory(source: Directory, model: Directory, key: Secret): Promise<Directory> {
  const signed = signingContainer(source)
    .withDirectory(SIGNING_DIR, model)
    .withMountedSecret(SIGNING_KEY_PATH, key)
    .withExec(["python", SIGN_SCRIPT, "sign", "--model", SIGNING_DIR, "--private-key", SIGNING_KEY_PATH]);
  try {
    await signed.stdout(); // fail here, in the script's words, not later as a store upload error
  } catch (e) {
    throw explainSigningFailure(e, "signing");
  }
  return signed.directory(SIGNING_DIR);
}

export interface VerifiedModel {
  /** The model directory as it was verified: build from this one, so a refusal stops the build. */
  directory: Directory;
  /** Who signed it, e.g. "key sha256:<fingerprint of the public key>". */
  signer: string;
}

/**
 * Checks `model` against its model.sig with `publicKey`: a missing signature, another key, or a
 * file changed, added or removed is refused. `what` names the model in the error.
 */
export async function verifyModelSignature(source: Directory, model: Directory, publicKey: File, what: string): Promise<VerifiedModel> {
  const verified = signingContainer(source)
    .withDirectory(SIGNING_DIR, model)
    .withFile(PUBLIC_KEY_PATH, publicKey)
    .withExec(["python", SIGN_SCRIPT, "verify", "--model", SIGNING_DIR, "--public-key", PUBLIC_KEY_PATH]);
  let stdout: string;
  try {
    stdout = await verified.stdout();
  } catch (e) {
    throw explainSigningFailure(e, `verification of ${what}`);
  }
  return { directory: verified.directory(SIGNING_DIR), signer: parseSigner(stdout) };
}

/** The model as given when no public key asks for verification; verified (and its signer known) when one does. */
export async function withVerifiedSignature(
  source: Directory,
  model: Directory,
  publicKey: File | undefined,
  what: string,
): Promise<{ directory: Directory; signer?: string }> {
  return publicKey ? verifyModelSignature(source, model, publicKey, what) : { directory: model };
}

/** sign_model.py verify's `{"signer": "key sha256:<hex>"}`, checked (it becomes an image label). */
export function parseSigner(stdout: string): string {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  let signer: unknown;
  try {
    signer = (JSON.parse(line) as { signer?: unknown }).signer;
  } catch {
    signer = undefined;
  }
  if (typeof signer !== "string" || !SIGNER.test(signer)) {
    throw new Error(`model signature verification: unexpected output from sign_model.py ${JSON.stringify(line.slice(0, 200))}`);
  }
  return signer;
}

/** sign_model.py's "error:" line instead of a generic exec failure. */
export function explainSigningFailure(e: unknown, what: string): Error {
  const stderr = execErrorStderr(e);
  if (stderr === undefined) return e as Error;
  const lines = stderr.trim().split("\n");
  const line = lines.find((l) => l.startsWith("error: "));
  const message = line ? line.slice("error: ".length) : lines.slice(-10).join("\n");
  return new Error(`model signature: ${what} refused: ${message}`);
}
