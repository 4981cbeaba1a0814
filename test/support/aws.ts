// The one copy of the AWS SDK's S3 client the module itself loads (dagger/node_modules), so tests
// arrange state with the same classes the code under test uses (as azure.ts does for Blob).
import { createRequire } from "node:module";

type S3Sdk = typeof import("../../dagger/node_modules/@aws-sdk/client-s3/dist-types/index.js");
const sdk = createRequire(import.meta.url)("../../dagger/node_modules/@aws-sdk/client-s3") as S3Sdk;

export const { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } = sdk;
export type S3Client = InstanceType<S3Sdk["S3Client"]>;
