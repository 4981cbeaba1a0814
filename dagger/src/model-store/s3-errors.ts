/**
 * S3 errors (AWS SDK for JavaScript v3: the error's name is S3's code, `$metadata.httpStatusCode`
 * its status) in the words of the store: what failed, where, and what to do. Like the Blob side
 * (errors.ts), never a URL with a query, a header or a secret.
 */
import type { StoreLocation } from "./backend.js";
import { NETWORK_CODES, StoreError } from "./errors.js";

export interface S3LikeError {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
  cause?: unknown;
}

/** S3's error code of `e` (the SDK's error name), or "" when it is not an S3 answer. */
export function s3Code(e: unknown): string {
  const err = (e ?? {}) as S3LikeError;
  return err.Code ?? (err.$metadata ? (err.name ?? "") : "");
}

export function s3Status(e: unknown): number | undefined {
  const err = (e ?? {}) as S3LikeError;
  return err.$metadata?.httpStatusCode ?? err.$response?.statusCode;
}

/** A write's condition did not hold (If-None-Match: the key exists; If-Match: another ETag). */
export function isPreconditionFailed(e: unknown): boolean {
  return s3Status(e) === 412 || s3Code(e) === "PreconditionFailed";
}

/**
 * AWS's answer to a conditional write that raced another write of the same key (409
 * ConditionalRequestConflict): the write did not land, and AWS says to try it again; the next
 * try either lands or meets the other write (412).
 */
export function isConditionalConflict(e: unknown): boolean {
  return s3Code(e) === "ConditionalRequestConflict" || (s3Status(e) === 409 && s3Code(e) !== "BucketAlreadyOwnedByYou");
}

export function isNotFound(e: unknown): boolean {
  const code = s3Code(e);
  return code === "NoSuchKey" || code === "NotFound" || (s3Status(e) === 404 && code !== "NoSuchBucket");
}

const REJECTED_CREDENTIAL = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "InvalidToken",
  "TokenRefreshRequired",
  "RequestTimeTooSkewed",
  // versitygw's answer (404) to an access key it does not know, where AWS says 403 InvalidAccessKeyId.
  "XAdminUserNotFound",
]);

/** Errors of the credential providers (profile, SSO, web identity, the default chain) while signing in. */
const SIGN_IN_ERRORS = new Set([
  "CredentialsProviderError",
  "TokenProviderError",
  "InvalidIdentityTokenException",
  "ExpiredTokenException",
]);

/** A StoreError explaining `e`; StoreErrors pass through unchanged. */
export function explainS3Error(e: unknown, ctx: StoreLocation & { action: string }): Error {
  if (e instanceof StoreError) return e;
  const err = (e ?? {}) as S3LikeError;
  const code = s3Code(e);
  const status = s3Status(e);
  const firstLine = (err.message ?? String(e)).split("\n")[0]!.trim();
  const where = `bucket "${ctx.container}" at ${ctx.endpoint}`;
  if (SIGN_IN_ERRORS.has(err.name ?? "") || err.name === "AccessDeniedException") {
    return new StoreError(`could not sign in with ${ctx.credential} to ${ctx.action}: ${firstLine.slice(0, 300)}`);
  }
  if (code === "NoSuchBucket") {
    return new StoreError(
      `${where} does not exist: create it (aws s3api create-bucket --bucket ${ctx.container} ...; docs/s3-setup.md), ` +
        `let publish create it (--create-container), or pass the right bucket name`,
    );
  }
  if (code === "PermanentRedirect" || code === "AuthorizationHeaderMalformed" || code === "IllegalLocationConstraintException") {
    const region = err.$response?.headers?.["x-amz-bucket-region"];
    return new StoreError(
      `${where} is not in the region the request was signed for (${code})${region ? `: it is in ${region}, give --s3-region ${region}` : "; give the bucket's region"}`,
    );
  }
  if (REJECTED_CREDENTIAL.has(code)) {
    return new StoreError(
      `the S3 service rejected the ${ctx.credential} while trying to ${ctx.action} (${where}): ` +
        `a wrong key or secret, an expired session token, or a clock far off (${code})`,
    );
  }
  if (code === "AccessDenied" || status === 403) {
    return new StoreError(
      `the ${ctx.credential} is not allowed to ${ctx.action} in ${where} (${code || "403"}): ` +
        `grant the store's IAM policy (docs/s3-setup.md: s3:ListBucket, s3:GetObject, and s3:PutObject to publish or move aliases)`,
    );
  }
  const netCode = err.code ?? (err.cause as { code?: string } | undefined)?.code ?? "";
  if (NETWORK_CODES.has(netCode) || (status === undefined && /ECONNREFUSED|ENOTFOUND|socket hang up|getaddrinfo/i.test(firstLine))) {
    return new StoreError(
      `cannot reach the S3 endpoint ${ctx.endpoint} to ${ctx.action} (${netCode || firstLine}); check --s3-endpoint, --s3-region and the network`,
    );
  }
  if (status !== undefined && status >= 500) {
    return new StoreError(
      `the S3 service kept failing while trying to ${ctx.action} in ${where} (HTTP ${status} ${code}); retries exhausted, try again later`,
    );
  }
  if (status !== undefined) return new StoreError(`could not ${ctx.action} in ${where}: HTTP ${status} ${code}: ${firstLine}`);
  return new StoreError(`could not ${ctx.action} in ${where}: ${firstLine}`);
}
