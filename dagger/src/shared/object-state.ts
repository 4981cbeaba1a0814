/**
 * Typed objects back from a chained call's saved state. The TypeScript runtime restores a nested
 * settings object with `Object.assign`, so its Secret and Service fields arrive as the bare id
 * strings the engine sent (docs/engine-notes.md section 5); these turn them back into objects.
 */
import { dag, File, FileID, Secret, SecretID, Service, ServiceID } from "@dagger.io/dagger";

export function restoredSecret(value: Secret | undefined): Secret | undefined {
  const v: unknown = value;
  return typeof v === "string" ? dag.loadSecretFromID(v as SecretID) : value;
}

export function restoredService(value: Service | undefined): Service | undefined {
  const v: unknown = value;
  return typeof v === "string" ? dag.loadServiceFromID(v as ServiceID) : value;
}

export function restoredFile(value: File | undefined): File | undefined {
  const v: unknown = value;
  return typeof v === "string" ? dag.loadFileFromID(v as FileID) : value;
}
