/**
 * S3 settings checked before any request: one sign-in (static keys, a profile, web identity, the
 * default chain), the region (required; AWS's names on AWS, any plain token on an S3-compatible
 * store), the bucket name and the endpoint; the command line's --s3-* flags; and S3's errors in
 * the store's words, never with a secret in them. No server here.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CredentialError } from "../../dagger/src/credentials/auth-mode.js";
import { parseCli, S3_CLI_LABELS, UsageError } from "../../dagger/src/model-store/cli-args.js";
import { explainS3Error } from "../../dagger/src/model-store/s3-errors.js";
import { bucketProblem, connectS3, regionProblem, selectS3Auth } from "../../dagger/src/model-store/s3-connect.js";

const L = S3_CLI_LABELS;
const KEYS = { accessKeyId: "AKIAEXAMPLEEXAMPLE00", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" };
const ROLE = "arn:aws:iam::123456789012:role/model-store-ci";

test("one sign-in: static keys, a profile, web identity or the default chain; each missing piece named", () => {
  assert.is(selectS3Auth(KEYS, L), "static-keys");
  assert.is(selectS3Auth({ ...KEYS, sessionToken: "FwoGZXIvYXdzE" }, L), "static-keys");
  assert.is(selectS3Auth({ profile: "ml-team" }, L), "profile");
  assert.is(selectS3Auth({ roleArn: ROLE, webIdentityTokenFile: "/var/run/token" }, L), "web-identity");
  assert.is(selectS3Auth({ roleArn: ROLE, webIdentityToken: "eyJ...", roleSessionName: "run-42" }, L), "web-identity");
  assert.is(selectS3Auth({ defaultChain: true }, L), "default-chain");
  const refused: [Parameters<typeof selectS3Auth>[0], RegExp][] = [
    [{}, /no S3 sign-in given: give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, --s3-profile, --s3-role-arn with AWS_WEB_IDENTITY_TOKEN/],
    [{ accessKeyId: KEYS.accessKeyId }, /AWS_ACCESS_KEY_ID needs AWS_SECRET_ACCESS_KEY/],
    [{ secretAccessKey: KEYS.secretAccessKey }, /AWS_SECRET_ACCESS_KEY needs AWS_ACCESS_KEY_ID/],
    [{ ...KEYS, profile: "ml-team" }, /give one S3 sign-in, not several: AWS access keys and AWS profile/],
    [{ webIdentityTokenFile: "/var/run/token" }, /a web identity token needs the role to assume: --s3-role-arn/],
    [{ roleArn: "model-store-ci", webIdentityTokenFile: "/t" }, /--s3-role-arn is not an IAM role ARN/],
    [{ roleArn: ROLE }, /--s3-role-arn needs exactly one of AWS_WEB_IDENTITY_TOKEN and AWS_WEB_IDENTITY_TOKEN_FILE/],
    [{ profile: "p", roleSessionName: "x" }, /--s3-role-session-name only applies with --s3-role-arn/],
  ];
  for (const [auth, message] of refused) {
    assert.throws(
      () => selectS3Auth(auth, L),
      (e: Error) => e instanceof CredentialError && message.test(e.message) && !e.message.includes(KEYS.secretAccessKey),
      JSON.stringify(auth),
    );
  }
});

test("region required and checked: AWS's names on AWS, a plain token on an S3-compatible endpoint", () => {
  for (const ok of ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1", "il-central-1"]) {
    assert.is(regionProblem(ok, false, "--s3-region"), undefined, ok);
  }
  assert.match(regionProblem("", false, "--s3-region")!, /--s3-region is required: the bucket's AWS region/);
  assert.match(regionProblem("Europe", false, "--s3-region")!, /"Europe" is not an AWS region/);
  assert.match(regionProblem("eu-west", false, "--s3-region")!, /not an AWS region/);
  assert.is(regionProblem("garage", true, "--s3-region"), undefined, "S3-compatible stores name regions as they like");
  assert.match(regionProblem("eu west", true, "--s3-region")!, /is not a region name/);
  assert.is(bucketProblem("ml-models.prod", "--s3-bucket"), undefined);
  for (const bad of ["Models", "ab", "a..b", "192.168.1.1", "-models", "models-", "x".repeat(64)]) {
    assert.match(bucketProblem(bad, "--s3-bucket")!, /is not a valid S3 bucket name/, bad);
  }
});

test("connecting checks everything offline and names the credential without its secret", () => {
  const conn = connectS3({ bucket: "ml-models", region: "eu-west-1", auth: KEYS }, L);
  assert.equal(conn.backend.location, {
    noun: "bucket",
    container: "ml-models",
    endpoint: "https://s3.eu-west-1.amazonaws.com",
    credential: "AWS access keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
  });
  const compatible = connectS3(
    {
      bucket: "models",
      region: "us-east-1",
      endpoint: "https://minio.example.com:9000/",
      auth: { roleArn: ROLE, webIdentityTokenFile: "/t" },
    },
    L,
  );
  assert.is(compatible.backend.location.endpoint, "https://minio.example.com:9000");
  assert.is(
    compatible.backend.location.credential,
    `AWS web identity (AssumeRoleWithWebIdentity) of ${ROLE} (AWS_WEB_IDENTITY_TOKEN_FILE)`,
  );
  assert.throws(
    () => connectS3({ bucket: "models", region: "eu-west-1", endpoint: "https://user:pw@minio.example.com", auth: KEYS }, L),
    /--s3-endpoint must be a plain endpoint URL: no user, password, query or fragment/,
  );
  assert.throws(() => connectS3({ bucket: "models", region: "", auth: KEYS }, L), /--s3-region is required/);
});

test("the command line: --s3-bucket picks S3; region required; Azure flags refused beside it; secrets only from the environment", () => {
  const env = { AWS_ACCESS_KEY_ID: KEYS.accessKeyId, AWS_SECRET_ACCESS_KEY: KEYS.secretAccessKey };
  const o = parseCli(["list", "--s3-bucket", "ml-models", "--s3-region", "eu-west-1"], env);
  assert.equal(o.s3, { bucket: "ml-models", region: "eu-west-1", pathStyle: false, auth: KEYS });
  assert.is(o.container, "ml-models");
  const sso = parseCli(["list", "--s3-bucket", "ml-models", "--s3-region", "eu-west-1", "--s3-profile", "ml-sso"], env);
  assert.equal(sso.s3?.auth, { profile: "ml-sso" }, "an explicit sign-in is not overridden by keys in the environment");
  const ci = parseCli(["fetch", "--out", "/m", "--s3-bucket", "b-1", "--s3-region", "us-east-1", "--s3-role-arn", ROLE], {
    ...env,
    AWS_WEB_IDENTITY_TOKEN_FILE: "/run/token",
  });
  assert.equal(ci.s3?.auth, { roleArn: ROLE, webIdentityTokenFile: "/run/token" });
  const usage: [string[], RegExp][] = [
    [["list", "--s3-bucket", "b-1"], /--s3-bucket needs --s3-region REGION/],
    [["list", "--s3-region", "eu-west-1"], /--s3-region needs --s3-bucket NAME/],
    [
      ["list", "--s3-bucket", "b-1", "--s3-region", "eu-west-1", "--account", "acct"],
      /--account is for a Blob container; with --s3-bucket/,
    ],
    [
      ["list", "--s3-bucket", "b-1", "--s3-region", "eu-west-1", `--s3-secret-access-key=${KEYS.secretAccessKey}`],
      /set AWS_SECRET_ACCESS_KEY instead/,
    ],
    [["list", "--bucket", "b-1"], /--bucket: use --s3-bucket NAME/],
  ];
  for (const [argv, message] of usage) {
    assert.throws(
      () => parseCli(argv, env),
      (e: Error) => e instanceof UsageError && message.test(e.message) && !e.message.includes(KEYS.secretAccessKey),
      argv.join(" "),
    );
  }
});

const where = {
  noun: "bucket" as const,
  container: "ml-models",
  endpoint: "https://s3.eu-west-1.amazonaws.com",
  credential: "AWS access keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
  action: "list digits/",
};
const s3Error = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} message`), { name, $metadata: { httpStatusCode: status }, ...extra });

test("S3's errors in the store's words: what failed, where, what to do", () => {
  const cases: [unknown, RegExp][] = [
    [
      s3Error("NoSuchBucket", 404),
      /bucket "ml-models" at https:\/\/s3.eu-west-1.amazonaws.com does not exist: create it \(aws s3api create-bucket/,
    ],
    [
      s3Error("AccessDenied", 403),
      /AWS access keys .* is not allowed to list digits\/ in bucket "ml-models" .*\(AccessDenied\): grant the store's IAM policy/,
    ],
    [s3Error("InvalidAccessKeyId", 403), /the S3 service rejected the AWS access keys .*\(InvalidAccessKeyId\)/],
    [s3Error("ExpiredToken", 400), /rejected .* an expired session token.*\(ExpiredToken\)/],
    [
      s3Error("PermanentRedirect", 301, { $response: { statusCode: 301, headers: { "x-amz-bucket-region": "us-west-2" } } }),
      /is not in the region the request was signed for \(PermanentRedirect\): it is in us-west-2, give --s3-region us-west-2/,
    ],
    [
      s3Error("InternalError", 500),
      /the S3 service kept failing while trying to list digits\/ .*HTTP 500 InternalError.*retries exhausted/,
    ],
    [
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:9"), { code: "ECONNREFUSED" }),
      /cannot reach the S3 endpoint .* \(ECONNREFUSED\); check --s3-endpoint/,
    ],
    [
      Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" }),
      /could not sign in with AWS access keys .* to list digits\/: Could not load credentials/,
    ],
  ];
  for (const [e, message] of cases) assert.match(explainS3Error(e, where).message, message);
});

test.run();
