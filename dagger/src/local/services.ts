/**
 * The embedded default: everything the pipeline talks to in the cloud, started inside Dagger
 * instead, so `dagger call ci` with no Azure arguments runs the whole pipeline anywhere.
 */
import { CacheVolume, Container, dag, Secret, Service } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";

export const AZURITE_ALIAS = "azurite";
export const AZURITE_BLOB_PORT = 10000;
/**
 * Azurite's built-in development account. Microsoft publishes this key for the emulator;
 * it opens nothing but a local Azurite. It still travels as a Secret like every key does.
 */
const AZURITE_ACCOUNT = "devstoreaccount1";
const AZURITE_DEV_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

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

/** Connection string for the emulator as reached through a service binding named `host`. */
export function azuriteConnectionString(host = AZURITE_ALIAS): Secret {
  return dag.setSecret(
    "azurite-connection-string",
    `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_DEV_KEY};` +
      `BlobEndpoint=http://${host}:${AZURITE_BLOB_PORT}/${AZURITE_ACCOUNT};`,
  );
}

/** A plain OCI registry (HTTP, no auth): reachable only inside this Dagger session. */
export function registryService(): Service {
  return dag.container().from(IMAGES.registry).withExposedPort(REGISTRY_PORT).asService({ useEntrypoint: true });
}

/**
 * Pushes `image` to the registry service under each tag and returns the digest reference
 * (`registry:5000/<repository>@sha256:...`), the name k3s pulls by.
 * skopeo does the push from inside the session, where the service name resolves.
 */
export async function pushToLocalRegistry(image: Container, registry: Service, repository: string, tags: string[]): Promise<string> {
  const target = `${REGISTRY_ALIAS}:${REGISTRY_PORT}/${repository}`;
  const pushed = tags.reduce(
    (ctr, tag) =>
      ctr.withExec(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--digestfile", "/tmp/digest", "oci-archive:/image.tar", `docker://${target}:${tag}`]),
    dag
      .container()
      .from(IMAGES.skopeo)
      .withServiceBinding(REGISTRY_ALIAS, registry)
      .withMountedFile("/image.tar", image.asTarball()),
  );
  const digest = (await pushed.file("/tmp/digest").contents()).trim();
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`local registry push returned no digest (got ${JSON.stringify(digest)})`);
  return `${target}@${digest}`;
}

/** k3s pulls from the registry service over plain HTTP through this mirror entry. */
const K3S_REGISTRIES = `mirrors:
  "${REGISTRY_ALIAS}:${REGISTRY_PORT}":
    endpoint:
      - "http://${REGISTRY_ALIAS}:${REGISTRY_PORT}"
`;

/**
 * Lets k3s enable cgroup v2 controllers when nested in a container: move our own
 * processes into a child cgroup first, then delegate every controller.
 */
const K3S_ENTRYPOINT = `#!/bin/sh
set -e
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 < /sys/fs/cgroup/cgroup.procs > /sys/fs/cgroup/init/cgroup.procs || :
  sed -e 's/ / +/g' -e 's/^/+/' < /sys/fs/cgroup/cgroup.controllers > /sys/fs/cgroup/cgroup.subtree_control
fi
exec "$@"
`;

export interface LocalCluster {
  service: Service;
  /** Where k3s writes its kubeconfig (k3s.yaml); mount it read-only into kubectl's container. */
  config: CacheVolume;
}

/** A single-node k3s server (privileged, as k3s needs) that pulls from the registry service. */
export function k3sCluster(registry: Service, runId: string): LocalCluster {
  const config = dag.cacheVolume(`k3s-config-${runId}`);
  const service = dag
    .container()
    .from(IMAGES.k3s)
    .withNewFile("/usr/local/bin/k3s-nested-entrypoint", K3S_ENTRYPOINT, { permissions: 0o755 })
    .withNewFile("/etc/k3s-registries.yaml", K3S_REGISTRIES)
    .withMountedCache("/etc/rancher/k3s", config)
    .withMountedTemp("/var/lib/kubelet")
    .withMountedTemp("/var/lib/cni")
    .withMountedTemp("/var/log")
    .withServiceBinding(REGISTRY_ALIAS, registry)
    .withExposedPort(K3S_API_PORT)
    .asService({
      args: [
        "/usr/local/bin/k3s-nested-entrypoint", "k3s", "server",
        "--disable=traefik", "--disable=metrics-server",
        `--tls-san=${K3S_ALIAS}`,
        "--private-registry=/etc/k3s-registries.yaml",
        "--egress-selector-mode=disabled",
      ],
      insecureRootCapabilities: true,
    });
  return { service, config };
}

/** kubectl's environment for the local cluster: kubeconfig from k3s, API server by service name. */
export function withLocalCluster(kubectl: Container, cluster: LocalCluster): Container {
  return kubectl
    .withMountedCache("/k3s", cluster.config)
    .withServiceBinding(K3S_ALIAS, cluster.service)
    .withEnvVariable("KUBECONFIG", "/k3s/k3s.yaml");
}

/** The API server address to pass as `--server` (k3s.yaml says 127.0.0.1, which is k3s's own). */
export const K3S_SERVER_URL = `https://${K3S_ALIAS}:${K3S_API_PORT}`;
