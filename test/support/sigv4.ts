/**
 * One raw S3 request signed with AWS Signature Version 4, written out from the AWS documentation
 * ("Create a signed AWS API request"), with nothing of the AWS SDK in between: what a test needs
 * to show what a server itself answers to a given header (If-None-Match, If-Match), not what a
 * client library makes of it. The payload is sent as UNSIGNED-PAYLOAD, as S3 allows.
 */
import { createHash, createHmac } from "node:crypto";
import { request } from "node:http";

export interface RawS3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data, "utf8").digest();
const hex = (data: string) => createHash("sha256").update(data, "utf8").digest("hex");
/** RFC 3986 encoding, as SigV4 wants it (encodeURIComponent leaves !'()* alone). */
const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The headers of `method` on `url` with a `payloadLength`-byte body, signed for service s3 (Authorization included). */
export function signS3Request(
  creds: RawS3Credentials,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  payloadLength = 0,
  now = new Date(),
): Record<string, string> {
  const u = new URL(url);
  const amzDate = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
  const day = amzDate.slice(0, 8);
  const all: Record<string, string> = {
    ...Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v.trim()])),
    host: u.host,
    "x-amz-date": amzDate,
    "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    "content-length": String(payloadLength),
  };
  const names = Object.keys(all).sort();
  const canonicalPath = u.pathname
    .split("/")
    .map((segment) => rfc3986(decodeURIComponent(segment)))
    .join("/");
  const canonicalQuery = [...u.searchParams.entries()]
    .map(([k, v]) => [rfc3986(k), rfc3986(v)])
    .sort(([a], [b]) => (a! < b! ? -1 : a! > b! ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
  const canonicalRequest = [
    method,
    canonicalPath,
    canonicalQuery,
    names.map((n) => `${n}:${all[n]}\n`).join(""),
    names.join(";"),
    "UNSIGNED-PAYLOAD",
  ].join("\n");
  const scope = `${day}/${creds.region}/s3/aws4_request`;
  const toSign = ["AWS4-HMAC-SHA256", amzDate, scope, hex(canonicalRequest)].join("\n");
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), creds.region), "s3"), "aws4_request");
  const signature = createHmac("sha256", key).update(toSign, "utf8").digest("hex");
  all.authorization = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${names.join(";")}, Signature=${signature}`;
  return all;
}

/** `method` on `url` (path-style: http://host:port/bucket/key), signed for service s3; resolves with the server's answer. */
export function signedS3Request(
  creds: RawS3Credentials,
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: Buffer | string,
  now = new Date(),
): Promise<RawResponse> {
  const u = new URL(url);
  const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
  const all = signS3Request(creds, method, url, headers, payload.length, now);
  return new Promise((resolve, reject) => {
    const req = request(u, { method, headers: all, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(payload);
  });
}
