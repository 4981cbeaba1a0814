/**
 * The model store's two backends as the store suites see them: a real server started on
 * 127.0.0.1 (Azurite for Blob Storage, versitygw for S3), stores over it (directly or through a
 * proxy's port), and raw access for arranging and inspecting what a test needs (planting an object
 * as anyone who can write the container could, reading one back), the same calls on both. A suite
 * written against a StoreServer runs once per backend (BACKENDS), as one suite, not a copy.
 */
import { BlobBackend } from "../../dagger/src/model-store/blob-backend.js";
import { CLI_LABELS, S3_CLI_LABELS } from "../../dagger/src/model-store/cli-args.js";
import { connect, RetryTuning } from "../../dagger/src/model-store/connect.js";
import { connectS3 } from "../../dagger/src/model-store/s3-connect.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from "./aws.js";
import { Azurite, startAzurite } from "./azurite.js";
import { S3Server, startS3Server } from "./s3-server.js";

export type BackendKind = "blob" | "s3";
export const BACKENDS: readonly BackendKind[] = ["blob", "s3"];
export const CONTAINER = "models";

/** Request-level retries kept short for tests (the suites' own FAST_RETRY). */
const TEST_RETRY: RetryTuning = { maxTries: 3, retryDelayMs: 10, maxRetryDelayMs: 50 };

/** Labels for S3 fields as the store's command spells them. */
export const S3_TEST_LABELS = S3_CLI_LABELS;

export interface StoreOptions {
  /** Reach the server through this port on 127.0.0.1 (a fault proxy in front of it). */
  viaPort?: number;
  container?: string;
  log?: (line: string) => void;
  retry?: RetryTuning;
}

export interface StoreServer {
  kind: BackendKind;
  /** The port the server listens on (what a proxy forwards to). */
  port: number;
  /** The path of an object's URL, as a request line shows it: /devstoreaccount1/models/NAME or /models/NAME. */
  objectPath(name: string, container?: string): string;
  store(opts?: StoreOptions): ModelStore;
  createContainer(name: string): Promise<void>;
  /** Writes `name` unconditionally (with `metadata`), as anyone who can write the container could. */
  plant(name: string, body: Buffer | string, metadata?: Record<string, string>): Promise<void>;
  /** Deletes `name`, as anyone who can write the container could. */
  remove(name: string): Promise<void>;
  /** The bytes of `name`, or undefined when there is none. */
  read(name: string, container?: string): Promise<Buffer | undefined>;
  /** When `name` was last written, as the service says. */
  lastModified(name: string): Promise<Date>;
  /** The store command's flags for this server (through `viaPort` when given). */
  cliFlags(viaPort?: number): string[];
  /** The store command's environment (its secrets) for this server. */
  cliEnv(): Record<string, string>;
  /** The Azurite under a Blob server, for cases only Blob Storage has (SAS, sparse page blobs). */
  azurite?: Azurite;
  /** The S3 server under an S3 one. */
  s3?: S3Server;
  stop(): Promise<void>;
}

export async function startStoreServer(kind: BackendKind): Promise<StoreServer> {
  return kind === "blob" ? startBlob() : startS3();
}

async function startBlob(): Promise<StoreServer> {
  const az = await startAzurite();
  const url = (port = az.port) => `http://127.0.0.1:${port}/${az.account}`;
  const container = (name = CONTAINER) => az.admin.getContainerClient(name);
  return {
    kind: "blob",
    port: az.port,
    azurite: az,
    objectPath: (name, c = CONTAINER) => `/${az.account}/${c}/${name}`,
    store: (opts = {}) =>
      new ModelStore(
        new BlobBackend(
          connect(
            {
              container: opts.container ?? CONTAINER,
              auth: { accountUrl: url(opts.viaPort), accountKey: az.key },
              retry: opts.retry ?? TEST_RETRY,
            },
            CLI_LABELS,
            "write",
          ),
        ),
        opts.log,
      ),
    createContainer: async (name) => void (await container(name).createIfNotExists()),
    plant: async (name, body, metadata) =>
      void (await container()
        .getBlockBlobClient(name)
        .upload(body, Buffer.byteLength(body), metadata ? { metadata } : {})),
    remove: async (name) => void (await container().getBlobClient(name).delete()),
    read: async (name, c) => {
      const blob = container(c).getBlobClient(name);
      return (await blob.exists()) ? blob.downloadToBuffer() : undefined;
    },
    lastModified: async (name) => (await container().getBlobClient(name).getProperties()).lastModified!,
    cliFlags: (viaPort) => ["--account-url", url(viaPort)],
    cliEnv: () => ({ AZURE_STORAGE_KEY: az.key }),
    stop: () => az.stop(),
  };
}

async function startS3(): Promise<StoreServer> {
  const s3 = await startS3Server();
  const endpoint = (port = s3.port) => `http://127.0.0.1:${port}`;
  const admin = new S3Client({
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    maxAttempts: 1,
  });
  return {
    kind: "s3",
    port: s3.port,
    s3,
    objectPath: (name, c = CONTAINER) => `/${c}/${name}`,
    store: (opts = {}) =>
      new ModelStore(
        connectS3(
          {
            bucket: opts.container ?? CONTAINER,
            region: s3.region,
            endpoint: endpoint(opts.viaPort),
            auth: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
            retry: opts.retry ?? TEST_RETRY,
          },
          S3_TEST_LABELS,
        ).backend,
        opts.log,
      ),
    createContainer: async (name) => {
      const made = await s3.raw("PUT", `/${name}`);
      if (made.status !== 200 && !/BucketAlreadyOwnedByYou/.test(made.body))
        throw new Error(`create bucket ${name}: ${made.status} ${made.body}`);
    },
    plant: async (name, body, metadata) =>
      void (await admin.send(
        new PutObjectCommand({ Bucket: CONTAINER, Key: name, Body: Buffer.from(body), ...(metadata ? { Metadata: metadata } : {}) }),
      )),
    remove: async (name) => void (await admin.send(new DeleteObjectCommand({ Bucket: CONTAINER, Key: name }))),
    read: async (name, c = CONTAINER) => {
      try {
        const got = await admin.send(new GetObjectCommand({ Bucket: c, Key: name }));
        return Buffer.from(await got.Body!.transformToByteArray());
      } catch (e) {
        if ((e as { name?: string }).name === "NoSuchKey") return undefined;
        throw e;
      }
    },
    lastModified: async (name) => (await admin.send(new HeadObjectCommand({ Bucket: CONTAINER, Key: name }))).LastModified!,
    cliFlags: (viaPort) => ["--s3-bucket", CONTAINER, "--s3-region", s3.region, "--s3-endpoint", endpoint(viaPort)],
    cliEnv: () => ({ AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey }),
    stop: async () => {
      admin.destroy();
      await s3.stop();
    },
  };
}
