/**
 * A real Azurite Blob service from node_modules, on 127.0.0.1, a free port and a temp dir,
 * started per test file and stopped after. Optionally HTTPS with a throwaway self-signed
 * certificate (made with the machine's openssl) and Azurite's OAuth mode.
 */
import type { TlsFiles } from "./tls.js";
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BlobServiceClient, StorageSharedKeyCredential } from "./azure.js";
import { AZURITE_ACCOUNT, AZURITE_KEY } from "../../dagger/src/model-store/azurite-dev.js";
import { tiedToTestProcess } from "./server-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const AZURITE_MAIN = join(ROOT, "node_modules/azurite/dist/src/blob/main.js");
/** Keeps Azurite's idle connections open (see the file for why a preload). */
const PATIENT_PRELOAD = join(ROOT, "test/support/azurite-patient.mjs");

export interface AzuriteOptions {
  /** Serve HTTPS with this certificate (see selfSignedCert). */
  tls?: TlsFiles;
  /** Azurite's `--oauth basic`: accepts in-date bearer tokens for https://storage.azure.com (HTTPS only). */
  oauth?: boolean;
}

export interface Azurite {
  host: string;
  port: number;
  /** Path-style account URL, e.g. http://127.0.0.1:41234/devstoreaccount1. */
  accountUrl: string;
  account: string;
  key: string;
  connectionString: string;
  /** An admin client (shared key) for arranging and inspecting test state. */
  admin: BlobServiceClient;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

export async function startAzurite(opts: AzuriteOptions = {}): Promise<Azurite> {
  const location = mkdtempSync(join(tmpdir(), "azurite-"));
  const port = await freePort();
  const args = [
    "--import",
    PATIENT_PRELOAD,
    AZURITE_MAIN,
    "--blobHost",
    "127.0.0.1",
    "--blobPort",
    String(port),
    "--location",
    location,
    "--silent",
    "--skipApiVersionCheck",
    "--loose",
    "--disableTelemetry",
    ...(opts.tls ? ["--cert", opts.tls.cert, "--key", opts.tls.key] : []),
    ...(opts.oauth ? ["--oauth", "basic"] : []),
  ];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  // A test process that crashes, exits early or forgets to stop it must not leave Azurite running.
  const tied = tiedToTestProcess(child);
  await waitForListening(child);
  const scheme = opts.tls ? "https" : "http";
  const accountUrl = `${scheme}://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;
  return {
    host: "127.0.0.1",
    port,
    accountUrl,
    account: AZURITE_ACCOUNT,
    key: AZURITE_KEY,
    connectionString: `DefaultEndpointsProtocol=${scheme};AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${accountUrl};`,
    admin: new BlobServiceClient(accountUrl, new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY), {
      retryOptions: { maxTries: 1 },
    }),
    async stop() {
      tied.release();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(location, { recursive: true, force: true });
    },
  };
}

function waitForListening(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    let output = "";
    // A hang guard, not a measurement: a loaded 2-core machine starts Azurite in seconds, not 60.
    const timer = setTimeout(() => rej(new Error(`azurite did not start in 60 s:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/successfully listens on/.test(output)) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stdout!.resume();
        child.stderr!.resume();
        res();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`azurite exited with ${code}:\n${output}`));
    });
  });
}
