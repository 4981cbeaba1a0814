/**
 * What runs in the cluster now, from one `kubectl get deployment/NAME service/NAME --ignore-not-found
 * -o json`: the image, the model and git revision the render step annotated, the replica counts,
 * the rollout state (judged as `kubectl rollout status` judges it) and the Service's address.
 * Pure: kubectl's JSON text in, a report out.
 */
import { ANNOTATIONS } from "./render.js";
import { Target, targetFlags } from "./commands.js";
import { ManifestFile, parseManifests } from "./documents.js";
import { AZURE_DNS_LABEL_ANNOTATION, azurePublicUrl } from "./dns-label.js";
import { appContainer, kubectlGetItems, list, Obj, obj, str } from "./kubectl-json.js";

/** The app's objects by name, as k8s/ declares them. */
export interface AppObjects {
  deployment: string;
  /** The Service that selects the Deployment's pods, when k8s/ has one. */
  service?: string;
}

export type RolloutState =
  /** Every replica runs the current template and is available. */
  | "complete"
  /** The rollout finished, but fewer replicas are available than desired (a pod crashed or was evicted since). */
  | "degraded"
  | "progressing"
  /** The Deployment exceeded its progress deadline (ProgressDeadlineExceeded). */
  | "failed"
  | "paused"
  | "not-deployed";

export interface StatusReport {
  namespace: string;
  deployment: string;
  deployed: boolean;
  /** The app container's image (a digest reference when this pipeline deployed it); "" when not deployed. */
  image: string;
  model?: { name: string; version: string; sha256: string };
  /** Git revision the image was built from. */
  revision?: string;
  /** The Deployment's own revision number (what `kubectl rollout undo --to-revision` takes). */
  deploymentRevision?: string;
  replicas: { desired: number; updated: number; ready: number; available: number };
  rollout: RolloutState;
  /** One line on the rollout, in kubectl's terms. */
  rolloutDetail: string;
  /** The public IP or host name; otherwise what there is instead, in words. */
  address: string;
  /** http://<public address>[:port] when the Service has a public address; "" otherwise. */
  url: string;
  /** The Service's Azure DNS label (service.beta.kubernetes.io/azure-dns-label-name), when it has one. */
  dnsLabel?: string;
  /** Whether the running digest is signed (with-image-policy), in one line. */
  signature?: string;
}

/** One `kubectl get` of `refs` and the app's Service (when k8s/ has one) as JSON, absent ones left out (exit 0). */
export function getWithServiceArgs(refs: string[], objects: AppObjects, t: Target): string[] {
  return [
    "kubectl",
    "get",
    ...refs,
    ...(objects.service ? [`service/${objects.service}`] : []),
    "--ignore-not-found",
    "--output=json",
    ...targetFlags(t),
  ];
}

/** The one kubectl command `status` runs: the Deployment and the Service. */
export function statusArgs(objects: AppObjects, t: Target): string[] {
  return getWithServiceArgs([`deployment/${objects.deployment}`], objects, t);
}

const count = (v: unknown): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : 0);

/** The Deployment and the Service that selects its pods in k8s/ (the first Service when none matches exactly). */
export function appObjects(files: ManifestFile[]): AppObjects {
  const docs = parseManifests(files).docs.map((d) => obj(d.object));
  const deployment = docs.find((d) => d.kind === "Deployment");
  const name = str(obj(deployment?.metadata).name);
  if (!deployment || !name) throw new Error("k8s/ has no named Deployment: status reads the Deployment that deploy applies");
  const podLabels = obj(obj(obj(obj(deployment.spec).template).metadata).labels);
  const services = docs.filter((d) => d.kind === "Service" && str(obj(d.metadata).name));
  const selects = (s: Obj) => {
    const selector = Object.entries(obj(obj(s.spec).selector));
    return selector.length > 0 && selector.every(([k, v]) => podLabels[k] === v);
  };
  const service = str(obj((services.find(selects) ?? services[0])?.metadata).name);
  return { deployment: name, ...(service ? { service } : {}) };
}

