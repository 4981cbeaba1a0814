/**
 * The CLI's signer (model/sign_model.py run from the virtualenv) gets only what running Python
 * needs of the environment: never the AZURE_* secrets the CLI itself may hold.
 */
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SIGNING_PYTHON_ENV, signDirectory, signerEnv } from "../../dagger/src/model-store/local-signing.js";
import { tempDir } from "../support/temp.js";

const SECRETS = {
  AZURE_CLIENT_SECRET: "client-secret-value",
  AZURE_STORAGE_CONNECTION_STRING: "AccountKey=abc",
  AZURE_STORAGE_SAS_TOKEN: "sv=2024&sig=xyz",
};

test("signerEnv keeps PATH, HOME and the locale, and drops everything else", () => {
  const kept = signerEnv({ PATH: "/usr/bin", HOME: "/root", LANG: "C.UTF-8", LC_ALL: "C", ...SECRETS, NODE_OPTIONS: "--x" });
  assert.equal(kept, { PATH: "/usr/bin", HOME: "/root", LANG: "C.UTF-8", LC_ALL: "C" });
});

test("the signer process sees none of the CLI's AZURE_* variables", async () => {
  const dir = tempDir("signer-env-");
  const seen = join(dir, "seen-env");
  // a stand-in Python: writes the environment it was given, then fails as sign_model.py does
  const fake = join(dir, "python");
  writeFileSync(fake, `#!/bin/sh\nenv > '${seen}'\necho 'error: stand-in signer' >&2\nexit 1\n`);
  chmodSync(fake, 0o755);
  // the CLI passes its own process.env: put the secrets there, as a CI job's environment would
  Object.assign(process.env, SECRETS, { [SIGNING_PYTHON_ENV]: fake });
  const failed = await signDirectory(dir, join(dir, "key.pem"), process.env)
    .then(
      () => undefined,
      (e: unknown) => e as Error,
    )
    .finally(() => {
      for (const name of [...Object.keys(SECRETS), SIGNING_PYTHON_ENV]) delete process.env[name];
    });
  assert.match(failed?.message ?? "", "stand-in signer");
  const child = readFileSync(seen, "utf8");
  for (const [name, value] of Object.entries(SECRETS)) {
    assert.not.ok(child.includes(name) || child.includes(value), `${name} reached the signer`);
  }
  assert.ok(/^PATH=/m.test(child), "the signer got no PATH");
});

test.run();
