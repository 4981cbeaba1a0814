/** Configuration objects the pipeline carries between chained calls (`with-store ... ci`). */
import { object, Secret, Service } from "@dagger.io/dagger";
import { restoredSecret, restoredService } from "../shared/object-state.js";

/** Where and how to reach the model store: Azure Blob Storage with one auth mode, an Azurite service, or an S3 bucket (with-aws-store). */
@object()
export class ModelStoreSettings {
  container?: string;
  account?: string;
  accountUrl?: string;
  connectionString?: Secret;
  sasToken?: Secret;
  accountKey?: Secret;
  tenantId?: string;
  clientId?: string;
  clientSecret?: Secret;
  federatedToken?: Secret;
  serviceConnectionId?: string;
  systemAccessToken?: Secret;
  oidcRequestUri?: string;
  managedIdentity?: boolean;
  entraToken?: Secret;
  storeService?: Service;
  /** Set by with-aws-store: the store is this S3 bucket, and the fields above are unused. */
  s3Bucket?: string;
  s3Region?: string;
  s3Endpoint?: string;
  s3PathStyle?: boolean;
  awsAccessKeyId?: Secret;
  awsSecretAccessKey?: Secret;
  awsSessionToken?: Secret;
  s3RoleArn?: string;
  s3WebIdentityToken?: Secret;
  s3RoleSessionName?: string;
  s3DefaultChain?: boolean;
}

type SecretField = {
  [K in keyof ModelStoreSettings]-?: ModelStoreSettings[K] extends Secret | undefined ? K : never;
}[keyof ModelStoreSettings];

/**
 * The Secret-typed fields of ModelStoreSettings. A record, not a list, so that the compiler
 * refuses a Secret field added to the class and forgotten here (it would reach the next call as
 * an id string).
 */
const SECRET_FIELDS = Object.keys({
  connectionString: true,
  sasToken: true,
  accountKey: true,
  clientSecret: true,
  federatedToken: true,
  systemAccessToken: true,
  entraToken: true,
  awsAccessKeyId: true,
  awsSecretAccessKey: true,
  awsSessionToken: true,
  s3WebIdentityToken: true,
} satisfies Record<SecretField, true>) as SecretField[];

/** The settings as typed objects again after a chained call (see shared/object-state.ts). */
export function restoreStoreSettings(saved: ModelStoreSettings): ModelStoreSettings {
  const settings = Object.assign(new ModelStoreSettings(), saved);
  for (const field of SECRET_FIELDS) {
    const secret = restoredSecret(saved[field]);
    if (secret) settings[field] = secret;
  }
  const service = restoredService(saved.storeService);
  if (service) settings.storeService = service;
  return settings;
}
