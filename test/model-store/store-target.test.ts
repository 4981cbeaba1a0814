/**
 * with-store's and with-aws-store's arguments onto the CLI container: the Entra access token travels
 * as one more secret variable, exclusive like the others; an S3 bucket's keys and web identity
 * token as the AWS_* variables the CLI reads, its other settings as --s3-* flags.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { Secret } from "../support/sdk.js";
import { storeTarget } from "../../dagger/src/model-store/step.js";

/** Stands in for a Dagger Secret: storeTarget only passes it on. */
const secret = (label: string) => ({ label }) as unknown as Secret;

test("--entra-token: set as AZURE_STORAGE_ENTRA_TOKEN for the CLI, never as a flag", () => {
  const token = secret("token");
  const target = storeTarget({ account: "acct01", entraToken: token });
  assert.equal(target.secrets, [{ env: "AZURE_STORAGE_ENTRA_TOKEN", secret: token }]);
  assert.equal(target.flags, ["--container", "models", "--account", "acct01"]);
});

test("--entra-token with another mode, or without an account, is refused where the user typed it", () => {
  assert.throws(
    () => storeTarget({ account: "acct01", entraToken: secret("t"), accountKey: secret("k") }),
    /conflicting storage credentials: .*--account-key.*--entra-token|conflicting storage credentials: .*--entra-token.*--account-key/,
  );
  assert.throws(
    () => storeTarget({ entraToken: secret("t") }),
    /Entra ID access token auth \(--entra-token\): missing --account-url or --account/,
  );
  assert.throws(() => storeTarget({ accountUrl: "http://127.0.0.1:10000/devstoreaccount1", entraToken: secret("t") }), /must be https/);
});

const s3 = (o: Record<string, unknown>) => storeTarget({ s3Bucket: "ml-models", s3Region: "eu-west-1", ...o });

test("with-aws-store: keys as AWS_* secret variables, the rest as --s3-* flags; the store is the bucket", () => {
  const [id, key, session] = [secret("id"), secret("key"), secret("session")];
  const t = s3({ awsAccessKeyId: id, awsSecretAccessKey: key, awsSessionToken: session });
  assert.equal(t.flags, ["--s3-bucket", "ml-models", "--s3-region", "eu-west-1"]);
  assert.equal(t.secrets, [
    { env: "AWS_ACCESS_KEY_ID", secret: id },
    { env: "AWS_SECRET_ACCESS_KEY", secret: key },
    { env: "AWS_SESSION_TOKEN", secret: session },
  ]);
  const token = secret("oidc");
  const ci = s3({
    s3Endpoint: "https://minio.example.com:9000",
    s3RoleArn: "arn:aws:iam::123456789012:role/model-store-ci",
    s3WebIdentityToken: token,
    s3RoleSessionName: "build-42",
  });
  assert.equal(ci.flags, [
    "--s3-bucket",
    "ml-models",
    "--s3-region",
    "eu-west-1",
    "--s3-endpoint",
    "https://minio.example.com:9000",
    "--s3-role-arn",
    "arn:aws:iam::123456789012:role/model-store-ci",
    "--s3-role-session-name",
    "build-42",
  ]);
  assert.equal(ci.secrets, [{ env: "AWS_WEB_IDENTITY_TOKEN", secret: token }]);
  assert.equal(s3({ s3DefaultChain: true, s3PathStyle: true }).flags.slice(4), ["--s3-path-style", "--s3-default-chain"]);
});

test("with-aws-store's arguments are checked where the user typed them, in its own flags' names", () => {
  const keys = { awsAccessKeyId: secret("id"), awsSecretAccessKey: secret("key") };
  assert.throws(() => s3({ ...keys, s3Region: undefined }), /--region is required: the bucket's AWS region/);
  assert.throws(() => s3({ ...keys, s3Region: "Frankfurt" }), /--region "Frankfurt" is not an AWS region/);
  assert.throws(() => s3({ ...keys, s3Bucket: "ML_models" }), /--bucket "ML_models" is not a valid S3 bucket name/);
  assert.throws(
    () => s3({}),
    /no S3 sign-in given: give --access-key-id and --secret-access-key, --role-arn with --web-identity-token, or --default-chain/,
  );
  assert.throws(() => s3({ awsAccessKeyId: secret("id") }), /--access-key-id needs --secret-access-key/);
  assert.throws(() => s3({ ...keys, s3DefaultChain: true }), /give one S3 sign-in, not several/);
  assert.throws(
    () => s3({ s3RoleArn: "arn:aws:iam::123456789012:role/r" }),
    /--role-arn needs --web-identity-token, the CI system's OIDC token/,
  );
  assert.throws(() => s3({ ...keys, s3Endpoint: "ftp://minio" }), /--endpoint must be an http:\/\/ or https:\/\/ URL/);
});

test.run();
