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
import { bucketProblem, endpointProblem, MODE_TITLES, regionProblem, selectS3Auth } from "./s3-settings.js";
import type { S3AuthInput, S3AuthMode, S3Labels } from "./s3-settings.js";

export { bucketProblem, endpointProblem, regionProblem, selectS3Auth };

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
