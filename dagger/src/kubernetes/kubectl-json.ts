/**
 * Reading kubectl's `--output=json` defensively: a missing or mistyped field reads as empty, so
 * every reader of cluster objects (status, diagnosis, ledger, canary) walks them the same way.
 */
import { APP_CONTAINER } from "./render.js";

export type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : {});
export const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(obj) : []);
/** A non-empty string, else undefined. */
export const str = (v: unknown): string | undefined => (typeof v === "string" && v ? v : undefined);

/**
 * The objects `kubectl get A B --ignore-not-found --output=json` printed: none (empty output,
 * nothing found), one object, or a List's items. Throws, quoting the start, when it is not JSON.
 */
export function kubectlGetItems(stdout: string): Obj[] {
  if (!stdout.trim()) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    throw new Error(`kubectl get printed something that is not JSON: ${stdout.trim().slice(0, 200)}`);
  }
  const o = obj(parsed);
  return o.kind === "List" || Array.isArray(o.items) ? list(o.items) : [o];
}

/** The app's container of a pod spec (a pod's, or a Deployment's template's): the one named app, else the first. */
export function appContainer(podSpec: unknown): Obj | undefined {
  const containers = list(obj(podSpec).containers);
  return containers.find((c) => c.name === APP_CONTAINER) ?? containers[0];
}
