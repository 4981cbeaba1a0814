/**
 * The embedded default: everything the pipeline talks to in the cloud, started inside Dagger
 * instead, so `dagger call ci` with no Azure arguments runs the whole pipeline anywhere.
 */
import { dag, Service } from "@dagger.io/dagger";
import { AZURITE_BLOB_PORT } from "../model-store/azurite-dev.js";
import { IMAGES } from "../images.js";

export const REGISTRY_ALIAS = "registry";
export const REGISTRY_PORT = 5000;

export const K3S_ALIAS = "k3s";
export const K3S_API_PORT = 6443;

/** Blob Storage emulator, in memory: every run starts from an empty store. */
export function azuriteService(): Service {
  return dag
    .container()
    .from(IMAGES.azurite)
    .withExposedPort(AZURITE_BLOB_PORT)
    .asService({
      args: ["azurite-blob", "--blobHost", "0.0.0.0", "--blobPort", String(AZURITE_BLOB_PORT), "--inMemoryPersistence", "--skipApiVersionCheck", "--loose"],
    });
}

/** Where the embedded registry is addressed, by the engine's push and by k3s's pulls alike. */
export const LOCAL_REGISTRY = `${REGISTRY_ALIAS}:${REGISTRY_PORT}`;

/** A plain OCI registry (HTTP, no auth): reachable only inside this Dagger session. */
export function registryService(): Service {
  return dag.container().from(IMAGES.registry).withExposedPort(REGISTRY_PORT).asService({ useEntrypoint: true });
}

