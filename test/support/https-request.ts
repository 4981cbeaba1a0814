/**
 * One HTTPS request that trusts a given CA (PEM file), for servers with a test CA's certificate:
 * Node's fetch takes no per-request CA.
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";

export interface HttpsOptions {
  /** PEM file of the CA to trust (the only one trusted). */
  ca: string;
  method?: string;
  headers?: Record<string, string>;
  /** user:password for Basic auth */
  auth?: string;
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export function httpsRequest(url: string, opts: HttpsOptions): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca: readFileSync(opts.ca), method: opts.method ?? "GET", headers: opts.headers ?? {}, ...(opts.auth ? { auth: opts.auth } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
