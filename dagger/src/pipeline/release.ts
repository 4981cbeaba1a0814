/**
 * `release` (the nightly job): the channel tag resolved to its digest, that digest deployed and
 * smoke-tested by the deploy step, which rolls back a failed rollout and a failed smoke test alike.
 */
import { randomUUID } from "node:crypto";
import { dag, Directory, Secret } from "@dagger.io/dagger";
import { deployImage, registryImageMetadata } from "../kubernetes/deploy.js";
import { kubectlOptions } from "../kubernetes/settings.js";
import { RegistryAuth } from "../registry/auth.js";
import { registryLogin, resolveTagDigest } from "../registry/push.js";
import { ClusterAccess } from "../kubernetes/kubectl.js";
import { ReleaseReport } from "./report.js";
import { appServiceUrl } from "../kubernetes/smoke.js";

export interface ReleaseInputs {
  manifests: Directory;
  registry: string;
  repository: string;
  tag: string;
  auth: RegistryAuth<Secret>;
  access: ClusterAccess;
  namespace: string;
  context?: string;
  timeout: string;
}

export async function runRelease(r: ReleaseInputs): Promise<ReleaseReport> {
  const image = await resolveTagDigest({ registry: r.registry, repository: r.repository, tag: r.tag }, r.auth);
  // The engine reads the image's model labels with the same credentials as the digest lookup.
  const login = await registryLogin(r.registry, r.auth);
  const base = login ? dag.container().withRegistryAuth(`${r.registry}/${r.repository}`, login.username, login.secret) : dag.container();
  const metadata = await registryImageMetadata(image, base);
  const deployed = await deployImage(r.access.kubeconfig, image, r.manifests, {
    ...kubectlOptions({ access: r.access, namespace: r.namespace, ...(r.context ? { context: r.context } : {}) }),
    timeout: r.timeout,
    metadata,
    smoke: {
      url: appServiceUrl(r.namespace),
      ...(metadata.model ? { modelSha256: metadata.model.sha256 } : {}),
      runId: randomUUID().slice(0, 8),
    },
  });
  return { tag: r.tag, image, deployed: deployed.outcome.message, smoke: deployed.outcome.smoke ?? "not run" };
}
