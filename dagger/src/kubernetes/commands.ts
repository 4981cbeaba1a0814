/**
 * Every kubectl command the deploy step runs, as argument lists (no shell anywhere: the
 * official kubectl image has none). Pure: the same inputs always give the same argv.
 */

/** Where things live inside the kubectl container. */
export const PATHS = {
  /** The kubeconfig Secret, mounted as a file (never an env value or a layer). */
  kubeconfig: "/run/kube/config",
  /** The Entra ID access token Secret, mounted as a file, when one is given. */
  token: "/run/kube/token",
  /** A kubeconfig fragment (no secret in it) naming a user that reads the token file. */
  tokenUser: "/etc/kube/token-user.yaml",
  /** The rendered, validated manifests. */
  manifests: "/manifests",
} as const;

/** The kubeconfig user that authenticates with the mounted token file. */
export const TOKEN_USER = "ai-app-pipeline-token";
export const DEFAULT_FIELD_MANAGER = "ai-app-pipeline";
export const DEFAULT_TIMEOUT = "5m";
export const DEFAULT_NAMESPACE = "default";

/**
 * A kubeconfig fragment that defines the user `ai-app-pipeline-token`, authenticating with the
 * bearer token in `tokenFile` (kubectl reads it per request and trims the trailing newline).
 * Merged after the real kubeconfig (KUBECONFIG=config:fragment) and selected with `--user`, it
 * replaces the kubeconfig's own user, e.g. the `kubelogin` exec plugin that `az aks
 * get-credentials` writes for Entra ID clusters, while the cluster address and CA still come
 * from the kubeconfig. It holds a path, never the token.
 */
export function tokenUserKubeconfig(tokenFile: string = PATHS.token): string {
  return ["apiVersion: v1", "kind: Config", "users:", `  - name: ${TOKEN_USER}`, "    user:", `      tokenFile: ${tokenFile}`, ""].join(
    "\n",
  );
}

/** The KUBECONFIG value: the mounted kubeconfig, plus the token-user fragment when a token is used. */
export function kubeconfigPathList(withToken: boolean): string {
  return withToken ? `${PATHS.kubeconfig}:${PATHS.tokenUser}` : PATHS.kubeconfig;
}

/** Which cluster, context, user and namespace every command addresses. */
export interface Target {
  namespace: string;
  /** A context of the kubeconfig; its current context when absent. */
  context?: string;
  /** Use the token user instead of the context's user. */
  token?: boolean;
}

/** The target of every command: a namespace, the kubeconfig context if one is named, the token user when a token is given. */
export function targetOf(namespace: string, o: { context?: string | undefined; token?: unknown }): Target {
  return { namespace, ...(o.context ? { context: o.context } : {}), ...(o.token ? { token: true } : {}) };
}

/** Flags appended to every command. */
export function targetFlags(t: Target): string[] {
  return [`--namespace=${t.namespace}`, ...(t.context ? [`--context=${t.context}`] : []), ...(t.token ? [`--user=${TOKEN_USER}`] : [])];
}

export interface ApplyOptions {
  fieldManager?: string;
  /** Take over fields another manager (e.g. `kubectl edit`) set; otherwise such conflicts fail the apply. */
  forceConflicts?: boolean;
}

function applyFlags(o: ApplyOptions): string[] {
  return [
    "--server-side",
    `--field-manager=${o.fieldManager ?? DEFAULT_FIELD_MANAGER}`,
    ...(o.forceConflicts ? ["--force-conflicts"] : []),
  ];
}

/** The revision the Deployment is at now; prints nothing (exit 0) when there is no such Deployment. */
export function readRevisionArgs(deployment: string, t: Target): string[] {
  return [
    "kubectl",
    "get",
    `deployment/${deployment}`,
    "--ignore-not-found",
    "--output=jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
    ...targetFlags(t),
  ];
}

/** Server-side apply, `--dry-run=server` when `dryRun`: admission and schema checks, nothing stored. */
export function applyArgs(t: Target, o: ApplyOptions & { dryRun?: boolean }): string[] {
  return [
    "kubectl",
    "apply",
    ...applyFlags(o),
    ...(o.dryRun ? ["--dry-run=server"] : []),
    `--filename=${PATHS.manifests}`,
    ...targetFlags(t),
  ];
}

/** What applying would change: exit 0 no differences, 1 differences, more is an error. */
export function diffArgs(t: Target, o: ApplyOptions): string[] {
  return ["kubectl", "diff", ...applyFlags(o), `--filename=${PATHS.manifests}`, ...targetFlags(t)];
}

