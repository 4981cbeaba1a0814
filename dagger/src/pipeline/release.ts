/**
 * `release` (the nightly job): the channel tag resolved to its digest, that digest deployed,
 * the running service smoke-tested; a failed rollout is undone by the deploy step, and a failed
 * smoke test rolls the Deployment back too.
 */
import { randomUUID } from "node:crypto";
import { dag, Directory, Secret } from "@dagger.io/dagger";
import { undoArgs } from "../deploy/commands.js";
import { deployImage, DeployOptions, registryImageMetadata } from "../deploy/deploy.js";
import { RegistryAuth } from "../registry/auth.js";
import { imageDigest, registryLogin } from "../steps/publish.js";
import { ClusterAccess, KubectlSession, kubectlContainer } from "../steps/kubectl.js";
import { ReleaseReport } from "./report.js";
import { runSmokeTest } from "./smoke-step.js";

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

/** The app's Service in k8s/service.yaml: its in-cluster DNS name is what the smoke test calls. */
export const APP_SERVICE = "ai-app";

export async function runRelease(r: ReleaseInputs): Promise<ReleaseReport> {
  const image = await imageDigest({ registry: r.registry, repository: r.repository, tag: r.tag }, r.auth);
  // The engine reads the image's model labels with the same credentials as the digest lookup.
  const login = await registryLogin(r.registry, r.auth);
  const base = login ? dag.container().withRegistryAuth(`${r.registry}/${r.repository}`, login.username, login.secret) : dag.container();
  const metadata = await registryImageMetadata(image, base);
  const opts: DeployOptions = {
    namespace: r.namespace,
    timeout: r.timeout,
    metadata,
    ...(r.context ? { context: r.context } : {}),
    ...(r.access.token ? { token: r.access.token } : {}),
    ...(r.access.services ? { services: r.access.services } : {}),
  };
  const deployed = await deployImage(r.access.kubeconfig, image, r.manifests, opts);
  try {
    const smoke = await runSmokeTest(r.access, {
      image,
      namespace: r.namespace,
      url: `http://${APP_SERVICE}.${r.namespace}.svc`,
      ...(metadata.model ? { modelSha256: metadata.model.sha256 } : {}),
      runId: randomUUID().slice(0, 8),
      ...(r.context ? { context: r.context } : {}),
    });
    return { tag: r.tag, image, deployed: deployed.outcome.message, smoke };
  } catch (smokeError) {
    throw new Error(`${(smokeError as Error).message}\n${await rollBack(r, deployed.deployment, deployed.outcome.previousRevision)}`);
  }
}

/** Undo after a failed smoke test: back to the revision the deploy started from. */
async function rollBack(r: ReleaseInputs, deployment: string, revision: string | undefined): Promise<string> {
  if (!revision) return "nothing to roll back to: this was the first deploy of the app; the new version stays in place.";
  const t = { namespace: r.namespace, ...(r.context ? { context: r.context } : {}), ...(r.access.token ? { token: true } : {}) };
  const undo = await new KubectlSession(kubectlContainer(r.access)).run(undoArgs(deployment, revision, t));
  return undo.exitCode === 0
    ? `rolled back to revision ${revision}.`
    : `rolling back to revision ${revision} FAILED (kubectl exit ${undo.exitCode}): ${undo.stderr.trim()}`;
}
