/**
 * The embedded default's Kubernetes: k3s started inside Dagger, and the access kubectl needs.
 * The credential is minted here for this run only: a random bearer token that k3s accepts
 * through a token file and kubectl sends through the deploy step's token option. Both travel
 * as Secrets; nothing is read back out of the cluster.
 */
import { randomBytes } from "node:crypto";
import { dag, Service } from "@dagger.io/dagger";
import { TOKEN_USER } from "./commands.js";
import { IMAGES } from "../images.js";
import { REGISTRY_ALIAS, REGISTRY_PORT } from "../registry/embedded-registry.js";
import { ClusterAccess } from "./kubectl.js";

export const K3S_ALIAS = "k3s";
export const K3S_API_PORT = 6443;

const TOKEN_FILE = "/etc/k3s-auth/tokens.csv";

/** k3s pulls from the registry service over plain HTTP through this mirror entry. */
export const K3S_REGISTRIES = `mirrors:
  "${REGISTRY_ALIAS}:${REGISTRY_PORT}":
    endpoint:
      - "http://${REGISTRY_ALIAS}:${REGISTRY_PORT}"
`;

/**
 * Lets k3s enable cgroup v2 controllers when nested in a container: move our own processes
 * into a child cgroup first, then delegate every controller to children.
 */
export const K3S_ENTRYPOINT = `#!/bin/sh
set -e
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
`;

/** A kubeconfig naming the in-session API server; the user comes from the token option. */
export function localKubeconfig(): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `  - name: ${K3S_ALIAS}`,
    "    cluster:",
    `      server: https://${K3S_ALIAS}:${K3S_API_PORT}`,
    "      # k3s makes its own CA on every start; this cluster lives only inside this Dagger session.",
    "      insecure-skip-tls-verify: true",
    "contexts:",
    `  - name: ${K3S_ALIAS}`,
    "    context:",
    `      cluster: ${K3S_ALIAS}`,
    `      user: ${TOKEN_USER}`,
    `current-context: ${K3S_ALIAS}`,
    "",
  ].join("\n");
}

export interface LocalCluster {
  service: Service;
  access: ClusterAccess;
}

/** A single-node k3s (privileged, as k3s needs) bound to the registry service, with run-scoped access. */
export function localCluster(registry: Service): LocalCluster {
  const token = randomBytes(32).toString("hex");
  const tokenFile = dag.setSecret("k3s-token-file", `${token},ai-app-pipeline,ai-app-pipeline,"system:masters"\n`);
  const service = dag
    .container()
    .from(IMAGES.k3s)
    .withNewFile("/usr/local/bin/k3s-nested-entrypoint", K3S_ENTRYPOINT, { permissions: 0o755 })
    .withNewFile("/etc/k3s-registries.yaml", K3S_REGISTRIES)
    .withMountedSecret(TOKEN_FILE, tokenFile)
    .withMountedTemp("/var/lib/rancher/k3s")
    .withMountedTemp("/var/lib/kubelet")
    .withMountedTemp("/var/lib/cni")
    .withMountedTemp("/var/log")
    .withServiceBinding(REGISTRY_ALIAS, registry)
    .withExposedPort(K3S_API_PORT)
    .asService({
      args: [
        "/usr/local/bin/k3s-nested-entrypoint",
        "k3s",
        "server",
        "--disable=traefik",
        "--disable=metrics-server",
        `--tls-san=${K3S_ALIAS}`,
        "--private-registry=/etc/k3s-registries.yaml",
        `--kube-apiserver-arg=token-auth-file=${TOKEN_FILE}`,
        "--egress-selector-mode=disabled",
      ],
      insecureRootCapabilities: true,
    });
  return {
    service,
    access: {
      kubeconfig: dag.setSecret("k3s-kubeconfig", localKubeconfig()),
      token: dag.setSecret("k3s-token", token),
      services: [{ alias: K3S_ALIAS, service }],
    },
  };
}
