/** with-store's arguments onto the CLI container: the Entra access token travels as one more secret variable, exclusive like the others. */
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

test.run();