/**
 * Reads kubectl's answer. Empty output is what `--ignore-not-found` prints when neither object
 * exists; a List without the Deployment means the app is not deployed (yet) in that namespace.
 * Throws when the output is not kubectl's JSON, saying so.
 */
export function parseStatus(stdout: string, objects: AppObjects, namespace: string, region?: string): StatusReport {
  const items = kubectlGetItems(stdout);
  const named = (kind: string, name: string | undefined) => items.find((i) => i.kind === kind && str(obj(i.metadata).name) === name);
  const deployment = named("Deployment", objects.deployment);
  const service = objects.service ? named("Service", objects.service) : undefined;
  const { address, url, dnsLabel } = publicAddress(service, objects.service, region);
  if (!deployment) {
    return {
      namespace,
      deployment: objects.deployment,
      deployed: false,
      image: "",
      replicas: { desired: 0, updated: 0, ready: 0, available: 0 },
      rollout: "not-deployed",
      rolloutDetail: `no deployment/${objects.deployment} in namespace ${namespace} (not deployed yet, or the namespace does not exist)`,
      address,
      url,
      ...(dnsLabel ? { dnsLabel } : {}),
    };
  }

  const annotations = obj(obj(deployment.metadata).annotations);
  const annotation = (key: string) => str(annotations[key])?.trim() || undefined;
  const app = appContainer(obj(obj(deployment.spec).template).spec);
  const [modelName, modelVersion, modelSha256] = [ANNOTATIONS.modelName, ANNOTATIONS.modelVersion, ANNOTATIONS.modelSha256].map(annotation);
  const revision = annotation(ANNOTATIONS.revision);
  const deploymentRevision = annotation("deployment.kubernetes.io/revision");
  const rollout = rolloutOf(deployment);
  return {
    namespace,
    deployment: objects.deployment,
    deployed: true,
    image: str(app?.image) ?? "",
    ...(modelName && modelVersion && modelSha256 ? { model: { name: modelName, version: modelVersion, sha256: modelSha256 } } : {}),
    ...(revision ? { revision } : {}),
    ...(deploymentRevision ? { deploymentRevision } : {}),
    replicas: rollout.replicas,
    rollout: rollout.state,
    rolloutDetail: rollout.detail,
    address,
    url,
    ...(dnsLabel ? { dnsLabel } : {}),
  };
}

/** The rollout as `kubectl rollout status` judges it (kubectl's DeploymentStatusViewer), plus paused and degraded. */
function rolloutOf(deployment: Obj): { state: RolloutState; detail: string; replicas: StatusReport["replicas"] } {
  const spec = obj(deployment.spec);
  const status = obj(deployment.status);
  // spec.replicas defaults to 1 when left out.
  const desired = spec.replicas === undefined ? 1 : count(spec.replicas);
  const replicas = {
    desired,
    updated: count(status.updatedReplicas),
    ready: count(status.readyReplicas),
    available: count(status.availableReplicas),
  };
  const total = count(status.replicas);
  const generation = count(obj(deployment.metadata).generation);
  const progressing = list(status.conditions).find((c) => c.type === "Progressing");
  const at = { replicas };
  if (spec.paused === true) return { ...at, state: "paused", detail: "the rollout is paused (kubectl rollout resume to continue)" };
  if (generation > count(status.observedGeneration)) {
    return { ...at, state: "progressing", detail: "waiting for the Deployment controller to observe the new spec" };
  }
  if (progressing?.reason === "ProgressDeadlineExceeded") {
    return {
      ...at,
      state: "failed",
      detail: `exceeded its progress deadline${str(progressing.message) ? `: ${str(progressing.message)}` : ""}`,
    };
  }
  if (replicas.updated < desired) {
    return { ...at, state: "progressing", detail: `${replicas.updated} of ${desired} new replicas updated` };
  }
  if (total > replicas.updated) {
    return { ...at, state: "progressing", detail: `${total - replicas.updated} old replicas pending termination` };
  }
  if (replicas.available < replicas.updated) {
    return { ...at, state: "progressing", detail: `${replicas.available} of ${replicas.updated} updated replicas available` };
  }
  if (replicas.available < desired) {
    return { ...at, state: "degraded", detail: `rolled out, but only ${replicas.available} of ${desired} replicas are available` };
  }
  return { ...at, state: "complete", detail: "successfully rolled out" };
}

