/** with-registry's checks, where the user typed the flags. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { registrySettings } from "../../dagger/src/registry/settings.js";

test("a bare registry name is refused with the ACR login server it most likely means", () => {
  assert.throws(() => registrySettings({ address: "myacr", repository: "ai-app" }), /registry "myacr" is a bare name.*myacr\.azurecr\.io/);
});

test("full host names, hosts with a port and localhost are accepted", () => {
  for (const address of ["myacr.azurecr.io", "registry:5000", "localhost", "127.0.0.1:5000"]) {
    assert.is(registrySettings({ address, repository: "ai-app" }).address, address);
  }
});

test.run();
