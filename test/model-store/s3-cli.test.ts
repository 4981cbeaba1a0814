/**
 * The store's command on an S3 bucket, as a data scientist runs it (separate processes, versitygw
 * on 127.0.0.1): publish, list, fetch and an unchanged refetch through --s3-bucket, --s3-region and
 * --s3-endpoint with the keys in AWS_*; the other sign-ins (a profile of ~/.aws, the SDK's default
 * chain, web identity through a local stand-in for STS); a new bucket made by publish
 * --create-container; and every way to get it wrong, each one line, no secret ever printed.
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { AddressInfo } from "node:net";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../support/model-cli.js";
import { randomModel, startStoreSuite, stopStoreSuite, StoreSuite } from "../support/model-fixtures.js";
import { closePatient, patient } from "../support/patient-server.js";

let suite: Partial<StoreSuite> = {};
let root: string;
let server: StoreSuite["server"];

test.before(async () => {
  suite = await startStoreSuite("s3");
  ({ server, root } = suite as StoreSuite);
});

test.after(() => stopStoreSuite(suite));

const env = (extra: Record<string, string> = {}) => ({ HOME: root, ...server.cliEnv(), ...extra });

test("publish, list, fetch, refetch on an S3 bucket, as a data scientist would", async () => {
  const dir = randomModel(root, "1.0.0", 300_000, "s3-cli");
  const pub = await runCli(["publish", "--dir", dir, ...server.cliFlags()], env());
  assert.is(pub.code, 0, pub.stderr);
  assert.match(pub.stdout, /^published s3-cli 1\.0\.0 to bucket "models" at http:\/\/127\.0\.0\.1:\d+: 2 file\(s\)/);
  const list = await runCli(["list", "--model-name", "s3-cli", "--json", ...server.cliFlags()], env());
  assert.is(list.code, 0, list.stderr);
  const doc = JSON.parse(list.stdout);
  assert.equal([doc.container, doc.latest, doc.versions.map((v: { state: string }) => v.state)], ["models", "1.0.0", ["complete"]]);
  const table = await runCli(["list", "--model-name", "s3-cli", ...server.cliFlags()], env());
  assert.match(table.stdout, /^s3-cli in bucket "models" at http:\/\/127\.0\.0\.1:\d+\n/);

  const out = join(root, "fetched");
  const cache = join(root, "cache");
  const args = ["fetch", "--model-name", "s3-cli", "--out", out, "--cache-dir", cache, "--json", ...server.cliFlags()];
  const first = JSON.parse((await runCli(args, env())).stdout);
  assert.equal([first.version, first.downloadedBytes > 300_000, first.upToDate], ["1.0.0", true, false]);
  const again = JSON.parse((await runCli(args, env())).stdout);
  assert.equal([again.upToDate, again.downloadedBytes], [true, 0]);
});

test("sign-in with a profile of ~/.aws and with the SDK's default chain: the same store, no key in the environment or argv", async () => {
  const home = join(root, "home-profile");
  mkdirSync(join(home, ".aws"), { recursive: true });
  writeFileSync(
    join(home, ".aws", "credentials"),
    `[ml-team]\naws_access_key_id = ${server.s3!.accessKeyId}\naws_secret_access_key = ${server.s3!.secretAccessKey}\n`,
  );
  const profile = await runCli(["list", ...server.cliFlags(), "--s3-profile", "ml-team"], { HOME: home });
  assert.is(profile.code, 0, profile.stderr);
  assert.match(profile.stdout, /in bucket "models" at /);
  const chain = await runCli(["list", ...server.cliFlags(), "--s3-default-chain"], { HOME: home, AWS_PROFILE: "ml-team" });
  assert.is(chain.code, 0, chain.stderr);
  const unknown = await runCli(["list", ...server.cliFlags(), "--s3-profile", "nobody"], { HOME: home });
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /^error: could not sign in with AWS profile "nobody" \(--s3-profile\) to list digits-classifier\//);
});

test("web identity: the CI token file is exchanged at STS (AssumeRoleWithWebIdentity, the role and session named) for temporary keys that sign the S3 requests", async () => {
  // A stand-in for STS (AWS_ENDPOINT_URL_STS points the SDK at it): it answers with the server's
  // keys and a session token. versitygw has no STS and refuses any session token (InvalidToken),
  // which shows the S3 requests were signed with what STS returned; AWS would take them.
  const calls: URLSearchParams[] = [];
  const sts = patient(
    createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        calls.push(new URLSearchParams(body));
        res.writeHead(200, { "content-type": "text/xml" });
        res.end(
          '<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>' +
            `<Credentials><AccessKeyId>${server.s3!.accessKeyId}</AccessKeyId><SecretAccessKey>${server.s3!.secretAccessKey}</SecretAccessKey>` +
            "<SessionToken>FQoGZXIvYXdzSESSION</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>" +
            "<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/model-store-ci/run</Arn><AssumedRoleId>AROA:run</AssumedRoleId></AssumedRoleUser>" +
            "</AssumeRoleWithWebIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></AssumeRoleWithWebIdentityResponse>",
        );
      });
    }),
  );
  await new Promise<void>((r) => sts.listen(0, "127.0.0.1", r));
  try {
    const token = join(root, "oidc-token");
    writeFileSync(token, "eyJhbGciOiJSUzI1NiJ9.ci-token.sig");
    const role = "arn:aws:iam::123456789012:role/model-store-ci";
    const r = await runCli(["list", ...server.cliFlags(), "--s3-role-arn", role, "--s3-role-session-name", "build-42"], {
      HOME: root,
      AWS_WEB_IDENTITY_TOKEN_FILE: token,
      AWS_ENDPOINT_URL_STS: `http://127.0.0.1:${(sts.address() as AddressInfo).port}`,
    });
    assert.is(calls.length, 1, r.stderr);
    const call = calls[0]!;
    assert.equal(
      [call.get("Action"), call.get("RoleArn"), call.get("RoleSessionName"), call.get("WebIdentityToken")],
      ["AssumeRoleWithWebIdentity", role, "build-42", "eyJhbGciOiJSUzI1NiJ9.ci-token.sig"],
    );
    assert.is(r.code, 1);
    assert.match(
      r.stderr,
      /rejected the AWS web identity \(AssumeRoleWithWebIdentity\) of arn:aws:iam::123456789012:role\/model-store-ci .*\(InvalidToken\)/,
    );
    assert.not.ok(r.stderr.includes("ci-token") || r.stderr.includes("SESSION"), "neither token is printed");
  } finally {
    await closePatient(sts);
  }
});

test("publish --create-container makes a missing bucket; without it, the missing bucket is named with what to do", async () => {
  const dir = randomModel(root, "1.0.0", 1000, "fresh");
  const flags = server.cliFlags().map((f) => (f === "models" ? "fresh-bucket" : f));
  const missing = await runCli(["list", "--model-name", "fresh", ...flags], env());
  assert.is(missing.code, 1);
  assert.match(
    missing.stderr,
    /^error: bucket "fresh-bucket" at http:\/\/127\.0\.0\.1:\d+ does not exist: create it \(aws s3api create-bucket/,
  );
  const made = await runCli(["publish", "--dir", dir, "--create-container", ...flags], env());
  assert.is(made.code, 0, made.stderr);
  assert.match(made.stdout, /to bucket "fresh-bucket"/);
});

test("each mistake is one line, exit 1 (2 for usage), and no secret is echoed", async () => {
  const secret = randomBytes(30).toString("base64");
  const wrong = await runCli(["list", ...server.cliFlags()], env({ AWS_SECRET_ACCESS_KEY: secret }));
  assert.is(wrong.code, 1);
  assert.match(
    wrong.stderr,
    /^error: the S3 service rejected the AWS access keys \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\) while trying to list/,
  );
  assert.not.ok((wrong.stdout + wrong.stderr).includes(secret), "the secret is not printed");

  const noKeys = await runCli(["list", ...server.cliFlags()], { HOME: root });
  assert.is(noKeys.code, 1);
  assert.match(noKeys.stderr, /^error: no S3 sign-in given: give AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, --s3-profile/);

  const flag = await runCli(["list", ...server.cliFlags(), "--s3-secret-access-key", secret], env());
  assert.is(flag.code, 2);
  assert.match(
    flag.stderr,
    /--s3-secret-access-key is not accepted: secrets are read from the environment only; set AWS_SECRET_ACCESS_KEY instead/,
  );
  assert.not.ok(flag.stderr.includes(secret));

  const noRegion = await runCli(["list", "--s3-bucket", "models"], env());
  assert.is(noRegion.code, 2);
  assert.match(noRegion.stderr, /--s3-bucket needs --s3-region REGION/);

  const unreachable = await runCli(
    ["list", "--s3-bucket", "models", "--s3-region", "eu-west-1", "--s3-endpoint", "http://127.0.0.1:9"],
    env(),
  );
  assert.is(unreachable.code, 1);
  assert.match(
    unreachable.stderr,
    /^error: cannot reach the S3 endpoint http:\/\/127\.0\.0\.1:9 to list digits-classifier\/ \(ECONNREFUSED\); check --s3-endpoint/,
  );
});

test.run();
