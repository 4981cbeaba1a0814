/** Entra credential construction: the right @azure/identity class per mode, tokens read lazily. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CredentialError } from "../../dagger/src/credentials/auth-mode.js";
import { entraCredential } from "../../dagger/src/credentials/entra.js";
import { fixedToken, tokenFromFile } from "../../dagger/src/credentials/federated-token.js";
import { rejectsWith } from "../support/expect.js";

const ids = { tenantId: "72f988bf-86f1-41af-91ab-2d7cd011db47", clientId: "11111111-2222-3333-4444-555555555555" };

/** The @azure/identity class behind a credential (by name: the module and the tests may load different builds of the package). */
const kind = (c: object) => c.constructor.name;

test("each mode builds its credential class", () => {
  assert.is(kind(entraCredential({ kind: "client-secret", ...ids, clientSecret: "s" })), "ClientSecretCredential");
  assert.is(kind(entraCredential({ kind: "federated-token", ...ids, getToken: fixedToken("t") })), "ClientAssertionCredential");
  assert.is(kind(entraCredential({ kind: "managed-identity" })), "ManagedIdentityCredential");
  assert.is(kind(entraCredential({ kind: "managed-identity", clientId: ids.clientId })), "ManagedIdentityCredential");
  const saved = process.env.SYSTEM_OIDCREQUESTURI;
  try {
    delete process.env.SYSTEM_OIDCREQUESTURI;
    const pipelines = { kind: "azure-pipelines", ...ids, serviceConnectionId: "sc", systemAccessToken: "tok" } as const;
    assert.throws(
      () => entraCredential(pipelines),
      (e: Error) => e instanceof CredentialError && /SYSTEM_OIDCREQUESTURI/.test(e.message),
    );
    process.env.SYSTEM_OIDCREQUESTURI = "https://dev.azure.com/org/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken";
    assert.is(kind(entraCredential(pipelines)), "AzurePipelinesCredential");
  } finally {
    if (saved === undefined) delete process.env.SYSTEM_OIDCREQUESTURI;
    else process.env.SYSTEM_OIDCREQUESTURI = saved;
  }
});

test("a token file is read on every call (rotated tokens), with clear errors", async () => {
  const dir = mkdtempSync(join(tmpdir(), "token-"));
  try {
    const file = join(dir, "token");
    const get = tokenFromFile(file);
    assert.instance(await rejectsWith(get(), /cannot read the federated token file .*ENOENT/), CredentialError);
    writeFileSync(file, "first\n");
    assert.is(await get(), "first");
    writeFileSync(file, "second");
    assert.is(await get(), "second");
    writeFileSync(file, "  \n");
    await rejectsWith(get(), /is empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
