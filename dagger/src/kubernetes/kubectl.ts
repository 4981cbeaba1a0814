/**
 * kubectl as a containerized step: the official registry.k8s.io/kubectl image, the kubeconfig
 * mounted from a Secret, one `withExec` argument list per command, exit codes read back so that
 * TypeScript decides what happens next (the image has no shell, and we want none).
 */
import { randomUUID } from "node:crypto";
import { Container, dag, Directory, Secret, Service } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";
import { kubeconfigPathList, PATHS, tokenUserKubeconfig } from "./commands.js";

/** How kubectl reaches and authenticates to the cluster. */
export interface ClusterAccess {
  /** The kubeconfig, e.g. from `az aks get-credentials --file`; mounted read-only as a file. */
  kubeconfig: Secret;
  /**
   * An Entra ID access token for the AKS server application, mounted as a file and used instead
   * of the kubeconfig's user (for clusters with local accounts disabled).
   */
  token?: Secret;
  /** Services the kubeconfig's server address points at, bound under these host names (e.g. an in-Dagger k3s). */
  services?: ServiceBinding[];
}

export interface ServiceBinding {
  alias: string;
  service: Service;
}

/** Where the official kubectl image keeps its binary (`COPY kubectl /bin/` in Kubernetes' build). */
export const KUBECTL_BINARY = "/bin/kubectl";

/**
 * A container ready to run kubectl against the cluster: kubeconfig (and token) mounted from
 * Secrets, `KUBECONFIG` naming those paths, service bindings, rendered manifests at /manifests.
 * `base` is the pinned kubectl image unless a caller needs other tools next to it.
 */
export function kubectlContainer(access: ClusterAccess, manifests?: Directory, base?: Container): Container {
  let ctr = (base ?? dag.container().from(IMAGES.kubectl))
    .withMountedSecret(PATHS.kubeconfig, access.kubeconfig)
    .withEnvVariable("KUBECONFIG", kubeconfigPathList(access.token !== undefined));
  if (access.token) {
    ctr = ctr.withMountedSecret(PATHS.token, access.token).withNewFile(PATHS.tokenUser, tokenUserKubeconfig(PATHS.token));
  }
  for (const b of access.services ?? []) ctr = ctr.withServiceBinding(b.alias, b.service);
  if (manifests) ctr = ctr.withDirectory(PATHS.manifests, manifests);
  // kubectl talks to a live cluster: a cached result from an earlier run would be a lie.
  // A fresh value per session makes the engine run every command again.
  return ctr.withEnvVariable("AI_APP_PIPELINE_KUBECTL_SESSION", randomUUID());
}

/**
 * kubectl plus `diff` (which `kubectl diff` runs and the kubectl image may lack): the same
 * kubectl binary, copied from the pinned kubectl image into the pinned Debian-based Python image.
 */
export function kubectlWithDiffTools(): Container {
  return dag.container().from(IMAGES.python).withFile("/usr/local/bin/kubectl", dag.container().from(IMAGES.kubectl).file(KUBECTL_BINARY));
}
