/**
 * The model store on an S3 bucket, on the real engine: versitygw (the tests' S3 server, see
 * test/support/s3-server.ts) listens on the host end of the engine's veth, and `with-aws-store
 * --endpoint http://<host>:<port> --path-style` reaches it from the engine's containers with its
 * keys as env:// secrets. Shown: publish-model signed, model-versions, set-alias and
 * fetch-model by @alias with --public-key, and an alias on a yanked version refused. versitygw is
 * not Amazon S3 (no IAM, no STS, no 409 on racing writes): what this shows is the module's S3
 * backend and its keys running in the engine, not AWS.
 */
import { generateKeyPairSync } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, DaggerResult, engineEnv, tail } from "../support/dagger-cli.js";
import { fetchedVersion } from "../support/fetched-model.js";
import { S3Server, startS3Server } from "../support/s3-server.js";
import { tempDir } from "../support/temp.js";

const BUCKET = "e2e-models";
const BY = "npm run e2e";
const dir = tempDir("e2e-s3-");
let s3: S3Server | undefined;

const store = (): string[] => [
  "call",
  "with-aws-store",
  "--bucket",
  BUCKET,
  "--region",
  s3!.region,
  "--endpoint",
  s3!.endpoint,
  "--path-style",
  "--access-key-id",
  "env://AWS_ACCESS_KEY_ID",
  "--secret-access-key",
  "env://AWS_SECRET_ACCESS_KEY",
];
const keys = () => ({ AWS_ACCESS_KEY_ID: s3!.accessKeyId, AWS_SECRET_ACCESS_KEY: s3!.secretAccessKey });

async function run(args: string[], label: string): Promise<DaggerResult> {
  const r = await dagger(args, { label, env: keys() });
  console.log(`    ${callLine(r)}`);
  assert.not.ok(both(r).includes(s3!.secretAccessKey), `${label}: the secret key is in the output`);
  return r;
}

async function ok(args: string[], label: string): Promise<DaggerResult> {
  const r = await run(args, label);
  assert.is(r.code, 0, `${label} failed:\n${tail(both(r), 40)}`);
  return r;
}

const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
const signingKey = join(dir, "signer.key");
const publicKeyFile = join(dir, "signer.pub");
writeFileSync(signingKey, privateKey.export({ type: "pkcs8", format: "pem" }));
writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }));

test.before(async () => {
  s3 = await startS3Server(engineEnv().hostIp);
  const made = await s3.raw("PUT", `/${BUCKET}`);
  assert.ok(made.status < 300, `creating bucket ${BUCKET}: ${made.status}`);
  console.log(`    S3 server (versitygw) at ${s3.endpoint}, bucket ${BUCKET}`);
});
test.after(async () => {
  await s3?.stop();
});

test("publish-model --signing-key to the bucket, then model-versions names it latest", async () => {
  const model = join(dir, "model-1.0.0");
  await ok(["call", "train-sample-model", "--model-version", "1.0.0", "export", "--path", model], "train-1.0.0");
  const published = await ok([...store(), "publish-model", "--model", model, "--signing-key", `file://${signingKey}`], "s3-publish");
  assert.match(published.stdout, "1.0.0");
  const latest = await ok([...store(), "model-versions", "latest"], "s3-model-versions");
  assert.is(latest.stdout.trim(), "1.0.0");
});

test("set-alias champion, fetch-model @champion --public-key: every file verified; yanked, the alias refuses", async () => {
  await ok([...store(), "set-alias", "--alias", "champion", "--model-version", "1.0.0", "--by", BY], "s3-set-alias");
  const out = join(dir, "fetched");
  await ok([...store(), "fetch-model", "--model-version", "@champion", "--public-key", publicKeyFile, "export", "--path", out], "s3-fetch");
  assert.is(fetchedVersion(out), "1.0.0");
  await ok([...store(), "yank", "--model-version", "1.0.0", "--reason", "e2e: withdrawn on purpose", "--by", BY], "s3-yank");
  const refused = await run(
    [...store(), "fetch-model", "--model-version", "@champion", "export", "--path", join(dir, "refused")],
    "s3-fetch-yanked",
  );
  assert.is.not(refused.code, 0, "@champion fetched a yanked version");
  assert.match(both(refused), "which is yanked");
});

test.run();
