/**
 * Entra ID sign-in end to end, through the real @azure/identity credentials and the real CLI:
 * Azurite in OAuth mode over HTTPS (self-signed certificate made by openssl) accepts bearer
 * tokens minted by a local stand-in for Entra ID, Azure Pipelines and App Service managed
 * identity, which checks the secret, assertion or header it receives.
 */
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Azurite, startAzurite } from "../support/azurite.js";
import { selfSignedCert, TlsFiles } from "../support/tls.js";
import { runCli } from "../support/model-cli.js";
import { randomModel, tempDir } from "../support/model-fixtures.js";
import { freePort } from "../support/azurite.js";
import { storageJwt, TokenServer } from "../support/token-server.js";

const EXPECT = {
  tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47",
  clientId: "11111111-2222-3333-4444-555555555555",
  clientSecret: "client-SECRET-value-0123456789",
  federatedToken: "federated-TOKEN-value-0123456789",
  systemAccessToken: "system-ACCESS-token-0123456789",
  serviceConnectionId: "4a4b5c6d-0000-1111-2222-333333333333",
  identityHeader: "identity-HEADER-0123456789",
};

let tls: (TlsFiles & { dir: string }) | undefined;
let az: Azurite;
let ids: TokenServer;
let root = "";

const originalCAs = getCACertificates("default");

async function teardown(): Promise<void> {
  setDefaultCACertificates(originalCAs);
  await ids?.stop();
  await az?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
  if (tls) rmSync(tls.dir, { recursive: true, force: true });
}

test.before(async () => {
  try {
    tls = selfSignedCert();
    // The in-process admin client must trust the test certificate too (the CLI gets NODE_EXTRA_CA_CERTS).
    setDefaultCACertificates([...originalCAs, readFileSync(tls.cert, "utf8")]);
    az = await startAzurite({ tls, oauth: true });
    ids = await new TokenServer(tls, EXPECT).start();
    await az.admin.getContainerClient("models").create();
    root = tempDir();
    // Seeded with the account key (Azurite's OAuth mode still accepts it); every read below uses Entra.
    const seeded = await runCli(
      ["publish", "--dir", randomModel(root, "1.0.0"), "--account-url", az.accountUrl],
      env({ AZURE_STORAGE_KEY: az.key }),
    );
    assert.is(seeded.code, 0, seeded.stderr);
  } catch (e) {
    await teardown(); // uvu skips `after` when `before` fails
    throw e;
  }
});

test.after(teardown);

function env(extra: Record<string, string>): Record<string, string> {
  return { HOME: root, NODE_EXTRA_CA_CERTS: tls!.cert, ...extra };
}

const entraArgs = () => [
  "--account-url",
  az.accountUrl,
  "--tenant-id",
  EXPECT.tenantId,
  "--client-id",
  EXPECT.clientId,
  "--authority-host",
  ids.authorityHost,
];

/** Fetches latest into a new directory; asserts success and that the model is there. */
async function fetchWith(args: string[], secrets: Record<string, string>): Promise<void> {
  const out = join(root, `out-${Math.random().toString(36).slice(2)}`);
  const r = await runCli(["fetch", "--out", out, "--no-cache", ...args], env(secrets));
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /fetched digits-classifier 1.0.0 .* 1 file\(s\)|fetched digits-classifier 1.0.0/);
  assert.ok(readFileSync(join(out, "model.json"), "utf8").includes('"1.0.0"'));
}

test("client secret: signs in through the token endpoint, then reads the store with the bearer token", async () => {
  ids.requests.length = 0;
  await fetchWith(entraArgs(), { AZURE_CLIENT_SECRET: EXPECT.clientSecret });
  assert.ok(ids.requests.includes("token:client_secret"), ids.requests.join());
});

