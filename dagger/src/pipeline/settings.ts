/** Configuration objects the pipeline carries between chained calls (`with-store ... ci`). */
import { object, Secret, Service } from "@dagger.io/dagger";

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
