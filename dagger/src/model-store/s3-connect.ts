/**
 * From S3 settings to a store backend: the bucket, the region (required, checked), an optional
 * endpoint for S3-compatible stores (path-style addressing then, or when asked), and exactly one
 * way to sign in, chosen by the rules below and checked before any request:
 *
 * | sign-in | given |
 * |---|---|
 * | static keys | access key id + secret access key (+ session token for temporary keys) |
 * | a named profile (keys, SSO, role) from ~/.aws | profile |
 * | web identity: AssumeRoleWithWebIdentity with a CI system's OIDC token | role ARN + the token (or a file holding it) |
 * | the SDK's default chain (environment, profile, container or instance role, IRSA) | default chain |
 */
import { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import { fromIni, fromNodeProviderChain, fromTokenFile, fromWebToken } from "@aws-sdk/credential-providers";
import { CredentialError } from "../credentials/auth-mode.js";
import type { RetryTuning } from "./connect.js";
import { DEFAULT_RETRY } from "./connect.js";
import { S3Backend } from "./s3-backend.js";
import type { S3AuthInput, S3AuthMode, S3Labels } from "./s3-settings.js";

export interface S3Config {
  bucket: string;
  region: string;
  /** An S3-compatible store's endpoint (https://minio.example:9000); AWS's own when absent. */
  endpoint?: string;
  /** Path-style addressing (endpoint/bucket/key); always on with a custom endpoint. */
  pathStyle?: boolean;
  auth: S3AuthInput;
  retry?: RetryTuning;
}

const MODE_TITLES: Record<S3AuthMode, string> = {
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
    throw new CredentialError(
      `no S3 sign-in given: give ${name("accessKeyId")} and ${name("secretAccessKey")}, ${name("profile")}, ` +
        `${name("roleArn")} with ${name("webIdentityToken")} (or ${name("webIdentityTokenFile")}), or ${name("defaultChain")}`,
    );
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
      throw new CredentialError(`${name("roleArn")} needs exactly one of ${name("webIdentityToken")} and ${name("webIdentityTokenFile")}`);
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

/** The credential as messages name it: its kind and the fields that chose it, never a secret's value. */
function describe(mode: S3AuthMode, auth: S3AuthInput, labels: S3Labels): string {
  switch (mode) {
    case "static-keys":
      return `${MODE_TITLES[mode]} (${[labels.accessKeyId, labels.secretAccessKey, ...(auth.sessionToken ? [labels.sessionToken] : [])].join(", ")})`;
    case "profile":
      return `${MODE_TITLES[mode]} ${JSON.stringify(auth.profile)} (${labels.profile})`;
    case "web-identity":
      return `${MODE_TITLES[mode]} of ${auth.roleArn} (${auth.webIdentityTokenFile !== undefined ? labels.webIdentityTokenFile : labels.webIdentityToken})`;
    case "default-chain":
      return `${MODE_TITLES[mode]} (${labels.defaultChain})`;
  }
}

function credentials(mode: S3AuthMode, auth: S3AuthInput, region: string): NonNullable<S3ClientConfig["credentials"]> {
  // STS for web identity: the bucket's region (a regional STS endpoint, as AWS recommends).
  const sts = { clientConfig: { region } };
  const sessionName = auth.roleSessionName ?? "ai-app-pipeline-model-store";
  switch (mode) {
    case "static-keys":
      return {
        accessKeyId: auth.accessKeyId!,
        secretAccessKey: auth.secretAccessKey!,
        ...(auth.sessionToken ? { sessionToken: auth.sessionToken } : {}),
      };
    case "profile":
      return fromIni({ profile: auth.profile! });
    case "web-identity":
      return auth.webIdentityTokenFile !== undefined
        ? fromTokenFile({ roleArn: auth.roleArn!, webIdentityTokenFile: auth.webIdentityTokenFile, roleSessionName: sessionName, ...sts })
        : fromWebToken({ roleArn: auth.roleArn!, webIdentityToken: auth.webIdentityToken!, roleSessionName: sessionName, ...sts });
    case "default-chain":
      return fromNodeProviderChain(sts);
  }
}

export interface S3Connection {
  backend: S3Backend;
  mode: S3AuthMode;
}

/** Connects to the bucket; a CredentialError for anything wrong before a request is made. */
export function connectS3(config: S3Config, labels: S3Labels & { bucket: string; region: string; endpoint: string }): S3Connection {
  const bucket = bucketProblem(config.bucket, labels.bucket);
  if (bucket) throw new CredentialError(bucket);
  const endpoint = config.endpoint ? endpointProblem(config.endpoint, labels.endpoint) : undefined;
  if (endpoint) throw new CredentialError(endpoint);
  const region = regionProblem(config.region, config.endpoint !== undefined, labels.region);
  if (region) throw new CredentialError(region);
  const mode = selectS3Auth(config.auth, labels);
  const retry = config.retry ?? DEFAULT_RETRY;
  const client = new S3Client({
    region: config.region,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    // S3-compatible stores rarely serve virtual-hosted names (bucket.host): path-style with an endpoint.
    forcePathStyle: config.pathStyle ?? config.endpoint !== undefined,
    credentials: credentials(mode, config.auth, config.region),
    maxAttempts: retry.maxTries,
    // Integrity is the store's own (sha256 of every file, verified on fetch); S3-compatible stores
    // differ in the SDK's optional CRC checksums, so they are sent and checked only where S3 requires them.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    customUserAgent: "ai-app-pipeline-model-store",
  });
  const shown = config.endpoint
    ? new URL(config.endpoint).origin
    : `https://s3.${config.region}.amazonaws.com${config.region.startsWith("cn-") ? ".cn" : ""}`;
  return {
    mode,
    backend: new S3Backend(
      client,
      { noun: "bucket", container: config.bucket, endpoint: shown, credential: describe(mode, config.auth, labels) },
      config.region,
    ),
  };
}
