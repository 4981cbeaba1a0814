/** A token service that behaves like ACR's documented /oauth2/exchange and /oauth2/token, and registry tokens it signs. */
import { execFileSync } from "node:child_process";
import { createSign, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "./registry.js";
import { basicAuth } from "./oci-push.js";
import { closePatient, patient } from "./patient-server.js";

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
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      keyPath,
      "-out",
      certPath,
      "-days",
      "2",
      "-subj",
      "/CN=fake-acr-token-issuer",
    ],
    { stdio: "ignore" },
  );
  const certPem = readFileSync(certPath, "utf8");
  const x5c = certPem.replace(/-----(BEGIN|END) CERTIFICATE-----|\s/g, "");
  return { keyPem: readFileSync(keyPath, "utf8"), certPem, certPath, x5c };
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString("base64url");

/** A JWT the registry's token auth accepts (RS256, x5c chain, distribution's access claim). */
export function signRegistryToken(
  key: SigningKey,
  claims: {
    issuer: string;
    service: string;
    subject: string;
    access: { type: string; name: string; actions: string[] }[];
    ttlSeconds?: number;
  },
): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: "JWT", alg: "RS256", x5c: [key.x5c] };
  const payload = {
    iss: claims.issuer,
    sub: claims.subject,
    aud: claims.service,
    iat: now - 5,
    nbf: now - 5,
    exp: now + (claims.ttlSeconds ?? 300),
    jti: randomBytes(8).toString("hex"),
    access: claims.access,
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
 *  - /v2/<repo>/tags/list and /v2/<repo>/manifests/<ref> -> that challenge, then with a token 404
 *    NAME_UNKNOWN / MANIFEST_UNKNOWN: a repository nothing was pushed to yet
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

  const server: Server = patient(
    createServer((req, res) => {
      void handle(req, res).catch((e: Error) => json(res, 500, { errors: [{ code: "INTERNAL", message: e.message }] }));
    }),
  );

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const u = new URL(req.url ?? "/", url);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const form = req.method === "POST" ? Object.fromEntries(new URLSearchParams(text)) : Object.fromEntries(u.searchParams);
    const entry: AcrRequest = {
      method: req.method ?? "",
      path: u.pathname,
      form,
      ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
    };
    requests.push(entry);
    opts.onRequest?.(entry);
    const unauthorized = (message: string) => json(res, 401, { errors: [{ code: "UNAUTHORIZED", message }] });

    if (u.pathname === "/v2/" && req.method === "GET") {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="${url}/oauth2/token",service="${service}"`,
        "content-type": "application/json",
      });
      return res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
    }
    if (u.pathname === "/oauth2/exchange" && req.method === "POST") {
      if (req.headers["content-type"] !== "application/x-www-form-urlencoded")
        return json(res, 400, { error: "invalid_request", error_description: "form expected" });
      if (form.grant_type !== "access_token") return json(res, 400, { error: "unsupported_grant_type" });
      if (form.service !== service)
        return json(res, 400, { error: "invalid_request", error_description: `unknown service ${form.service}` });
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
        if (!admin || req.headers.authorization !== basicAuth(admin.username, admin.password))
          return unauthorized("invalid username or password");
        subject = admin.username;
      }
      if (form.service !== service)
        return json(res, 400, { error: "invalid_request", error_description: `unknown service ${form.service}` });
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
    // A repository nothing was pushed to yet, as ACR answers for it: a token first, then NAME_UNKNOWN / MANIFEST_UNKNOWN.
    const repositoryPath = /^\/v2\/(.+)\/(tags\/list|manifests\/[^/]+)$/.exec(u.pathname);
    if (repositoryPath) {
      if (!req.headers.authorization?.startsWith("Bearer ")) {
        const scope = `repository:${repositoryPath[1]}:pull`;
        res.writeHead(401, {
          "www-authenticate": `Bearer realm="${url}/oauth2/token",service="${service}",scope="${scope}"`,
          "content-type": "application/json",
        });
        return res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      }
      const code = repositoryPath[2] === "tags/list" ? "NAME_UNKNOWN" : "MANIFEST_UNKNOWN";
      return json(res, 404, { errors: [{ code, message: `repository ${repositoryPath[1]} not found` }] });
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
      await closePatient(server);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
