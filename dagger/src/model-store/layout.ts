/**
 * Where things live in the container: `<model-name>/<semver>/<files>` plus
 * `<model-name>/<semver>/model.json`, the manifest that makes a version complete, and
 * `<model-name>/<semver>/model.sig` when the version is signed (written before model.json).
 *
 * Governance lives beside the versions, one small blob per alias and per yanked version
 * (`<model-name>/_aliases/<alias>.json`, `<model-name>/_yanked/<version>.json`): each is moved by
 * its own ETag-conditional write, so moving `champion` never conflicts with yanking 1.2.0 or
 * moving `production`, and no version folder (immutable once complete) is ever written again.
 * Folders starting with "_" can never be versions (a semver starts with a digit).
 */
import { MANIFEST_NAME } from "./manifest.js";

export const DEFAULT_CONTAINER = "models";
export const DEFAULT_MODEL_NAME = "digits-classifier";

/** Azure Blob Storage's limit on a blob name (characters), S3's on a key (bytes of UTF-8). */
export const MAX_BLOB_NAME_LENGTH = 1024;

const CONTAINER_NAME = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;

/** The first character of the store's own folders under a model (aliases, yank marks). */
export const METADATA_FOLDER_PREFIX = "_";
const ALIASES_FOLDER = "_aliases";
const YANKED_FOLDER = "_yanked";

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

export function aliasesPrefix(name: string): string {
  return `${name}/${ALIASES_FOLDER}/`;
}

export function aliasBlobName(name: string, alias: string): string {
  return `${aliasesPrefix(name)}${alias}.json`;
}

export function yankedPrefix(name: string): string {
  return `${name}/${YANKED_FOLDER}/`;
}

export function yankBlobName(name: string, version: string): string {
  return `${yankedPrefix(name)}${version}.json`;
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
