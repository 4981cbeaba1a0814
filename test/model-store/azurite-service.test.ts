/** The embedded default's Azurite service, as the module asks the engine for it. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { azuriteService } from "../../dagger/src/model-store/azurite-service.js";
import { recordGraph } from "../support/session.js";

test("the embedded Azurite keeps to itself: in memory, and no usage telemetry to Microsoft (Azurite sends it by default)", async () => {
  const { engine, error } = await recordGraph(() => azuriteService().id());
  assert.is(error, undefined, String(error));
  const [service] = engine.find("asService");
  assert.ok(service, "an Azurite service");
  const args = service.op.args.args as string[];
  assert.is(args[0], "azurite-blob");
  assert.ok(args.includes("--disableTelemetry"), args.join(" "));
  assert.ok(args.includes("--inMemoryPersistence"), args.join(" "));
});

test.run();
