/**
 * A real S3 server for the model store's S3 tests: versitygw (scripts/setup-versitygw.sh builds
 * it into .tools/bin) with its posix backend over a temp directory, on 127.0.0.1 and a free port,
 * one root account whose keys are made up per start. Started per test file, killed when the test
 * process exits (server-process.ts). Where it differs from Amazon S3, the test that meets it says so.
 */
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "./azurite.js";
import { tiedToTestProcess } from "./server-process.js";
import { RawS3Credentials, signedS3Request } from "./sigv4.js";

const ROOT = resolve(import.meta.dirname, "../..");
export const VERSITYGW = process.env.VERSITYGW_BIN ?? join(ROOT, ".tools/bin/versitygw");
export const S3_REGION = "eu-west-1";

export interface S3Server {
  host: string;
  port: number;
  /** http://127.0.0.1:PORT: the endpoint, used path-style (buckets are the first path segment). */
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  credentials: RawS3Credentials;
  /** A signed request as it is, for arranging and inspecting state the way a raw client sees it. */
  raw(method: string, path: string, headers?: Record<string, string>, body?: Buffer | string): ReturnType<typeof signedS3Request>;
  output(): string;
  stop(): Promise<void>;
}

/** `host`: 127.0.0.1, or the host end of the engine harness's veth for the real-engine checks. */
export async function startS3Server(host = "127.0.0.1"): Promise<S3Server> {
  if (!existsSync(VERSITYGW)) {
    throw new Error(`${VERSITYGW} is missing: run sh scripts/setup-versitygw.sh (npm install does it; it needs Go)`);
  }
  const dir = mkdtempSync(join(tmpdir(), "s3-server-"));
  const data = join(dir, "data");
  mkdirSync(data);
  const port = await freePort();
  const credentials: RawS3Credentials = {
    accessKeyId: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
    secretAccessKey: randomBytes(30).toString("base64"),
    region: S3_REGION,
  };
  // Keys through the environment (versitygw reads ROOT_ACCESS_KEY_ID / ROOT_SECRET_ACCESS_KEY), never argv.
  // --keep-alive: AWS keeps connections open between requests, and so the SDK's agent reuses them.
  const child = spawn(VERSITYGW, ["--region", S3_REGION, "--port", `${host}:${port}`, "--keep-alive", "--quiet", "posix", data], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ROOT_ACCESS_KEY_ID: credentials.accessKeyId, ROOT_SECRET_ACCESS_KEY: credentials.secretAccessKey },
  });
  const tied = tiedToTestProcess(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const endpoint = `http://${host}:${port}`;
  const raw = (method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string) =>
    signedS3Request(credentials, method, `${endpoint}${path}`, headers, body);
  await waitUntilServing(child, raw, () => out);
  return {
    host,
    port,
    endpoint,
    region: S3_REGION,
    accessKeyId: credentials.accessKeyId,
    secretAccessKey: credentials.secretAccessKey,
    credentials,
    raw,
    output: () => out,
    async stop() {
      tied.release();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once("exit", r));
        child.kill("SIGTERM");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitUntilServing(child: ChildProcess, raw: S3Server["raw"], output: () => string): Promise<void> {
  // A hang guard, not a measurement: a loaded 2-core machine starts it in well under a second.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`versitygw exited with ${child.exitCode}:\n${output()}`);
    const answer = await raw("GET", "/").catch(() => undefined);
    if (answer?.status === 200) return;
    if (Date.now() > deadline) throw new Error(`versitygw did not answer in 60 s (last: ${answer?.status ?? "no answer"}):\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