/**
 * The Service's public address: its load balancer's ingress, or what there is instead. With an
 * Azure DNS label and the region, the URL is the label's name (http://<label>.<region>.cloudapp.azure.com);
 * with the label alone, the address says which name it gives and that the region completes it.
 */
export function publicAddress(
  service: Obj | undefined,
  name: string | undefined,
  region?: string,
): { address: string; url: string; dnsLabel: string } {
  const plain = serviceAddress(service, name);
  const label = str(obj(obj(service?.metadata).annotations)[AZURE_DNS_LABEL_ANNOTATION]) ?? "";
  if (!label) return { ...plain, dnsLabel: "" };
  const ports = list(obj(service?.spec).ports);
  const port = count((ports.find((p) => p.name === "http") ?? ports[0])?.port);
  if (region) return { address: plain.address, url: azurePublicUrl(label, region, port), dnsLabel: label };
  return {
    address: `${plain.address}; DNS label ${label} (http://${label}.<region>.cloudapp.azure.com: pass --region for the URL)`,
    url: plain.url,
    dnsLabel: label,
  };
}

function serviceAddress(service: Obj | undefined, name: string | undefined): { address: string; url: string } {
  if (!name) return { address: "none (k8s/ has no Service)", url: "" };
  if (!service) return { address: `none (no service/${name})`, url: "" };
  const spec = obj(service.spec);
  const type = str(spec.type) ?? "ClusterIP";
  const ports = list(spec.ports);
  const port = count((ports.find((p) => p.name === "http") ?? ports[0])?.port);
  if (type !== "LoadBalancer") {
    const inside = str(spec.clusterIP);
    return { address: `none (${type} service${inside ? ` ${inside}, reachable only inside the cluster` : ""})`, url: "" };
  }
  const ingress = list(obj(obj(service.status).loadBalancer).ingress)
    .map((i) => str(i.ip) ?? str(i.hostname))
    .find(Boolean);
  if (!ingress) return { address: "none yet (load balancer pending)", url: "" };
  const host = ingress.includes(":") ? `[${ingress}]` : ingress;
  return { address: ingress, url: `http://${host}${port && port !== 80 ? `:${port}` : ""}` };
}

/** The report for people: a few lines, most useful first. */
export function formatStatus(r: StatusReport, context?: string): string {
  const where = `deployment/${r.deployment} in namespace ${r.namespace}${context ? ` (context ${context})` : ""}`;
  if (!r.deployed) {
    return [
      `not deployed: ${r.rolloutDetail}${context ? ` (context ${context})` : ""}`,
      "deploy it with: dagger call with-registry ... with-cluster ... release (or deploy --image <registry>/<repository>@sha256:...)",
    ].join("\n");
  }
  const n = r.replicas;
  return [
    `${where}: ${r.rollout} (${r.rolloutDetail})`,
    `image: ${r.image || "(none)"}`,
    `model: ${r.model ? `${r.model.name} ${r.model.version} sha256:${r.model.sha256}` : "unknown (no ai-app-pipeline model annotations: not deployed by this pipeline?)"}`,
    `revision: ${r.revision ?? "unknown"}${r.deploymentRevision ? ` (deployment revision ${r.deploymentRevision})` : ""}`,
    `replicas: ${n.ready}/${n.desired} ready, ${n.updated} updated, ${n.available} available`,
    `address: ${r.url || r.address}`,
    ...(r.signature ? [`signature: ${r.signature}`] : []),
  ].join("\n");
}
