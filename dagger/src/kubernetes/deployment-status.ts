/**
 * `status`: what runs in the cluster now, as an object: one field per fact for the next CI step
 * (`dagger call ... status image`), all of them as JSON (`status json`: a bare object prints only
 * its id), and a summary for people. One kubectl command.
 */
import { Directory, func, object, Secret } from "@dagger.io/dagger";
import { ExecSession } from "../shared/exec.js";
import { DEFAULT_NAMESPACE, targetOf } from "./commands.js";
import { kubectlSays } from "./decide.js";
import { accessOf, KubectlOptions, loadManifestFiles } from "./deploy.js";
import { kubectlContainer } from "./kubectl.js";
import { appObjects, formatStatus, parseStatus, statusArgs, StatusReport } from "./status.js";

/** The app's Deployment and Service in the cluster. Every field is set ("" or 0 when there is nothing to say). */
@object()
export class DeploymentStatus {
  /** Whether the Deployment exists in the namespace. */
  @func() deployed = false;
  /** The namespace read. */
  @func() namespace = "";
  /** The Deployment's name. */
  @func() deployment = "";
  /** The running image, a digest reference when this pipeline deployed it ("" when not deployed). */
  @func() image = "";
  /** Name of the model in the image ("" when the Deployment has no model annotations). */
  @func() modelName = "";
  /** Version of the model in the image. */
  @func() modelVersion = "";
  /** sha256 of the model (its model.json), as the image's labels recorded it. */
  @func() modelSha256 = "";
  /** Git revision the image was built from. */
  @func() revision = "";
  /** The Deployment's revision number (for kubectl rollout undo --to-revision). */
  @func() deploymentRevision = "";
  /** Replicas the Deployment asks for. */
  @func() replicasDesired = 0;
  /** Replicas running the current pod template. */
  @func() replicasUpdated = 0;
  /** Replicas passing their readiness probe. */
  @func() replicasReady = 0;
  /** Replicas available to serve. */
  @func() replicasAvailable = 0;
  /** complete, degraded, progressing, failed, paused or not-deployed. */
  @func() rollout = "";
  /** The rollout in one line, in kubectl's terms. */
  @func() rolloutDetail = "";
  /** The Service's public IP or host name, or what there is instead in words (e.g. "none yet (load balancer pending)"). */
  @func() address = "";
  /** http://<public address> when there is one, or http://<dns-label>.<region>.cloudapp.azure.com when the Service has an Azure DNS label and --region is given; "" otherwise. */
  @func() url = "";
  /** The Service's Azure DNS label (service.beta.kubernetes.io/azure-dns-label-name); "" when it has none. */
  @func() dnsLabel = "";
  /** Whether the running digest is signed and its provenance names the repository (with-image-policy): "verified: ...", "NOT verified: ..." or "not checked ...". */
  @func() signature = "";
  /** All of the above for people, a few lines. */
  @func() summary = "";
  /** All of the above as one JSON object, for scripts that need several fields from one call. */
  @func() json = "";
}

/** The report as the returned object (only declared fields: the SDK refuses any other key). */
export function deploymentStatus(r: StatusReport, context?: string): DeploymentStatus {
  const facts = {
    deployed: r.deployed,
    namespace: r.namespace,
    deployment: r.deployment,
    image: r.image,
    modelName: r.model?.name ?? "",
    modelVersion: r.model?.version ?? "",
    modelSha256: r.model?.sha256 ?? "",
    revision: r.revision ?? "",
    deploymentRevision: r.deploymentRevision ?? "",
    replicasDesired: r.replicas.desired,
    replicasUpdated: r.replicas.updated,
    replicasReady: r.replicas.ready,
    replicasAvailable: r.replicas.available,
    rollout: r.rollout,
    rolloutDetail: r.rolloutDetail,
    address: r.address,
    url: r.url,
    dnsLabel: r.dnsLabel ?? "",
    signature: r.signature ?? "",
  };
  return Object.assign(new DeploymentStatus(), facts, { summary: formatStatus(r, context), json: JSON.stringify(facts) });
}

/**
 * Reads the status of the app that `manifests` (k8s/) declares: its names from the files, then
 * one `kubectl get` in the kubectl container. "Not deployed" is an answer; kubectl failing
 * (unreachable, forbidden, a missing credential plugin) is an error that says why.
 */
export async function readDeploymentStatus(
  kubeconfig: Secret,
  manifests: Directory,
  opts: Pick<KubectlOptions, "namespace" | "context" | "token" | "services"> & {
    region?: string;
    /** Says whether the running image is signed (never throws): with-image-policy's check. */
    checkSignature?: (image: string) => Promise<string>;
  } = {},
): Promise<DeploymentStatus> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const objects = appObjects(await loadManifestFiles(manifests));
  const session = new ExecSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const result = await session.run(statusArgs(objects, targetOf(namespace, opts)));
  if (result.exitCode !== 0) {
    throw new Error(
      `could not read deployment/${objects.deployment} in namespace ${namespace}${opts.context ? ` (context ${opts.context})` : ""} ` +
        `(kubectl exit ${result.exitCode}). Check the kubeconfig, the context and the identity's permissions (get on deployments and services):\n` +
        kubectlSays(result),
    );
  }
  const status = parseStatus(result.stdout, objects, namespace, opts.region);
  if (status.deployed && status.image && opts.checkSignature) status.signature = await opts.checkSignature(status.image);
  return deploymentStatus(status, opts.context);
}
