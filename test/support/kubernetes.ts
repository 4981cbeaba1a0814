/** Shared by the deploy tests: the shipped k8s/ files, a rendered set, and the real kubectl binary. */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ManifestFile } from "../../dagger/src/kubernetes/documents.js";
import { renderManifests, RenderOptions } from "../../dagger/src/kubernetes/render.js";
import { ROOT } from "./session.js";
import { tempDir } from "./temp.js";

export const DIGEST = `sha256:${"c".repeat(64)}`;
export const IMAGE = `myacr.azurecr.io/ai-app@${DIGEST}`;
export const MODEL = { name: "digits-classifier", version: "1.4.0", sha256: "d".repeat(64) };
export const REVISION = "0123456789abcdef0123456789abcdef01234567";

/** k8s/*.yaml as shipped, in name order. */
export function shippedManifests(): ManifestFile[] {
  const dir = join(ROOT, "k8s");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => ({ path: f, text: readFileSync(join(dir, f), "utf8") }));
}

/** k8s/ rendered for IMAGE with MODEL and REVISION, unless overridden. */
export function renderShipped(opts: Partial<RenderOptions> = {}): ManifestFile[] {
  return renderManifests(shippedManifests(), {
    image: IMAGE,
    namespace: "ai-app",
    metadata: { revision: REVISION, model: MODEL },
    ...opts,
  });
}

/** Writes files into a fresh temp directory and returns its path. */
export function writeTemp(files: ManifestFile[], prefix = "k8s-"): string {
  const dir = tempDir(prefix);
  for (const f of files) writeFileSync(join(dir, f.path), f.text);
  return dir;
}

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The real kubectl on PATH, with a KUBECONFIG of our choosing (by default one whose server is a
 * closed local port, so that nothing can reach a cluster) and no inherited kube settings.
 */
export function kubectl(
  args: string[],
  opts: { kubeconfig?: string; input?: string; cwd?: string; env?: Record<string, string> } = {},
): Run {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("KUBE")) env[k] = v;
  env.KUBECONFIG = opts.kubeconfig ?? nowhereKubeconfig();
  env.HOME = homeDir();
  const r = spawnSync("kubectl", args, {
    encoding: "utf8",
    env: { ...env, ...opts.env },
    input: opts.input,
    cwd: opts.cwd,
    timeout: 60_000,
  });
  if (r.error) throw new Error(`kubectl could not be run (install it: Debian package kubectl or kubernetes-client): ${r.error.message}`);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

let home: string | undefined;
function homeDir(): string {
  return (home ??= tempDir("kubectl-home-"));
}

let nowhere: string | undefined;
/** A kubeconfig that points at a port nothing listens on (127.0.0.1:9), with contexts `nowhere` and `aks-prod`. */
export function nowhereKubeconfig(): string {
  if (nowhere) return nowhere;
  const dir = tempDir("kubeconfig-");
  nowhere = join(dir, "config");
  writeFileSync(nowhere, kubeconfigText("https://127.0.0.1:9", { insecure: true }));
  return nowhere;
}

/**
 * A kubeconfig for `server`. Its user is a static token, or (`exec`) the kubelogin exec plugin
 * that `az aks get-credentials` writes for Entra ID clusters.
 */
export function kubeconfigText(server: string, tls: { caData?: string; insecure?: boolean }, user: "token" | "exec" = "token"): string {
  const cluster = tls.caData ? `certificate-authority-data: ${tls.caData}` : "insecure-skip-tls-verify: true";
  return `apiVersion: v1
kind: Config
clusters:
  - name: aks
    cluster:
      server: ${server}
      ${cluster}
contexts:
  - name: nowhere
    context: {cluster: aks, user: clusterUser}
  - name: aks-prod
    context: {cluster: aks, user: clusterUser, namespace: ignored-by-our-flags}
current-context: nowhere
users:
  - name: clusterUser
    user:
${user === "exec" ? EXEC_USER : "      token: static-test-token"}
`;
}

const EXEC_USER = `      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: kubelogin
        args: [get-token, --login, devicecode]
        interactiveMode: IfAvailable`;
