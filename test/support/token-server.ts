/**
 * A stand-in for the identity endpoints @azure/identity talks to, over HTTPS with the test
 * certificate: Entra ID's OpenID metadata and token endpoint (client secret and client
 * assertion grants), Azure Pipelines' OIDC token endpoint, and an App Service-style managed
 * identity endpoint. It checks the credential each one receives and mints short-lived JWTs
 * that Azurite's `--oauth basic` accepts (issuer https://sts.windows.net/<tenant>/, audience
 * https://storage.azure.com). Signatures are fake: Azurite does not check them.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, Server } from "node:https";
import { readFileSync } from "node:fs";
import type { TlsFiles } from "./tls.js";
import { closePatient, patient } from "./patient-server.js";

export interface TokenServerExpectations {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The federated token a client assertion must carry. */
  federatedToken: string;
  systemAccessToken: string;
  serviceConnectionId: string;
  /** The header value an App Service managed identity request must carry. */
  identityHeader: string;
}

export class TokenServer {
  private server?: Server;
  port = 0;
  /** What was asked, for assertions: e.g. "token:client_secret", "oidc", "msi". */
  readonly requests: string[] = [];

  constructor(
    private tls: TlsFiles,
    readonly expect: TokenServerExpectations,
  ) {}

  get authorityHost(): string {
    return `https://127.0.0.1:${this.port}`;
  }
  get oidcRequestUri(): string {
    return `${this.authorityHost}/pipelines/oidctoken`;
  }
  get identityEndpoint(): string {
    return `${this.authorityHost}/msi/token`;
  }

  async start(): Promise<this> {
    this.server = createServer({ cert: readFileSync(this.tls.cert), key: readFileSync(this.tls.key) }, (req, res) => {
      void this.handle(req, res).catch((e: Error) => send(res, 500, { error: "server_error", error_description: e.message }));
    });
    patient(this.server);
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    await closePatient(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.authorityHost);
    const body = await readBody(req);
    const { tenantId } = this.expect;
    if (req.method === "GET" && url.pathname === `/${tenantId}/v2.0/.well-known/openid-configuration`) {
      this.requests.push("metadata");
      const base = `${this.authorityHost}/${tenantId}`;
      return send(res, 200, {
        issuer: `${base}/v2.0`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        token_endpoint: `${base}/oauth2/v2.0/token`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ["code", "token"],
        subject_types_supported: ["pairwise"],
        id_token_signing_alg_values_supported: ["RS256"],
      });
    }
    if (req.method === "POST" && url.pathname === `/${tenantId}/oauth2/v2.0/token`) {
      const form = new URLSearchParams(body);
      if (form.get("client_id") !== this.expect.clientId) return send(res, 400, aadError("AADSTS700016: Application not found"));
      if (!form.get("scope")?.startsWith("https://storage.azure.com/")) return send(res, 400, aadError("AADSTS70011: invalid scope"));
      if (form.has("client_secret")) {
        this.requests.push("token:client_secret");
        if (form.get("client_secret") !== this.expect.clientSecret) {
          return send(res, 401, aadError("AADSTS7000215: Invalid client secret provided."));
        }
      } else if (form.has("client_assertion")) {
        this.requests.push("token:client_assertion");
        if (form.get("client_assertion") !== this.expect.federatedToken) {
          return send(res, 401, aadError("AADSTS700211: No matching federated identity record found for presented assertion issuer."));
        }
      } else {
        return send(res, 400, aadError("AADSTS7000218: The request body must contain client_assertion or client_secret."));
      }
      return send(res, 200, { token_type: "Bearer", expires_in: 3599, ext_expires_in: 3599, access_token: storageJwt(tenantId) });
    }
    if (req.method === "POST" && url.pathname === "/pipelines/oidctoken") {
      this.requests.push("oidc");
      if (req.headers.authorization !== `Bearer ${this.expect.systemAccessToken}`)
        return send(res, 401, { message: "TF400813: not authorized" });
      if (url.searchParams.get("serviceConnectionId") !== this.expect.serviceConnectionId)
        return send(res, 404, { message: "service connection not found" });
      return send(res, 200, { oidcToken: this.expect.federatedToken });
    }
    if (req.method === "GET" && url.pathname === "/msi/token") {
      this.requests.push("msi");
      if (req.headers["x-identity-header"] !== this.expect.identityHeader) return send(res, 401, { error: "invalid identity header" });
      const expiresOn = Math.floor(Date.now() / 1000) + 3600;
      return send(res, 200, {
        access_token: storageJwt(tenantId),
        expires_on: String(expiresOn),
        resource: url.searchParams.get("resource") ?? "https://storage.azure.com",
        token_type: "Bearer",
        client_id: this.expect.clientId,
      });
    }
    send(res, 404, { error: "not_found", error_description: `${req.method} ${url.pathname}` });
  }
}

/** An in-date token as Entra would issue it for Blob Storage (fake signature). */
export function storageJwt(tenantId: string, lifetimeSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000);
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return [
    b64({ typ: "JWT", alg: "RS256", kid: "test" }),
    b64({
      aud: "https://storage.azure.com",
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now - 60,
      nbf: now - 60,
      exp: now + lifetimeSeconds,
      tid: tenantId,
      oid: "00000000-0000-0000-0000-00000000b10b",
    }),
    Buffer.from("not-a-real-signature").toString("base64url"),
  ].join(".");
}

function aadError(description: string) {
  return { error: "invalid_client", error_description: `${description}\r\nTrace ID: 0\r\nCorrelation ID: 0`, error_codes: [7000215] };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
