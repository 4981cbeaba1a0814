/**
 * Real-registry harness: Debian's `docker-registry` (distribution 2.8) started on 127.0.0.1
 * with a free port, a temp storage dir and a generated config (open, htpasswd Basic auth, or
 * Bearer token auth against a local ACR-like token service), an independent OCI push written
 * here from the distribution spec, a fault-injecting proxy, and an entrypoint runner whose
 * fake engine knows Secret ids up front.
 */
import { execFileSync, spawn, spawnSync, ChildProcess } from "node:child_process";
import { createHash, createSign, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FakeEngine, FakeEngineOptions, Op } from "./fake-engine.js";
import { clientGenFile, moduleFiles, ROOT } from "./session.js";

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
    const address = `127.0.0.1:${port}`;
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
      lines.push("auth:", "  token:", `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.certPath}`);
    }
    const config = join(dir, "config.yml");
    writeFileSync(config, lines.join("\n") + "\n");
    let output = "";
    const child: ChildProcess = spawn(REGISTRY_BINARY, ["serve", config], { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", r));
    const up = await waitForHttp(`http://${address}/v2/`, exited);
    if (!up) {
      child.kill("SIGKILL");
      await exited;
      lastError = output;
      continue; // most likely the port was taken between freePort() and the bind
    }
    return {
      address,
      url: `http://${address}`,
      dir,
      logs: () => output,
      async stop() {
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

async function waitForHttp(url: string, exited: Promise<unknown>): Promise<boolean> {
  let done = false;
  void exited.then(() => (done = true));
  for (let i = 0; i < 100 && !done; i++) {
    try {
      const res = await fetch(url);
      await res.body?.cancel();
      return true;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return false;
}

// ---- an independent OCI push (distribution spec: monolithic blob upload, manifest PUT) ----

export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayer: "application/vnd.oci.image.layer.v1.tar",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayer: "application/vnd.docker.image.rootfs.diff.tar",
} as const;

const sha256 = (b: Buffer | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface Pusher {
  url: string;
  /** Authorization header value, if the registry needs one. */
  authorization?: string;
}

export async function pushBlob(p: Pusher, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  const headers: Record<string, string> = p.authorization ? { authorization: p.authorization } : {};
  const start = await fetch(`${p.url}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  if (start.status !== 202) throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
  const location = new URL(start.headers.get("location")!, p.url);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: new Uint8Array(data) });
  if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
  return { digest, size: data.length };
}

/** PUTs a manifest; returns the sha256 of its bytes and the digest the registry reported. */
export async function putManifest(p: Pusher, repo: string, ref: string, mediaType: string, body: Buffer): Promise<{ digest: string; reported: string | null }> {
  const headers: Record<string, string> = { "content-type": mediaType, ...(p.authorization ? { authorization: p.authorization } : {}) };
  const res = await fetch(`${p.url}/v2/${repo}/manifests/${ref}`, { method: "PUT", headers, body: new Uint8Array(body) });
  if (res.status !== 201) throw new Error(`manifest PUT ${repo}:${ref}: HTTP ${res.status} ${await res.text()}`);
  return { digest: sha256(body), reported: res.headers.get("docker-content-digest") };
}

/** A one-layer image (OCI or Docker media types); `seed` makes its content unique. */
export async function pushImage(
  p: Pusher,
  repo: string,
  tags: string[],
  opts: { seed?: string; docker?: boolean; platform?: { os: string; architecture: string } } = {},
): Promise<{ digest: string; reported: string | null; size: number; mediaType: string }> {
  const platform = opts.platform ?? { os: "linux", architecture: "amd64" };
  const layer = await pushBlob(p, repo, Buffer.from(`layer ${opts.seed ?? randomBytes(8).toString("hex")}`));
  const config = await pushBlob(p, repo, Buffer.from(JSON.stringify({ ...platform, rootfs: { type: "layers", diff_ids: [layer.digest] }, config: {} })));
  const mediaType = opts.docker ? MEDIA.dockerManifest : MEDIA.ociManifest;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: opts.docker ? MEDIA.dockerConfig : MEDIA.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: opts.docker ? MEDIA.dockerLayer : MEDIA.ociLayer, digest: layer.digest, size: layer.size }],
    }),
  );
  let result = { digest: "", reported: null as string | null };
  for (const tag of tags.length ? tags : [sha256(manifest)]) result = await putManifest(p, repo, tag, mediaType, manifest);
  return { ...result, size: manifest.length, mediaType };
}

/** A two-platform index (OCI image index, or Docker manifest list) under `tags`. */
export async function pushIndex(p: Pusher, repo: string, tags: string[], opts: { docker?: boolean } = {}) {
  const platforms = [{ os: "linux", architecture: "amd64" }, { os: "linux", architecture: "arm64" }];
  const children = [];
  for (const platform of platforms) {
    const child = await pushImage(p, repo, [], { platform, seed: `${repo}-${platform.architecture}-${randomBytes(4).toString("hex")}`, ...(opts.docker ? { docker: true } : {}) });
    children.push({ mediaType: child.mediaType, digest: child.digest, size: child.size, platform });
  }
  const mediaType = opts.docker ? MEDIA.dockerList : MEDIA.ociIndex;
  const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, manifests: children }));
  let result = { digest: "", reported: null as string | null };
  for (const tag of tags) result = await putManifest(p, repo, tag, mediaType, body);
  return { ...result, mediaType, children };
}

export function basicAuth(user: string, password: string): string {
  return "Basic " + Buffer.from(`${user}:${password}`).toString("base64");
}

// ---- a token service that behaves like ACR's /oauth2/exchange and /oauth2/token ----------

export interface SigningKey {
  keyPem: string;
  certPem: string;
  certPath: string;
  /** base64 DER of the certificate, for the JWT x5c header. */
  x5c: string;
}

/** An RSA key and self-signed certificate made with openssl, in `dir`. */
export function makeSigningKey(dir: string): SigningKey {
  requireTool("openssl", "openssl");
  const keyPath = join(dir, "token.key");
  const certPath = join(dir, "token.crt");
  execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath, "-days", "2", "-subj", "/CN=fake-acr-token-issuer"], { stdio: "ignore" });
  const certPem = readFileSync(certPath, "utf8");
  const x5c = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
  return { keyPem: readFileSync(keyPath, "utf8"), certPem, certPath, x5c };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** A JWT the registry's token auth accepts (RS256, x5c chain, distribution's access claim). */
export function signRegistryToken(key: SigningKey, claims: { issuer: string; service: string; subject: string; access: { type: string; name: string; actions: string[] }[]; ttlSeconds?: number }): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "RS256", x5c: [key.x5c] };
  const payload = {
    iss: claims.issuer, sub: claims.subject, aud: claims.service,
    iat: now - 5, nbf: now - 5, exp: now + (claims.ttlSeconds ?? 300),
    jti: randomBytes(8).toString("hex"), access: claims.access,
  };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const sig = createSign("RSA-SHA256").update(input).sign(key.keyPem);
  return `${input}.${b64url(sig)}`;
}

/** A JWT shaped like an Entra ID access token (unsigned: only our fake checks it, by value). */
export function fakeEntraToken(tenant: string): string {
  return `${b64url(JSON.stringify({ typ: "JWT", alg: "none" }))}.${b64url(JSON.stringify({ tid: tenant, aud: "https://management.azure.com/", oid: randomBytes(4).toString("hex") }))}.c2ln`;
}

export interface AcrRequest {
  method: string;
  path: string;
  form?: Record<string, string>;
  authorization?: string;
}

export interface FakeAcrOptions {
  /** The Entra token /oauth2/exchange accepts. */
  entraToken: string;
  tenant: string;
  /** Admin user (Basic auth on GET /oauth2/token, docker's flow). */
  admin?: { username: string; password: string };
  /** Repositories each identity may pull/push; default: every requested repository. */
  allow?: (subject: string, repository: string) => string[];
  /** Called for each request as it arrives (e.g. to note what the engine had recorded by then). */
  onRequest?: (r: AcrRequest) => void;
}

export interface FakeAcr {
  url: string;
  address: string;
  /** Service name registries must use (set before the registry starts). */
  service: string;
  issuer: string;
  key: SigningKey;
  requests: AcrRequest[];
  refreshTokens: string[];
  /** If set, GET /v2/ on this server answers like an ACR login server (Bearer challenge). */
  setRegistryService(service: string): void;
  stop(): Promise<void>;
}

/**
 * An HTTP server that does what ACR documents for its token endpoints:
 *  - POST /oauth2/exchange (grant_type=access_token, service, tenant, access_token) -> {refresh_token}
 *  - POST /oauth2/token (grant_type=refresh_token, service, scope, refresh_token) -> {access_token}
 *  - GET /oauth2/token?service&scope with Basic admin credentials -> {access_token}
 *  - GET /v2/ -> 401 with ACR's Bearer challenge, as the login server answers it
 * Access tokens are JWTs a real docker-registry (token auth) verifies.
 */
export async function startFakeAcr(opts: FakeAcrOptions): Promise<FakeAcr> {
  const dir = mkdtempSync(join(tmpdir(), "fake-acr-"));
  const key = makeSigningKey(dir);
  const issuer = "fake-acr";
  const requests: AcrRequest[] = [];
  const refreshTokens: string[] = [];
  let service = "";
  let url = "";
  const allow = opts.allow ?? (() => ["pull", "push"]);

  const server: Server = createServer((req, res) => {
    void handle(req, res).catch((e: Error) => json(res, 500, { errors: [{ code: "INTERNAL", message: e.message }] }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const form = req.method === "POST" ? Object.fromEntries(new URLSearchParams(text)) : Object.fromEntries(u.searchParams);
    const entry: AcrRequest = { method: req.method ?? "", path: u.pathname, form, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) };
    requests.push(entry);
    opts.onRequest?.(entry);
    const unauthorized = (message: string) => json(res, 401, { errors: [{ code: "UNAUTHORIZED", message }] });

    if (u.pathname === "/v2/" && req.method === "GET") {
      res.writeHead(401, { "www-authenticate": `Bearer realm="${url}/oauth2/token",service="${service}"`, "content-type": "application/json" });
      return res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
    }
    if (u.pathname === "/oauth2/exchange" && req.method === "POST") {
      if (req.headers["content-type"] !== "application/x-www-form-urlencoded") return json(res, 400, { error: "invalid_request", error_description: "form expected" });
      if (form.grant_type !== "access_token") return json(res, 400, { error: "unsupported_grant_type" });
      if (form.service !== service) return json(res, 400, { error: "invalid_request", error_description: `unknown service ${form.service}` });
      if (form.tenant !== undefined && form.tenant !== opts.tenant) return unauthorized("token for another tenant");
      if (form.access_token !== opts.entraToken) return unauthorized("invalid Entra ID token");
      const refresh = `acr-refresh.${randomBytes(24).toString("base64url")}`;
      refreshTokens.push(refresh);
      return json(res, 200, { refresh_token: refresh });
    }
    if (u.pathname === "/oauth2/token") {
      let subject: string;
      if (req.method === "POST") {
        if (form.grant_type !== "refresh_token") return json(res, 400, { error: "unsupported_grant_type" });
        if (!form.refresh_token || !refreshTokens.includes(form.refresh_token)) return unauthorized("invalid refresh token");
        subject = "entra-identity";
      } else {
        const admin = opts.admin;
        if (!admin || req.headers.authorization !== basicAuth(admin.username, admin.password)) return unauthorized("invalid username or password");
        subject = admin.username;
      }
      if (form.service !== service) return json(res, 400, { error: "invalid_request", error_description: `unknown service ${form.service}` });
      const access = (form.scope ?? "")
        .split(" ")
        .filter(Boolean)
        .map((s) => {
          const [type, name, actions] = s.split(":") as [string, string, string];
          const granted = allow(subject, name).filter((a) => actions.split(",").includes(a));
          return { type, name, actions: granted };
        });
      return json(res, 200, { access_token: signRegistryToken(key, { issuer, service, subject, access }) });
    }
    json(res, 404, { errors: [{ code: "NOT_FOUND", message: u.pathname }] });
  }

  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  url = `http://127.0.0.1:${port}`;
  return {
    url,
    address: `127.0.0.1:${port}`,
    get service() {
      return service;
    },
    issuer,
    key,
    requests,
    refreshTokens,
    setRegistryService(s: string) {
      service = s;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

// ---- fault injection -------------------------------------------------------------------

/**
 * A proxy in front of `target` that answers the first requests with the statuses in `faults`
 * (e.g. [429, 503]) and forwards everything after that. `seen` counts requests received.
 */
export async function startFaultProxy(target: string, faults: number[], retryAfter?: string) {
  const plan = [...faults];
  let seen = 0;
  const server = createServer((req, res) => {
    seen++;
    const fault = plan.shift();
    if (fault !== undefined) {
      res.writeHead(fault, { "content-type": "application/json", ...(retryAfter ? { "retry-after": retryAfter } : {}) });
      return res.end(JSON.stringify({ errors: [{ code: "TOOMANYREQUESTS", message: "injected" }] }));
    }
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !["host", "connection", "content-length"].includes(k))) as Record<string, string>;
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      const up = await fetch(target + (req.url ?? "/"), { method: req.method ?? "GET", headers, ...(body ? { body: new Uint8Array(body) } : {}), redirect: "manual" });
      const out: Record<string, string> = {};
      up.headers.forEach((v, k) => {
        if (!["content-encoding", "transfer-encoding", "connection"].includes(k)) out[k] = v;
      });
      res.writeHead(up.status, out);
      res.end(Buffer.from(await up.arrayBuffer()));
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    get seen() {
      return seen;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---- the SDK entrypoint with Secret arguments -----------------------------------------

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

// ---- scripted servers (redirects, hostile token endpoints) --------------------------------

/** One request as a scripted server received it. */
export interface SeenRequest {
  method: string;
  /** Path and query. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface ScriptedServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  address: string;
  port: number;
  /** Everything received, in order. */
  requests: SeenRequest[];
  stop(): Promise<void>;
}

/**
 * An HTTP server on a free 127.0.0.1 port that records every request (headers and body) and
 * answers it with `answer` (e.g. a 401 challenge, a 307 elsewhere, a token).
 */
export async function startScriptedServer(answer: (req: SeenRequest, res: ServerResponse, self: ScriptedServer) => void): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const self = { requests } as ScriptedServer;
  const server = createServer((req, res) => {
    void (async () => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const seen: SeenRequest = { method: req.method ?? "", url: req.url ?? "/", headers: { ...req.headers }, body: Buffer.concat(chunks).toString("utf8") };
      requests.push(seen);
      answer(seen, res, self);
    })().catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  Object.assign(self, {
    url: `http://127.0.0.1:${port}`,
    address: `127.0.0.1:${port}`,
    port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  });
  return self;
}

/** Answers with a status, headers and an optional JSON body. */
export function reply(res: ServerResponse, status: number, headers: Record<string, string> = {}, body?: unknown): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  res.writeHead(status, { ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers, "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}