test("client secret: a wrong secret is refused by Entra and reported in one line, secret not echoed", async () => {
  const wrong = "wrong-SECRET-value-9876543210";
  const r = await runCli(["list", ...entraArgs()], env({ AZURE_CLIENT_SECRET: wrong }));
  assert.is(r.code, 1);
  assert.match(r.stderr, /^error: could not sign in with Entra ID client secret \(AZURE_CLIENT_SECRET\) to list .*AADSTS7000215/);
  assert.not.ok(r.stderr.includes(wrong));
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
});

test("federated token (value and file): a client assertion, as AzureCLI@2 idToken or workload identity gives", async () => {
  ids.requests.length = 0;
  await fetchWith(entraArgs(), { AZURE_FEDERATED_TOKEN: EXPECT.federatedToken });
  const tokenFile = join(root, "federated-token");
  await import("node:fs/promises").then((fs) => fs.writeFile(tokenFile, EXPECT.federatedToken));
  await fetchWith(entraArgs(), { AZURE_FEDERATED_TOKEN_FILE: tokenFile });
  assert.is(ids.requests.filter((r) => r === "token:client_assertion").length, 2);
});

test("Azure Pipelines: System.AccessToken -> OIDC token -> client assertion -> storage token", async () => {
  ids.requests.length = 0;
  await fetchWith([...entraArgs(), "--service-connection-id", EXPECT.serviceConnectionId], {
    SYSTEM_ACCESSTOKEN: EXPECT.systemAccessToken,
    SYSTEM_OIDCREQUESTURI: ids.oidcRequestUri,
  });
  const oidc = ids.requests.indexOf("oidc");
  assert.ok(oidc >= 0 && ids.requests.indexOf("token:client_assertion") > oidc, ids.requests.join());
});

test("managed identity: the App Service identity endpoint, as on an Azure-hosted engine", async () => {
  ids.requests.length = 0;
  await fetchWith(["--account-url", az.accountUrl, "--managed-identity"], {
    IDENTITY_ENDPOINT: ids.identityEndpoint,
    IDENTITY_HEADER: EXPECT.identityHeader,
  });
  assert.ok(ids.requests.includes("msi"), ids.requests.join());
});

test("your own Entra access token (az account get-access-token): publish and fetch with it, no other secret", async () => {
  const token = storageJwt(EXPECT.tenantId);
  const dir = randomModel(root, "1.1.0-rc.1", 40_000);
  const pub = await runCli(["publish", "--dir", dir, "--account-url", az.accountUrl], env({ AZURE_STORAGE_ENTRA_TOKEN: `${token}\n` }));
  assert.is(pub.code, 0, pub.stderr);
  assert.match(pub.stdout, /^published digits-classifier 1.1.0-rc.1 /);
  const out = join(root, "out-entra-token");
  const r = await runCli(
    ["fetch", "--out", out, "--no-cache", "--model-version", "1.1.0-rc.1", "--account-url", az.accountUrl],
    env({ AZURE_STORAGE_ENTRA_TOKEN: token }),
  );
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(join(out, "model.onnx")).equals(readFileSync(join(dir, "model.onnx"))));
});

test("an expired or non-JWT access token is refused before any request, the token never echoed", async () => {
  for (const [token, expected] of [
    [
      storageJwt(EXPECT.tenantId, -300),
      /^error: AZURE_STORAGE_ENTRA_TOKEN: the access token expired at .*az account get-access-token --resource https:\/\/storage.azure.com\//,
    ],
    ["opaque-TOKEN-value-0123456789", /^error: AZURE_STORAGE_ENTRA_TOKEN: the access token is not a JWT/],
  ] as const) {
    const r = await runCli(["list", "--account-url", az.accountUrl], env({ AZURE_STORAGE_ENTRA_TOKEN: token }));
    assert.is(r.code, 1);
    assert.match(r.stderr, expected);
    assert.not.ok(r.stderr.includes(token) || r.stderr.includes(token.split(".")[1]!), r.stderr);
  }
});

