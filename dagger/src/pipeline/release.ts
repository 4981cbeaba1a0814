/**
 * `release` (the nightly job): the channel tag resolved to its digest, that digest deployed and
 * smoke-tested by the deploy step, which rolls back a failed rollout and a failed smoke test alike.
 * A dry run resolves, renders, validates and diffs against the cluster, and changes nothing.
 */
import { randomUUID } from "node:crypto";
import { dag, Directory, Secret } from "@dagger.io/dagger";
import { deployImage, diffImage, registryImageMetadata } from "../kubernetes/deploy.js";
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
  /** Resolve, render, validate and diff (server-side) only: nothing is applied. */
  dryRun?: boolean;
}

export async function runRelease(r: ReleaseInputs): Promise<ReleaseReport> {
  const image = await resolveTagDigest({ registry: r.registry, repository: r.repository, tag: r.tag }, r.auth);
  // The engine reads the image's model labels with the same credentials as the digest lookup.
  const login = await registryLogin(r.registry, r.auth);
  const base = login ? dag.container().withRegistryAuth(`${r.registry}/${r.repository}`, login.username, login.secret) : dag.container();
  const metadata = await registryImageMetadata(image, base);
  const kubectl = kubectlOptions({ access: r.access, namespace: r.namespace, ...(r.context ? { context: r.context } : {}) });
  const resolved = {
    tag: r.tag,
    image,
    ...(metadata.model ? { model: metadata.model } : {}),
    ...(metadata.revision ? { revision: metadata.revision } : {}),
  };
  if (r.dryRun) {
    const diff = await diffImage(r.access.kubeconfig, image, r.manifests, { ...kubectl, metadata });
    return { ...resolved, dryRun: true, deployed: "not deployed (dry run)", smoke: "not run (dry run)", diff };
  }
  const deployed = await deployImage(r.access.kubeconfig, image, r.manifests, {
    ...kubectl,
    timeout: r.timeout,
    metadata,
    smoke: {
      url: appServiceUrl(r.namespace),
      ...(metadata.model ? { modelSha256: metadata.model.sha256 } : {}),
      runId: randomUUID().slice(0, 8),
    },
  });
  return { ...resolved, dryRun: false, deployed: deployed.outcome.message, smoke: deployed.outcome.smoke ?? "not run" };
}
