/** The cluster the pipeline deploys to, as `with-cluster` configures it. */
import { object, Secret } from "@dagger.io/dagger";
import { restoredSecret } from "../shared/object-state.js";
import { ClusterAccess, ServiceBinding } from "./kubectl.js";

/** The cluster with-cluster configured: its kubeconfig, namespace, context and an optional Entra token (kept for the functions after it in the chain). */
@object()
export class ClusterSettings {
  kubeconfig?: Secret;
  namespace?: string;
  context?: string;
  entraToken?: Secret;
}

/** with-cluster's default namespace: the one docs/azure-setup.md creates. */
export const APP_NAMESPACE = "ai-app";

/** Everything kubectl needs: access (kubeconfig, token) and where (namespace, context). */
export interface ClusterTarget {
  access: ClusterAccess;
  namespace: string;
  context?: string;
}

/** The settings as a kubectl target, Secrets typed again after a chained call. */
export function clusterTarget(saved: ClusterSettings): ClusterTarget {
  const kubeconfig = restoredSecret(saved.kubeconfig);
  if (!kubeconfig)
    throw new Error("with-cluster needs --kubeconfig, e.g. --kubeconfig file://./kubeconfig (az aks get-credentials --file ./kubeconfig)");
  const token = restoredSecret(saved.entraToken);
  return {
    access: { kubeconfig, ...(token ? { token } : {}) },
    namespace: saved.namespace || APP_NAMESPACE,
    ...(saved.context ? { context: saved.context } : {}),
  };
}

/** The kubectl options of a deploy or diff for this target. */
export function kubectlOptions(c: ClusterTarget): { namespace: string; context?: string; token?: Secret; services?: ServiceBinding[] } {
  return {
    namespace: c.namespace,
    ...(c.context ? { context: c.context } : {}),
    ...(c.access.token ? { token: c.access.token } : {}),
    ...(c.access.services ? { services: c.access.services } : {}),
  };
}
