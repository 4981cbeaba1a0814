/**
 * One error type for everything the store reports to people, and the translation of Azure
 * SDK errors into sentences that say what failed and what to do. Messages never carry
 * request URLs or headers (where SAS signatures and tokens live).
 */

export class StoreError extends Error {
  override name = "StoreError";
}

/** Where the store is, for messages: never a URL with a query, never a secret. */
export interface StoreLocation {
  /** What the service calls the place: a Blob "container" or an S3 "bucket". */
  noun: "container" | "bucket";
  /** Its name. */
  container: string;
  /** The endpoint, e.g. https://acct.blob.core.windows.net or https://s3.eu-west-1.amazonaws.com. */
  endpoint: string;
  /** The credential in use, by kind and by the flags or variables that chose it. */
  credential: string;
}

/** What was being done, and where, to name it in the message: e.g. { action: "list versions", container, endpoint, credential }. */
export interface ErrorContext extends StoreLocation {
  action: string;
}

interface AzureLikeError {
  name?: string;
  message?: string;
  statusCode?: number;
  code?: string;
}

export const NETWORK_CODES: ReadonlySet<string> = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

/** A StoreError explaining `e`; StoreErrors pass through unchanged. */
export function explainAzureError(e: unknown, ctx: ErrorContext): Error {
  if (e instanceof StoreError) return e;
  const err = (e ?? {}) as AzureLikeError;
  const code = err.code ?? "";
  const status = err.statusCode;
  const firstLine = (err.message ?? String(e)).split("\n")[0]!.trim();
  const where = `container "${ctx.container}" at ${ctx.endpoint}`;

  if (isIdentityError(err)) {
    const reason = err.name === "CredentialError" ? (err.message ?? "") : identityReason(err.message ?? "");
    return new StoreError(`could not sign in with ${ctx.credential} to ${ctx.action}: ${reason}`);
  }
  if (status === 404 && code === "ContainerNotFound") {
    return new StoreError(
      `${where} does not exist: create it (az storage container create --name ${ctx.container} ...), ` +
        `let publish create it (--create-container), or pass the right container name`,
    );
  }
  if (status === 403 && (code === "AuthenticationFailed" || code === "AuthorizationFailure" || code === "InvalidAuthenticationInfo")) {
    return new StoreError(
      `the storage service rejected the ${ctx.credential} while trying to ${ctx.action} (${where}): ` +
        `wrong key or token, a token for another account, an expired token, or a clock far off (${code})`,
    );
  }
  if (status === 403) {
    return new StoreError(
      `the ${ctx.credential} is not allowed to ${ctx.action} in ${where} (${code || "403"}): ` +
        `grant the needed SAS permissions, or the role "Storage Blob Data Contributor" (publish) / "Storage Blob Data Reader" (fetch)`,
    );
  }
  if (NETWORK_CODES.has(code) || (err.name === "RestError" && status === undefined && /connect|socket|network/i.test(firstLine))) {
    return new StoreError(
      `cannot reach the storage endpoint ${ctx.endpoint} to ${ctx.action} (${code || firstLine}); check the account URL and the network`,
    );
  }
  if (status !== undefined && status >= 500) {
    return new StoreError(
      `the storage service kept failing while trying to ${ctx.action} in ${where} (HTTP ${status} ${code}); retries exhausted, try again later`,
    );
  }
  if (status !== undefined) {
    return new StoreError(`could not ${ctx.action} in ${where}: HTTP ${status} ${code}: ${firstLine}`);
  }
  return new StoreError(`could not ${ctx.action} in ${where}: ${firstLine}`);
}

/** Errors from @azure/identity (and the MSAL errors it passes through) while signing in. */
const IDENTITY_ERRORS = new Set([
  "CredentialError", // ours: a token that expired, a sign-in that cannot work here (credentials/sign-in-help.ts)
  "AuthenticationError",
  "AuthenticationRequiredError",
  "CredentialUnavailableError",
  "AggregateAuthenticationError",
  "ServerError",
  "ClientAuthError",
  "ClientConfigurationError",
]);

function isIdentityError(err: AzureLikeError): boolean {
  return IDENTITY_ERRORS.has(err.name ?? "") || /\bAADSTS\d+/.test(err.message ?? "");
}

/** The useful part of an @azure/identity error: the AADSTS line or the first sentence. */
function identityReason(message: string): string {
  const aadsts = /AADSTS\d+:[^\r\n.]*/.exec(message)?.[0];
  if (aadsts) return aadsts;
  const line = message.split("\n").find((l) => l.trim() !== "") ?? "unknown error";
  return line.trim().slice(0, 300);
}

/** True when `e` says the blob changed under a conditional request (ETag mismatch). */
export function isConditionFailure(e: unknown): boolean {
  const err = e as AzureLikeError;
  return err?.statusCode === 412 || err?.code === "ConditionNotMet";
}

/** True when a create-only write hit an existing blob. */
export function isAlreadyExists(e: unknown): boolean {
  const err = e as AzureLikeError;
  return err?.statusCode === 409 || err?.code === "BlobAlreadyExists" || (err?.statusCode === 412 && err?.code === "ConditionNotMet");
}

/** A local write that failed (full disk, quota, file size limit...): never retried, never taken for a network error. */
export class DiskError extends StoreError {
  override name = "DiskError";
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const DISK_PROBLEMS: Record<string, string> = {
  ENOSPC: "no space left on the device (ENOSPC); free some space or fetch to another disk",
  EDQUOT: "the disk quota is used up (EDQUOT); free some space or fetch to another disk",
  EFBIG: "the file is larger than this file system or the process's file size limit (ulimit -f) allows (EFBIG)",
  EROFS: "the file system is read-only (EROFS); fetch to a writable directory",
  EACCES: "permission denied (EACCES); fetch to a directory you can write",
  EPERM: "operation not permitted (EPERM); fetch to a directory you can write",
  EIO: "the disk reported an I/O error (EIO)",
  ENAMETOOLONG: "the path is too long for this file system (ENAMETOOLONG); fetch to a shorter --out path",
};

/** `e` as a DiskError about writing `path` when it is a file system error (it has an errno code); otherwise undefined. */
export function asDiskError(e: unknown, path: string): DiskError | undefined {
  if (e instanceof DiskError) return e;
  const err = e as NodeJS.ErrnoException | undefined;
  if (!err || typeof err.code !== "string" || typeof err.errno !== "number") return undefined;
  const problem = DISK_PROBLEMS[err.code] ?? `${err.code} (${(err.message ?? "").split("\n")[0]})`;
  return new DiskError(`cannot write ${path}: ${problem}`, err.code);
}
