/**
 * Where things live in the container: `<model-name>/<semver>/<files>` plus
 * `<model-name>/<semver>/model.json`, the manifest that makes a version complete.
 */
import { MANIFEST_NAME } from "./manifest.js";

export const DEFAULT_CONTAINER = "models";
export const DEFAULT_MODEL_NAME = "digits-classifier";

/** Azure Blob Storage's limit on a blob name (characters). */
export const MAX_BLOB_NAME_LENGTH = 1024;

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

export function modelPrefix(name: string): string {
  return `${name}/`;
}

export function versionPrefix(name: string, version: string): string {
  return `${name}/${version}/`;
}

export function fileBlobName(name: string, version: string, path: string): string {
  return `${versionPrefix(name, version)}${path}`;
}

export function manifestBlobName(name: string, version: string): string {
  return fileBlobName(name, version, MANIFEST_NAME);
}

/** `{version, path}` of a blob under `name/`, or undefined for anything else. */
export function splitBlobName(name: string, blobName: string): { version: string; path: string } | undefined {
  const prefix = modelPrefix(name);
  if (!blobName.startsWith(prefix)) return undefined;
  const rest = blobName.slice(prefix.length);
  const slash = rest.indexOf("/");
  if (slash <= 0 || slash === rest.length - 1) return undefined;
  return { version: rest.slice(0, slash), path: rest.slice(slash + 1) };
}

/** Azure's container naming rule, checked before any request for a clearer error than the server's. */
export function containerNameProblem(name: string): string | undefined {
  return CONTAINER_NAME.test(name)
    ? undefined
    : `container name ${JSON.stringify(name)} is invalid: 3-63 lowercase letters, digits and single dashes`;
}
