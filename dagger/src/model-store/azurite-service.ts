/** The embedded default's model store: the Blob Storage emulator as a Dagger service. */
import { dag, Service } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";
import { AZURITE_BLOB_PORT } from "./azurite-dev.js";

/** Blob Storage emulator, in memory (every run starts from an empty store), with no telemetry. */
export function azuriteService(): Service {
  return dag
    .container()
    .from(IMAGES.azurite)
    .withExposedPort(AZURITE_BLOB_PORT)
    .asService({
      args: [
        "azurite-blob",
        "--blobHost",
        "0.0.0.0",
        "--blobPort",
        String(AZURITE_BLOB_PORT),
        "--inMemoryPersistence",
        "--skipApiVersionCheck",
        "--loose",
        // Azurite reports usage to Microsoft unless told not to; a local debug store sends nothing out.
        "--disableTelemetry",
      ],
    });
}
