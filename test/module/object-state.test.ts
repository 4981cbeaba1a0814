/**
 * Object state between chained calls (`with-store ... models`), as the TypeScript runtime
 * restores it: nested objects come back through `Object.assign`, so Secret and Service fields
 * inside `ModelStoreSettings` arrive as id strings (docs/engine-notes.md section 5). The module
 * turns them back into typed objects; the SDK then serializes them by asking each for its id,
 * which the recorded graph shows as a `load...FromID` query.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ModelStoreSettings, restoreStoreSettings } from "../../dagger/src/model-store/settings.js";
import { namedObjectId } from "../support/fake-engine.js";
import { Secret, Service } from "../support/sdk.js";
import { callThroughEntrypoint, contextDirectoryId } from "../support/session.js";

const KEY_ID = namedObjectId("secret", "storage-key");
const SERVICE_ID = namedObjectId("service", "azurite");

test("restoreStoreSettings turns id strings back into Secret and Service objects and keeps the rest", () => {
  const saved = Object.assign(new ModelStoreSettings(), {
    container: "models",
    account: "acct01",
    accountKey: KEY_ID as unknown as Secret,
    managedIdentity: false,
  });
  const restored = restoreStoreSettings(saved);
  assert.ok(restored.accountKey instanceof Secret, "a Secret object");
  assert.is(restored.container, "models");
  assert.is(restored.account, "acct01");
  assert.ok(restored instanceof ModelStoreSettings);
  const withService = restoreStoreSettings(Object.assign(new ModelStoreSettings(), { storeService: SERVICE_ID as unknown as Service }));
  assert.ok(withService.storeService instanceof Service, "a Service object");
  const untouched = new Secret();
  assert.is(
    restoreStoreSettings(Object.assign(new ModelStoreSettings(), { sasToken: untouched })).sasToken,
    untouched,
    "objects stay as they are",
  );
});

// Every Secret field of ModelStoreSettings, written out here (not taken from the module's own list),
// so a field the restore step forgets (entraToken joined late) fails here.
for (const field of [
  "connectionString",
  "sasToken",
  "accountKey",
  "clientSecret",
  "federatedToken",
  "systemAccessToken",
  "entraToken",
] as const) {
  test(`restoreStoreSettings: ${field} saved as an id string comes back as a Secret`, () => {
    const saved = Object.assign(new ModelStoreSettings(), {
      account: "acct01",
      [field]: namedObjectId("secret", field) as unknown as Secret,
    });
    assert.ok(restoreStoreSettings(saved)[field] instanceof Secret, `${field} should be a Secret object, not an id string`);
  });
}

const EMPTY_LISTING = {
  name: "digits-classifier",
  container: "models",
  place: 'container "models"',
  endpoint: "http://store:10000/devstoreaccount1",
  latest: null,
  versions: [],
  aliases: [],
  ignored: [],
};

for (const [label, store, loader] of [
  ["a Secret", { container: "models", account: "acct01", accountKey: KEY_ID }, "loadSecretFromID"],
  ["a Service", { container: "models", storeService: SERVICE_ID }, "loadServiceFromID"],
] as const) {
  test(`with-store ... model-versions through the SDK entrypoint: ${label} saved in the nested settings is used as a typed object`, async () => {
    const run = await callThroughEntrypoint({
      call: {
        parentName: "AiAppPipeline",
        name: "modelVersions",
        parent: { source: contextDirectoryId("/"), revision: "dev", created: "", sourceUrl: "", store },
        inputArgs: { modelName: "digits-classifier" },
      },
      // The CLI's list --json, which model-versions reads into its object.
      respond: (chain) => (chain.at(-1)?.field === "stdout" ? JSON.stringify(EMPTY_LISTING) : undefined),
    });
    assert.is(run.error, undefined, run.output);
    assert.is(run.exitCode, 0, run.output);
    assert.ok(
      run.engine.recorded.some((r) => r.query.includes(loader)),
      `the SDK asked the typed object for its id (${loader})`,
    );
  });
}

test.run();