/** Waits for the Deployment's rollout; non-zero on timeout or when its progress deadline is exceeded. */
export function rolloutStatusArgs(deployment: string, timeout: string, t: Target): string[] {
  return ["kubectl", "rollout", "status", `deployment/${deployment}`, "--watch=true", `--timeout=${timeout}`, ...targetFlags(t)];
}

/** The Deployment's pods, as JSON. */
export function podsArgs(selector: Record<string, string>, t: Target): string[] {
  return ["kubectl", "get", "pods", `--selector=${labelSelector(selector)}`, "--output=json", ...targetFlags(t)];
}

/** The namespace's warning events, as JSON (filtered to the Deployment's objects in TypeScript). */
export function eventsArgs(t: Target): string[] {
  return ["kubectl", "get", "events", "--field-selector=type=Warning", "--output=json", ...targetFlags(t)];
}

/** Rolls the Deployment back to the revision it was at before this deploy. */
export function undoArgs(deployment: string, revision: string, t: Target): string[] {
  return ["kubectl", "rollout", "undo", `deployment/${deployment}`, `--to-revision=${revision}`, ...targetFlags(t)];
}

/**
 * GET `path` from a Service's pods through the API server's service proxy (`kubectl get --raw`):
 * reaches the app with nothing but the kubeconfig, whether or not the load balancer is up. Needs
 * `get` on `services/proxy`. (kubectl's raw POST sends no Content-Type, so `POST /score`, which
 * wants application/json, cannot go this way.)
 */
export function serviceGetArgs(service: string, port: string, path: string, t: Target): string[] {
  const p = path.startsWith("/") ? path : `/${path}`;
  return ["kubectl", "get", "--raw", `/api/v1/namespaces/${t.namespace}/services/http:${service}:${port}/proxy${p}`, ...targetFlags(t)];
}

export function labelSelector(selector: Record<string, string>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** A Go duration as kubectl's `--timeout` takes it: `90s`, `5m`, `1h30m`. */
export function isGoDuration(s: string): boolean {
  return /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(s) && !/^0+(?:\.0+)?[a-zµ]+$/.test(s);
}

// ---- canary, ledger and rollback ----------------------------------------------------------

/** Where the files a step writes (canary manifest, ledger ConfigMap) are put in the kubectl container. */
export const STEP_FILES = "/run/ai-app-pipeline";

/** A Deployment (or nothing, exit 0, when it does not exist) as JSON. */
export function getDeploymentArgs(deployment: string, t: Target): string[] {
  return ["kubectl", "get", `deployment/${deployment}`, "--ignore-not-found", "--output=json", ...targetFlags(t)];
}

/** The Deployments carrying `selector` (e.g. every canary this pipeline left), as a JSON list. */
export function deploymentsBySelectorArgs(selector: Record<string, string>, t: Target): string[] {
  return ["kubectl", "get", "deployments", `--selector=${labelSelector(selector)}`, "--output=json", ...targetFlags(t)];
}

/**
 * Deletes Deployments and waits until they and their pods are gone (foreground cascade), so that
 * "removed" means no canary pod serves any more; absent ones are not an error.
 */
export function deleteDeploymentsArgs(names: string[], t: Target): string[] {
  return [
    "kubectl",
    "delete",
    ...names.map((n) => `deployment/${n}`),
    "--ignore-not-found",
    "--cascade=foreground",
    "--wait=true",
    ...targetFlags(t),
  ];
}

/** Server-side apply of one file (the canary Deployment). */
export function applyFileArgs(file: string, t: Target, o: ApplyOptions): string[] {
  return ["kubectl", "apply", ...applyFlags(o), `--filename=${file}`, ...targetFlags(t)];
}

/** The release ledger ConfigMap and the Deployment, absent ones left out (exit 0), as JSON. */
export function ledgerReadArgs(configMap: string, deployment: string, t: Target): string[] {
  return ["kubectl", "get", `configmap/${configMap}`, `deployment/${deployment}`, "--ignore-not-found", "--output=json", ...targetFlags(t)];
}

/** Creates the object in `file`; fails with AlreadyExists when someone else created it first. */
export function createFileArgs(file: string, t: Target): string[] {
  return ["kubectl", "create", `--filename=${file}`, ...targetFlags(t)];
}

/**
 * Replaces the object with the one in `file`, whose metadata.resourceVersion makes it conditional:
 * the API server answers 409 Conflict when the object changed since it was read.
 */
export function replaceFileArgs(file: string, t: Target): string[] {
  return ["kubectl", "replace", `--filename=${file}`, ...targetFlags(t)];
}

/** A Go duration in whole seconds (rounded up); `isGoDuration` first. */
export function durationSeconds(s: string): number {
  const unit: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, n, u] of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(n) * unit[u!]!;
  return Math.ceil(total);
}
