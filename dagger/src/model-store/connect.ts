/**
 * From options to a ContainerClient: select the one auth mode, check what can be checked
 * offline (SAS expiry/permissions, names), and build the Azure client with our retry policy.
 */
import {
  AnonymousCredential,
  BlobServiceClient,
  ContainerClient,
  StoragePipelineOptions,
  StorageSharedKeyCredential,
} from "@azure/storage-blob";
import { accessTokenCredential, accessTokenProblem } from "../credentials/access-token.js";
import { AuthInput, AuthPlan, CredentialError, FieldLabels, labelOf, modeTitle, selectAuth } from "../credentials/auth-mode.js";
import { SECRET_ENV, SecretField } from "../credentials/env.js";
import { fixedToken, tokenFromFile } from "../credentials/federated-token.js";
import { lazyEntraCredential as entraCredential } from "../credentials/lazy-entra.js";
import { sasProblem, StoreAccess } from "../credentials/sas.js";
import { explainAzureCli, explainManagedIdentity, withSignInHelp } from "../credentials/sign-in-help.js";
import { containerNameProblem } from "./layout.js";
import type { StoreLocation } from "./backend.js";

/** Request-level retries (5xx, timeouts, refused or reset connections), done by the SDK's policy. */
export interface RetryTuning {
  maxTries: number;
  retryDelayMs: number;
  maxRetryDelayMs: number;
}

export const DEFAULT_RETRY: RetryTuning = { maxTries: 5, retryDelayMs: 500, maxRetryDelayMs: 10_000 };

/** DEFAULT_RETRY with the base delay taken from MODEL_STORE_RETRY_DELAY_MS when set (tests, impatient CI). */
export function retryFromEnv(env: NodeJS.ProcessEnv): RetryTuning {
  const raw = env.MODEL_STORE_RETRY_DELAY_MS;
  const delay = raw ? Number(raw) : NaN;
  return Number.isFinite(delay) && delay >= 0
    ? { ...DEFAULT_RETRY, retryDelayMs: delay, maxRetryDelayMs: Math.max(delay, 1) * 8 }
    : DEFAULT_RETRY;
}

export interface StoreConfig {
  container: string;
  auth: AuthInput<string>;
  /** Entra sign-in endpoint override (sovereign clouds, test doubles). */
  authorityHost?: string;
  retry?: RetryTuning;
}

export interface Connection {
  container: ContainerClient;
  plan: AuthPlan;
  /** Names for error messages: endpoint and credential, never their secret parts. */
  context: StoreLocation;
}

/** Connects for `access`; throws CredentialError for anything wrong before a request is made. */
export function connect(config: StoreConfig, labels: FieldLabels, access: StoreAccess): Connection {
  const plan = selectAuth(config.auth, labels);
  const { auth } = config;
  const containerProblem = containerNameProblem(config.container);
  if (containerProblem) throw new CredentialError(containerProblem);
  const retry = config.retry ?? DEFAULT_RETRY;
  const options: StoragePipelineOptions = {
    retryOptions: { maxTries: retry.maxTries, retryDelayInMs: retry.retryDelayMs, maxRetryDelayInMs: retry.maxRetryDelayMs },
    userAgentOptions: { userAgentPrefix: "ai-app-pipeline-model-store" },
  };
  const url = plan.accountUrl ?? "";
  let service: BlobServiceClient;
  switch (plan.mode) {
    case "connection-string":
      try {
        service = BlobServiceClient.fromConnectionString(auth.connectionString!, options);
      } catch (e) {
        // The SDK's messages name the faulty field, never its value.
        throw new CredentialError(`${labels.connectionString} is not a valid storage connection string: ${(e as Error).message}`);
      }
      break;
    case "sas-token": {
      const problem = sasProblem(auth.sasToken!, access);
      if (problem) throw new CredentialError(`${labels.sasToken}: ${problem}`);
      service = new BlobServiceClient(`${url}?${auth.sasToken!.trim().replace(/^\?/, "")}`, new AnonymousCredential(), options);
      break;
    }
    case "account-key":
      service = new BlobServiceClient(url, new StorageSharedKeyCredential(plan.accountName!, auth.accountKey!), options);
      break;
    case "client-secret":
      service = new BlobServiceClient(
        url,
        entraCredential(
          { kind: "client-secret", tenantId: auth.tenantId!, clientId: auth.clientId!, clientSecret: auth.clientSecret! },
          config,
        ),
        options,
      );
      break;
    case "federated-token": {
      const getToken = auth.federatedTokenFile ? tokenFromFile(auth.federatedTokenFile) : fixedToken(auth.federatedToken!);
      service = new BlobServiceClient(
        url,
        entraCredential({ kind: "federated-token", tenantId: auth.tenantId!, clientId: auth.clientId!, getToken }, config),
        options,
      );
      break;
    }
    case "azure-pipelines":
      service = new BlobServiceClient(
        url,
        entraCredential(
          {
            kind: "azure-pipelines",
            tenantId: auth.tenantId!,
            clientId: auth.clientId!,
            serviceConnectionId: auth.serviceConnectionId!,
            systemAccessToken: auth.systemAccessToken!,
          },
          config,
        ),
        options,
      );
      break;
    case "managed-identity":
      service = new BlobServiceClient(
        url,
        withSignInHelp(
          entraCredential({ kind: "managed-identity", ...(auth.clientId ? { clientId: auth.clientId } : {}) }, config),
          explainManagedIdentity(labels),
        ),
        options,
      );
      break;
    case "entra-token": {
      // Checked now, like a SAS: an expired or wrong-audience token fails before any request.
      const problem = accessTokenProblem(auth.entraToken!);
      if (problem) throw new CredentialError(`${labels.entraToken}: ${problem}`);
      service = new BlobServiceClient(url, accessTokenCredential(auth.entraToken!), options);
      break;
    }
    case "azure-cli":
      service = new BlobServiceClient(
        url,
        withSignInHelp(
          entraCredential({ kind: "azure-cli", ...(auth.tenantId ? { tenantId: auth.tenantId } : {}) }, config),
          explainAzureCli(labels, auth.tenantId),
        ),
        options,
      );
      break;
  }
  const endpoint = new URL(service.url);
  const given = (Object.keys(auth) as (keyof AuthInput)[]).filter((k) => auth[k] !== undefined && auth[k] !== false);
  const triggerLabels = given.filter((k) => DESCRIBING_FIELDS.has(k)).map((k) => labelOf(labels, k));
  return {
    container: service.getContainerClient(config.container),
    plan,
    context: {
      noun: "container",
      container: config.container,
      endpoint: `${endpoint.origin}${endpoint.pathname}`.replace(/\/+$/, ""),
      credential: `${modeTitle(plan.mode)}${triggerLabels.length ? ` (${triggerLabels.join(", ")})` : ""}`,
    },
  };
}

/** The fields that name a credential in messages: every secret (by its label), and the non-secret ways to sign in. */
const DESCRIBING_FIELDS: ReadonlySet<keyof AuthInput> = new Set<keyof AuthInput>([
  ...(Object.keys(SECRET_ENV) as SecretField[]),
  "federatedTokenFile",
  "managedIdentity",
  "azureCli",
]);
