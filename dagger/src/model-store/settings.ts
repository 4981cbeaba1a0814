/** Configuration objects the pipeline carries between chained calls (`with-store ... ci`). */
import { dag, object, Secret, SecretID, Service, ServiceID } from "@dagger.io/dagger";

/** Where and how to reach the model store: Azure Blob Storage with one auth mode, or an Azurite service. */
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
  storeService?: Service;
}

/** The Secret-typed fields of ModelStoreSettings (checked against the class by the compiler). */
const SECRET_FIELDS = ["connectionString", "sasToken", "accountKey", "clientSecret", "federatedToken", "systemAccessToken"] as const satisfies readonly {
  [K in keyof ModelStoreSettings]-?: ModelStoreSettings[K] extends Secret | undefined ? K : never;
}[keyof ModelStoreSettings][];

/**
 * The settings as typed objects again. Between chained calls the runtime restores a nested
 * object with `Object.assign`, so its Secret and Service fields arrive as bare id strings
 * (docs/engine-notes.md section 5); this turns each back into the object it stands for.
 */
export function restoreStoreSettings(saved: ModelStoreSettings): ModelStoreSettings {
  const settings = Object.assign(new ModelStoreSettings(), saved);
  for (const field of SECRET_FIELDS) {
    const value: unknown = saved[field];
    if (typeof value === "string") settings[field] = dag.loadSecretFromID(value as SecretID);
  }
  const service: unknown = saved.storeService;
  if (typeof service === "string") settings.storeService = dag.loadServiceFromID(service as ServiceID);
  return settings;
}
