/**
 * The S3 store's settings as the command line and the Dagger steps carry them: sign-in fields,
 * the variables that carry its secrets, and how callers spell each field. No AWS SDK here, so
 * parsing arguments (and --help) loads nothing of it; s3-connect.ts turns these into a client.
 */
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
