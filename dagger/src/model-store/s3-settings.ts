/**
 * The S3 store's settings as the command line and the Dagger steps carry them: sign-in fields,
 * the variables that carry its secrets, how callers spell each field, and every check that needs
 * no request (one sign-in, region, bucket name, endpoint). No AWS SDK here, so parsing arguments
 * (and --help, and the Dagger module's builders) loads nothing of it; s3-connect.ts turns these
 * into a client.
 */
import { CredentialError } from "../credentials/auth-mode.js";

/** The sign-in fields; secrets (secretAccessKey, sessionToken, webIdentityToken) never reach messages. */
export interface S3AuthInput {
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  profile?: string;
  roleArn?: string;
  webIdentityToken?: string;
  webIdentityTokenFile?: string;
  roleSessionName?: string;
  defaultChain?: boolean;
}

export type S3AuthMode = "static-keys" | "profile" | "web-identity" | "default-chain";

/** The variables that carry S3 secrets into the store's command (the CLI reads them, the Dagger steps set them as secrets). */
export const S3_SECRET_ENV = {
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
  sessionToken: "AWS_SESSION_TOKEN",
  webIdentityToken: "AWS_WEB_IDENTITY_TOKEN",
} as const;

/** A file holding the web identity token (what EKS and most CI set-ups write). */
export const S3_TOKEN_FILE_ENV = "AWS_WEB_IDENTITY_TOKEN_FILE";

/** How the caller spells each field (CLI flag or environment variable, Dagger argument), for messages. */
export type S3Labels = Record<keyof S3AuthInput, string>;

export const MODE_TITLES: Record<S3AuthMode, string> = {
  "static-keys": "AWS access keys",
  profile: "AWS profile",
  "web-identity": "AWS web identity (AssumeRoleWithWebIdentity)",
  "default-chain": "the AWS SDK's default credential chain",
};

/** The one sign-in the fields describe; a CredentialError naming what is missing or conflicting. */
export function selectS3Auth(auth: S3AuthInput, labels: S3Labels): S3AuthMode {
  const given = (k: keyof S3AuthInput) => auth[k] !== undefined && auth[k] !== false && auth[k] !== "";
  const modes: S3AuthMode[] = [];
  if (given("accessKeyId") || given("secretAccessKey") || given("sessionToken")) modes.push("static-keys");
  if (given("profile")) modes.push("profile");
  if (given("roleArn") || given("webIdentityToken") || given("webIdentityTokenFile")) modes.push("web-identity");
  if (given("defaultChain")) modes.push("default-chain");
  const name = (k: keyof S3AuthInput) => labels[k];
  if (modes.length === 0) {
    const token =
      name("webIdentityToken") === name("webIdentityTokenFile")
        ? name("webIdentityToken")
        : `${name("webIdentityToken")} (or ${name("webIdentityTokenFile")})`;
    const ways = [
      `${name("accessKeyId")} and ${name("secretAccessKey")}`,
      ...(name("profile") ? [name("profile")] : []),
      `${name("roleArn")} with ${token}`,
    ];
    throw new CredentialError(`no S3 sign-in given: give ${ways.join(", ")}, or ${name("defaultChain")}`);
  }
  if (modes.length > 1) {
    throw new CredentialError(`give one S3 sign-in, not several: ${modes.map((m) => MODE_TITLES[m]).join(" and ")} were both given`);
  }
  const mode = modes[0]!;
  if (mode === "static-keys") {
    if (!given("accessKeyId")) throw new CredentialError(`${name("secretAccessKey")} needs ${name("accessKeyId")}`);
    if (!given("secretAccessKey")) throw new CredentialError(`${name("accessKeyId")} needs ${name("secretAccessKey")}`);
  }
  if (mode === "web-identity") {
    if (!given("roleArn")) throw new CredentialError(`a web identity token needs the role to assume: ${name("roleArn")}`);
    if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/.test(auth.roleArn!)) {
      throw new CredentialError(`${name("roleArn")} is not an IAM role ARN (arn:aws:iam::123456789012:role/NAME)`);
    }
    if (given("webIdentityToken") === given("webIdentityTokenFile")) {
      const both = name("webIdentityToken") === name("webIdentityTokenFile");
      throw new CredentialError(
        both
          ? `${name("roleArn")} needs ${name("webIdentityToken")}, the CI system's OIDC token`
          : `${name("roleArn")} needs exactly one of ${name("webIdentityToken")} and ${name("webIdentityTokenFile")}`,
      );
    }
  }
  if (given("roleSessionName") && mode !== "web-identity") {
    throw new CredentialError(`${name("roleSessionName")} only applies with ${name("roleArn")}`);
  }
  return mode;
}

/** AWS regions as AWS names them (us-east-1, eu-west-1, us-gov-west-1, cn-north-1...). */
const AWS_REGION = /^[a-z]{2}(-(gov|iso[a-z]?))?-[a-z]+-\d{1,2}$/;
/** An S3-compatible store names its region as it likes (MinIO us-east-1, Garage "garage"): any plain token. */
const OTHER_REGION = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function regionProblem(region: string, customEndpoint: boolean, label: string): string | undefined {
  if (!region) return `${label} is required: the bucket's AWS region, e.g. eu-west-1 (aws s3api get-bucket-location --bucket NAME)`;
  if (customEndpoint ? OTHER_REGION.test(region) : AWS_REGION.test(region)) return undefined;
  return customEndpoint
    ? `${label} ${JSON.stringify(region)} is not a region name (letters, digits, dashes; e.g. us-east-1)`
    : `${label} ${JSON.stringify(region)} is not an AWS region (e.g. eu-west-1, us-east-1, us-gov-west-1)`;
}

/** S3's bucket naming rules (general purpose buckets), checked before any request for a clearer error. */
export function bucketProblem(bucket: string, label: string): string | undefined {
  if (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) &&
    !bucket.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(bucket) &&
    !/^xn--|^sthree-|-s3alias$|--ol-s3$/.test(bucket)
  ) {
    return undefined;
  }
  return `${label} ${JSON.stringify(bucket)} is not a valid S3 bucket name: 3-63 lowercase letters, digits, dots and dashes, starting and ending with a letter or digit`;
}

/** The endpoint as a URL, or why it is not usable (no credentials, query or fragment in it). */
export function endpointProblem(endpoint: string, label: string): string | undefined {
  let u: URL;
  try {
    u = new URL(endpoint);
  } catch {
    return `${label} ${JSON.stringify(endpoint)} is not a URL (e.g. https://minio.example.com:9000)`;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return `${label} must be an http:// or https:// URL`;
  if (u.username || u.password || u.search || u.hash) {
    return `${label} must be a plain endpoint URL: no user, password, query or fragment (credentials go in their own arguments)`;
  }
  return undefined;
}

/**
 * The IAM actions the store needs on its bucket, by what its user does (docs/s3-setup.md's policies
 * are checked against these). Reading: ListObjectsV2 (s3:ListBucket, on the bucket), GetObject and
 * HeadObject (s3:GetObject). Publishing, aliases and yank marks add PutObject, CreateMultipartUpload,
 * UploadPart and CompleteMultipartUpload (s3:PutObject; AWS also wants s3:GetObject for If-Match
 * writes) and AbortMultipartUpload when a large upload fails (s3:AbortMultipartUpload). Nothing
 * is ever deleted and no bucket is made (--create-container is for test servers): no
 * s3:DeleteObject, no s3:CreateBucket.
 */
export const S3_POLICY_ACTIONS = {
  read: ["s3:GetObject", "s3:ListBucket"],
  write: ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket", "s3:PutObject"],
} as const;
