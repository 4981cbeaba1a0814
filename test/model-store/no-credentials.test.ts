/**
 * With no sign-in at all, the one error names every way in that the caller's interface has: the
 * CLI's (environment secrets, --az-login, managed identity, and an S3 bucket instead) and
 * with-store's (each sign-in argument, an Azurite service, and with-aws-store instead).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { FEDERATED_TOKEN_FILE_ENV, SECRET_ENV } from "../../dagger/src/credentials/env.js";
import { storeTarget } from "../../dagger/src/model-store/step.js";
import { introspectModule } from "../support/introspect.js";
import { runCli } from "../support/model-cli.js";

test("the CLI with no sign-in names every way in: each secret variable, --az-login, --managed-identity, and an S3 bucket", async () => {
  const r = await runCli(["list", "--account", "acct01"], { HOME: "/nonexistent" });
  assert.is(r.code, 1, r.stderr);
  const missing = [
    ...Object.values(SECRET_ENV),
    FEDERATED_TOKEN_FILE_ENV,
    "--az-login",
    "--managed-identity",
    "--service-connection-id",
    "--s3-bucket",
    "--s3-region",
    "--s3-profile",
    "--s3-role-arn",
    "--s3-default-chain",
    "AWS_ACCESS_KEY_ID",
  ].filter((way) => !r.stderr.includes(way));
  assert.equal(missing, [], r.stderr);
});

test("with-store with no sign-in names every sign-in argument it has, an Azurite service, and with-aws-store", async () => {
  const withStore = (await introspectModule()).main.functions.withStore!;
  const ways = Object.values(withStore.args)
    .filter((a) => a.type === "Secret" || a.type === "Service" || a.name === "managedIdentity")
    .map((a) => `--${a.cliName}`);
  assert.ok(ways.length >= 9, ways.join(" "));
  let message = "";
  try {
    storeTarget({ container: "models", account: "acct01" });
  } catch (e) {
    message = (e as Error).message;
  }
  assert.match(message, /^no storage credentials given/);
  const missing = [...ways, "with-aws-store"].filter((way) => !message.includes(way));
  assert.equal(missing, [], message);
});

test.run();
