/**
 * Real-registry harness: Debian's `docker-registry` (distribution 2.8) started on 127.0.0.1
 * with a free port, a temp storage dir and a generated config (open, htpasswd Basic auth, or
 * Bearer token auth against a local ACR-like token service).
 */
import { execFileSync, spawn, spawnSync, ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { httpsRequest } from "./https-request.js";
import { tiedToTestProcess } from "./server-process.js";

export const REGISTRY_BINARY = process.env.DOCKER_REGISTRY_BIN ?? "/usr/bin/docker-registry";

/** A port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface TokenAuthConfig {
  realm: string;
  service: string;
  issuer: string;
  /** PEM certificate the registry trusts for token signatures. */
  certPath: string;
}

export interface RegistryOptions {
  /** htpasswd users (bcrypt hashes generated with `htpasswd -B`). */
  users?: Record<string, string>;
  token?: TokenAuthConfig;
  /** Address to listen on (default 127.0.0.1): the engine harness's veth address for the real engine. */
  host?: string;
  /** Serve HTTPS with this certificate and key; `ca` (PEM path) is what the readiness probe trusts. */
  tls?: { cert: string; key: string; ca: string };
}

export interface RunningRegistry {
  /** host:port */
  address: string;
  url: string;
  dir: string;
  logs(): string;
  stop(): Promise<void>;
}

/** Starts docker-registry on a free 127.0.0.1 port; resolves once /v2/ answers. */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RunningRegistry> {
  requireTool(REGISTRY_BINARY, "docker-registry");
  if (opts.users) requireTool("htpasswd", "apache2-utils");
  const dir = mkdtempSync(join(tmpdir(), "registry-"));
  let lastError = "";
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const address = `${opts.host ?? "127.0.0.1"}:${port}`;
    const lines = [
      "version: 0.1",
      "log:",
      "  level: warn",
      "  accesslog: {disabled: true}",
      "storage:",
      `  filesystem: {rootdirectory: ${join(dir, "data")}}`,
      "  delete: {enabled: true}",
      "http:",
      `  addr: ${address}`,
      `  secret: ${randomBytes(16).toString("hex")}`,
    ];
    if (opts.tls) lines.push("  tls:", `    certificate: ${opts.tls.cert}`, `    key: ${opts.tls.key}`);
    if (opts.users) {
      const file = join(dir, "htpasswd");
      writeFileSync(
        file,
        Object.entries(opts.users)
          .map(([u, p]) => execFileSync("htpasswd", ["-nbB", u, p], { encoding: "utf8" }).trim())
          .join("\n") + "\n",
      );
      lines.push("auth:", "  htpasswd:", "    realm: test-registry", `    path: ${file}`);
    } else if (opts.token) {
      const t = opts.token;
      lines.push(
        "auth:",
        "  token:",
        `    realm: ${t.realm}`,
        `    service: ${t.service}`,
        `    issuer: ${t.issuer}`,
        `    rootcertbundle: ${t.certPath}`,
      );
    }
    const config = join(dir, "config.yml");
    writeFileSync(config, lines.join("\n") + "\n");
    let output = "";
    const child: ChildProcess = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    const tied = tiedToTestProcess(child);
    const scheme = opts.tls ? "https" : "http";
    const up = await waitForHttp(`${scheme}://${address}/v2/`, exited, opts.tls?.ca);
    if (!up) {
      tied.release();
      child.kill("SIGKILL");
      await exited;
      lastError = output;
      continue; // most likely the port was taken between freePort() and the bind
    }
    return {
      address,
      url: `${scheme}://${address}`,
      dir,
      logs: () => output,
      async stop() {
        tied.release();
        if (child.exitCode === null) {
          child.kill("SIGTERM");
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          if (child.exitCode === null) child.kill("SIGKILL");
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start:\n${lastError}`);
}

/** Fails with the Debian package to install when a tool the harness runs is missing. */
export function requireTool(cmd: string, debianPackage: string): void {
  const found = cmd.startsWith("/") ? existsSync(cmd) : spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
  if (!found) throw new Error(`${cmd} is not installed: apt-get install -y ${debianPackage} (.ci/run installs it)`);
}

async function waitForHttp(url: string, exited: Promise<unknown>, ca?: string): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  // A hang guard, not a measurement: 30 s holds on a loaded machine (it was 100 tries, about 5 s).
  const deadline = Date.now() + 30_000;
  while (!done && Date.now() < deadline) {
    try {
      if (ca) {
        await httpsRequest(url, { ca });
      } else {
        const res = await fetch(url);
        await res.body?.cancel();
      }
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}
