/**
 * cosign v2 in a container: sign an image by digest, attach signed attestations (SLSA provenance,
 * the CycloneDX SBOM) and verify them, in cosign's own OCI layout in the registry
 * (`sha256-<digest>.sig` / `.att` tags beside the image; ACR stores them as OCI artifacts).
 *
 * Secrets stay secrets: the private key is a secret file mount, its password a secret variable
 * (cosign reads COSIGN_PASSWORD), and the registry login a secret docker config.json mount (the
 * default keychain cosign reads through DOCKER_CONFIG). No transparency log is reachable from
 * where this runs, so signatures are not uploaded to Rekor (`--tlog-upload=false`) and
 * verification ignores the log (`--insecure-ignore-tlog`); keyless signing needs both (docs).
 */
import { Container, dag, File, Secret } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";

export const COSIGN_DIR = "/cosign";
/** Secret file mount of the private key (read-only, engine tmpfs, only while an exec runs). */
export const SIGNING_KEY_PATH = "/run/secrets/cosign.key";
export const PUBLIC_KEY_PATH = `${COSIGN_DIR}/cosign.pub`;
export const DOCKER_CONFIG_DIR = `${COSIGN_DIR}/docker`;
export const PREDICATE_DIR = `${COSIGN_DIR}/predicates`;

/** A registry sign-in for cosign: the user and the Secret holding the password or token. */
export interface CosignLogin {
  registry: string;
  username: string;
  secret: Secret;
}

/** Attestation kinds this pipeline writes, by cosign's `--type` name. */
export type AttestationType = "slsaprovenance1" | "cyclonedx";

const DIGEST_REF = /^[^@\s]+@sha256:[0-9a-f]{64}$/;

function requireDigestRef(ref: string): string {
  if (!DIGEST_REF.test(ref))
    throw new Error(`cosign works on images by digest only: ${JSON.stringify(ref)} is not registry/repository@sha256:<digest>`);
  return ref;
}

/** Flags for a registry reached over plain HTTP (the embedded default's registry service only). */
function registryFlags(plainHttp: boolean): string[] {
  return plainHttp ? ["--allow-http-registry", "--allow-insecure-registry"] : [];
}

export function signArgs(ref: string, plainHttp = false): string[] {
  return ["cosign", "sign", "--yes", "--key", SIGNING_KEY_PATH, "--tlog-upload=false", ...registryFlags(plainHttp), requireDigestRef(ref)];
}

export function attestArgs(ref: string, type: AttestationType, predicate: string, plainHttp = false): string[] {
  return [
    "cosign",
    "attest",
    "--yes",
    "--key",
    SIGNING_KEY_PATH,
    "--tlog-upload=false",
    "--type",
    type,
    "--predicate",
    predicate,
    ...registryFlags(plainHttp),
    requireDigestRef(ref),
  ];
}

export function verifyArgs(ref: string, plainHttp = false): string[] {
  return [
    "cosign",
    "verify",
    "--key",
    PUBLIC_KEY_PATH,
    "--insecure-ignore-tlog=true",
    "--output",
    "json",
    ...registryFlags(plainHttp),
    requireDigestRef(ref),
  ];
}

export function verifyAttestationArgs(ref: string, type: AttestationType, plainHttp = false): string[] {
  return [
    "cosign",
    "verify-attestation",
    "--key",
    PUBLIC_KEY_PATH,
    "--insecure-ignore-tlog=true",
    "--type",
    type,
    ...registryFlags(plainHttp),
    requireDigestRef(ref),
  ];
}

/** `{"auths": {registry: {auth: base64(user:secret)}}}`: the docker config cosign's keychain reads. */
export function dockerConfigJson(registry: string, username: string, password: string): string {
  return JSON.stringify({ auths: { [registry]: { auth: Buffer.from(`${username}:${password}`).toString("base64") } } });
}

/**
 * The cosign image with a registry login (if any) as a secret config.json. The config's value is
 * put together in module memory from the login's Secret and handed to the engine as one Secret.
 */
export async function cosignContainer(login?: CosignLogin): Promise<Container> {
  const base = dag
    .container()
    .from(IMAGES.cosign)
    // root reads the key's secret mount (0400, root-owned); the official image runs as nonroot.
    .withUser("0:0")
    .withDirectory(PREDICATE_DIR, dag.directory())
    .withEnvVariable("DOCKER_CONFIG", DOCKER_CONFIG_DIR)
    // cosign would otherwise look for a TUF root and a signing config under $HOME/.sigstore.
    .withEnvVariable("HOME", COSIGN_DIR)
    .withEnvVariable("COSIGN_YES", "true");
  if (!login) return base;
  const config = dag.setSecret(
    `cosign-docker-config-${login.registry}-${login.username}`,
    dockerConfigJson(login.registry, login.username, (await login.secret.plaintext()).trim()),
  );
  return base.withMountedSecret(`${DOCKER_CONFIG_DIR}/config.json`, config);
}

/** The container ready to sign: key as a secret file, password (or none) as cosign expects it. */
export function withSigningKey(ctr: Container, key: Secret, password?: Secret): Container {
  const keyed = ctr.withMountedSecret(SIGNING_KEY_PATH, key);
  // cosign prompts for a password when COSIGN_PASSWORD is unset; an unencrypted key has an empty one.
  return password ? keyed.withSecretVariable("COSIGN_PASSWORD", password) : keyed.withEnvVariable("COSIGN_PASSWORD", "");
}

export function withPublicKey(ctr: Container, publicKey: File): Container {
  return ctr.withFile(PUBLIC_KEY_PATH, publicKey);
}

/**
 * cosign's error output, as one line for a refusal: the `Error:` line it ends with, without the
 * Go-style wrapping noise, at most 300 characters. Falls back to the last non-empty line.
 */
export function cosignErrorLine(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("WARNING"));
  const error = [...lines].reverse().find((l) => l.startsWith("Error:"));
  const line = (error ?? lines[lines.length - 1] ?? "no output").replace(/^Error:\s*/, "");
  return line.length > 300 ? `${line.slice(0, 297)}...` : line;
}

/** Every in-toto statement in `cosign verify-attestation`'s output (one DSSE envelope per line). */
export function attestationStatements(stdout: string): unknown[] {
  const statements: unknown[] = [];
  for (const line of stdout.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    let envelope: { payload?: unknown };
    try {
      envelope = JSON.parse(t) as { payload?: unknown };
    } catch {
      continue;
    }
    if (typeof envelope.payload !== "string") continue;
    try {
      statements.push(JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8")));
    } catch {
      // not a JSON payload: not a statement this pipeline wrote
    }
  }
  return statements;
}

/** The manifest digests `cosign verify --output json` says its verified signatures cover. */
export function signedDigests(stdout: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout.trim() || "[]");
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed
    .map((s) => (s as { critical?: { image?: { "docker-manifest-digest"?: unknown } } })?.critical?.image?.["docker-manifest-digest"])
    .filter((d): d is string => typeof d === "string");
}