/** A directory holding a stand-in `az` that answers `az account get-access-token -o json` as the real one does (or fails like it). */
function fakeAz(behaviour: "signed-in" | "signed-out"): { bin: string; log: string } {
  const bin = join(root, `fake-az-${behaviour}`);
  mkdirSync(bin, { recursive: true });
  const log = join(bin, "calls.log");
  const token = storageJwt(EXPECT.tenantId);
  const expiresOn = Math.floor(Date.now() / 1000) + 3600;
  const answer =
    behaviour === "signed-in"
      ? `printf '%s\n' '${JSON.stringify({ accessToken: token, expiresOn: "2099-01-01 00:00:00.000000", expires_on: expiresOn, subscription: "0000", tenant: EXPECT.tenantId, tokenType: "Bearer" })}'`
      : `echo "ERROR: Please run 'az login' to setup account." >&2; exit 1`;
  writeFileSync(join(bin, "az"), `#!/bin/sh\necho "$*" >> '${log}'\n${answer}\n`);
  chmodSync(join(bin, "az"), 0o755);
  return { bin, log };
}

test("--az-login: the az login session's token (AzureCliCredential runs az), --tenant-id passed on", async () => {
  const az_ = fakeAz("signed-in");
  const out = join(root, "out-az-login");
  const r = await runCli(
    ["fetch", "--out", out, "--no-cache", "--az-login", "--tenant-id", EXPECT.tenantId, "--account-url", az.accountUrl],
    env({ PATH: `${az_.bin}:${process.env.PATH}` }),
  );
  assert.is(r.code, 0, r.stderr);
  assert.ok(readFileSync(join(out, "model.json"), "utf8").includes('"1.0.0"'));
  const calls = readFileSync(az_.log, "utf8");
  assert.match(calls, /^account get-access-token --output json --resource https:\/\/storage.azure.com --tenant 72f988bf-/m);
});

test("--az-login without az, or signed out: says so plainly and what to run", async () => {
  const missing = await runCli(["list", "--az-login", "--account-url", az.accountUrl], env({ PATH: join(root, "no-such-bin") }));
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /^error: .*the Azure CLI \(az\) is not installed or not on PATH: install it .*then run az login/);
  assert.is(missing.stderr.trim().split("\n").length, 1, missing.stderr);
  const az_ = fakeAz("signed-out");
  const out = await runCli(["list", "--az-login", "--account-url", az.accountUrl], env({ PATH: `${az_.bin}:${process.env.PATH}` }));
  assert.is(out.code, 1);
  assert.match(out.stderr, /^error: .*you are not signed in to the Azure CLI: run az login/);
});

test("--managed-identity off Azure (no identity endpoint answers) says where it works and what to use instead", async () => {
  const closed = await freePort();
  const started = Date.now();
  const r = await runCli(
    ["list", "--managed-identity", "--account-url", az.accountUrl],
    env({ AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${closed}` }),
  );
  assert.is(r.code, 1);
  assert.match(
    r.stderr,
    /^error: could not sign in with managed identity \(--managed-identity\) to list .*: no managed identity answered here/,
  );
  assert.match(r.stderr, /only works on Azure \(a VM, AKS, App Service.*Azure DevOps agent.*\) with an identity assigned/);
  for (const alternative of ["--az-login", "AZURE_STORAGE_ENTRA_TOKEN", "AZURE_FEDERATED_TOKEN", "AZURE_STORAGE_SAS_TOKEN"]) {
    assert.ok(r.stderr.includes(alternative), `${alternative} not suggested: ${r.stderr}`);
  }
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  console.log(`  (managed identity gave up after ${Date.now() - started} ms)`);
});

test("Entra over plain http is refused before any token is requested", async () => {
  ids.requests.length = 0;
  const r = await runCli(
    ["list", "--account-url", az.accountUrl.replace("https:", "http:"), ...entraArgs().slice(2)],
    env({ AZURE_CLIENT_SECRET: EXPECT.clientSecret }),
  );
  assert.is(r.code, 1);
  assert.match(r.stderr, /must be https/);
  assert.equal(ids.requests, []);
});

test.run();
