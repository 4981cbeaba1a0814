/**
 * The deploy step, composed: k8s/ rendered for an image digest and validated (pure TypeScript),
 * then kubectl in a container: server-side dry run, server-side apply, rollout status, and on
 * failure the pods' reasons, `rollout undo` and an error that says both.
 */
import { Container, dag, Directory, Secret } from "@dagger.io/dagger";
import { isManifestFileName, ManifestFile, parseManifests } from "./documents.js";
import { requireDigestRef } from "../registry/names.js";
import { IMAGE_LABELS } from "../app-image/labels.js";
import { ImageMetadata, imageMetadataFromLabels, renderManifests, RenderError } from "./render.js";
import { assertValidManifests } from "./validate.js";
import { ExecSession } from "../shared/exec.js";
import { ClusterAccess, kubectlContainer, kubectlWithDiffTools, ServiceBinding } from "./kubectl.js";
import {
  ApplyOptions,
  DEFAULT_NAMESPACE,
  DEFAULT_TIMEOUT,
  diffArgs,
  isGoDuration,
  serviceGetArgs,
  targetFlags,
  targetOf,
} from "./commands.js";
import { smokeTestArgs, SmokeTarget } from "./smoke.js";
import { DeployOutcome, KubectlResult, kubectlSays, runDeploy, StepRecord } from "./decide.js";
import { appObjects, getWithServiceArgs } from "./status.js";
import { AZURE_DNS_LABEL_ANNOTATION } from "./dns-label.js";
import { kubectlGetItems, obj, str } from "./kubectl-json.js";

export interface RenderForImageOptions {
  namespace?: string;
  /**
   * Where the image came from (its labels): given, or read when needed (after the cheap checks),
   * e.g. `() => registryImageMetadata(image)` or `() => readImageMetadata(builtContainer)`.
   */
  metadata?: ImageMetadata | (() => Promise<ImageMetadata>);
  replicas?: number | undefined;
  /** An Azure DNS label for the LoadBalancer Service (AKS: <label>.<region>.cloudapp.azure.com). */
  dnsLabel?: string | undefined;
}

export interface KubectlOptions extends RenderForImageOptions, ApplyOptions {
  /** A context of the kubeconfig (default: its current context). */
  context?: string;
  /** Entra ID access token for AKS, replacing the kubeconfig's user. */
  token?: Secret;
  /** Services the kubeconfig's server points at (an in-Dagger k3s), bound by host name. */
  services?: ServiceBinding[];
}

/** How the Service's DNS label is chosen when `dnsLabel` is not given. */
export interface KeepLabelOption {
  /** Keep the label the Service carries now (read from the cluster); otherwise an absent `dnsLabel` removes it. */
  keepDnsLabel?: boolean;
}

export interface DeployOptions extends KubectlOptions, KeepLabelOption {
  /** How long the rollout (and a rollback) may take, as a Go duration (default 5m). */
  timeout?: string;
  /** Smoke-test the rolled-out version from inside the cluster; a failure rolls back like a failed rollout. */
  smoke?: Omit<SmokeTarget, "image" | "namespace">;
}

/** The manifests as rendered and validated for one image. */
export interface RenderedManifests {
  files: ManifestFile[];
  directory: Directory;
  deployment: { name: string; selector: Record<string, string> };
}

export interface DeployReport {
  /** The Deployment that was rolled out (its name in k8s/). */
  deployment: string;
  outcome: DeployOutcome;
  /** Every kubectl command run, with its exit code. */
  commands: { step: string; args: string[]; exitCode: number }[];
  summary: string;
}

/** Raised when a deploy fails; `report.outcome.status` says how (rejected, rolled-back, rollback-failed...). */
export class DeployError extends Error {
  override name = "DeployError";
  constructor(readonly report: DeployReport) {
    super(report.summary);
  }
}

/** The manifest files of a directory (k8s/), in name order. */
export async function loadManifestFiles(dir: Directory): Promise<ManifestFile[]> {
  const names = (await dir.entries()).filter((n) => !n.endsWith("/") && isManifestFileName(n)).sort();
  const files: ManifestFile[] = [];
  for (const path of names) files.push({ path, text: await dir.file(path).contents() });
  if (!files.length) throw new RenderError("the manifests directory holds no .yaml/.yml/.json file");
  return files;
}

/** Model and revision from an image's labels (as the build step writes them). */
export async function readImageMetadata(image: Container): Promise<ImageMetadata> {
  const read = async (name: string) => (await image.label(name)) ?? "";
  return imageMetadataFromLabels({
    revision: await read(IMAGE_LABELS.revision),
    modelName: await read(IMAGE_LABELS.modelName),
    modelVersion: await read(IMAGE_LABELS.modelVersion),
    modelSha256: await read(IMAGE_LABELS.modelSha256),
    modelSigner: await read(IMAGE_LABELS.modelSigner),
  });
}

/**
 * Metadata of an image published by this pipeline, from its labels; fails when the image does not
 * carry its model, since every deployed image must be traceable to one.
 */
export async function requireImageMetadata(imageRef: string, image: Container): Promise<ImageMetadata> {
  const metadata = await readImageMetadata(image);
  if (!metadata.model) {
    throw new Error(
      `image ${imageRef} has no model labels (${IMAGE_LABELS.modelName}, ${IMAGE_LABELS.modelVersion}, ${IMAGE_LABELS.modelSha256}): ` +
        `deploy images built by this pipeline (dagger call build / publish)`,
    );
  }
  return metadata;
}

/**
 * Metadata of a published image, read from the registry by the engine (the Dagger CLI passes on
 * the host's registry logins, e.g. `az acr login`; `base` may carry `withRegistryAuth` instead).
 * Checks that `imageRef` is a digest reference first, so that a tag never reaches the registry
 * or the cluster.
 */
export async function registryImageMetadata(imageRef: string, base: Container = dag.container()): Promise<ImageMetadata> {
  requireDigestRef(imageRef);
  try {
    return await requireImageMetadata(imageRef, base.from(imageRef));
  } catch (e) {
    if (e instanceof Error && e.message.startsWith(`image ${imageRef} has no model labels`)) throw e;
    throw new Error(
      `could not read the labels of ${imageRef} from its registry (log in first, e.g. az acr login --name <registry>): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

/**
 * Renders `manifests` (k8s/) for `image` and validates the result; throws with every violation
 * before anything reaches a cluster. Pure TypeScript apart from reading the files.
 */
export async function renderForImage(manifests: Directory, image: string, opts: RenderForImageOptions = {}): Promise<RenderedManifests> {
  requireDigestRef(image);
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const files = await loadManifestFiles(manifests);
  const metadata = typeof opts.metadata === "function" ? await opts.metadata() : opts.metadata;
  const rendered = renderManifests(files, {
    image,
    namespace,
    ...(metadata ? { metadata } : {}),
    ...(opts.replicas != null ? { replicas: opts.replicas } : {}),
    ...(opts.dnsLabel ? { dnsLabel: opts.dnsLabel } : {}),
  });
  await assertValidManifests(rendered);
  const directory = rendered.reduce((d, f) => d.withNewFile(f.path, f.text), dag.directory());
  return { files: rendered, directory, deployment: findDeployment(rendered) };
}

function findDeployment(files: ManifestFile[]): RenderedManifests["deployment"] {
  // Validation has established that there is exactly one Deployment, with a matchLabels selector.
  const doc = parseManifests(files).docs.find((d) => (d.object as { kind?: unknown }).kind === "Deployment");
  if (!doc) throw new RenderError("no Deployment in the rendered manifests");
  const d = doc.object as { metadata: { name: string }; spec: { selector: { matchLabels: Record<string, string> } } };
  return { name: d.metadata.name, selector: d.spec.selector.matchLabels };
}

/**
 * The DNS label the app's Service carries in the cluster now ("" when it has none, or there is no
 * Service yet), from one `kubectl get service/NAME`; throws when kubectl fails.
 */
export async function currentDnsLabel(kubeconfig: Secret, files: ManifestFile[], opts: KubectlOptions): Promise<string> {
  const objects = appObjects(files);
  if (!objects.service) return "";
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const session = new ExecSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const r = await session.run(getWithServiceArgs([], objects, targetOf(namespace, opts)));
  if (r.exitCode !== 0) {
    throw new Error(
      `could not read service/${objects.service} in namespace ${namespace} to keep its DNS label (kubectl exit ${r.exitCode}); nothing was changed. ` +
        `Check the kubeconfig and the identity's permissions, or name the label with --dns-label:\n${kubectlSays(r)}`,
    );
  }
  const service = kubectlGetItems(r.stdout).find((i) => i.kind === "Service");
  return str(obj(obj(service?.metadata).annotations)[AZURE_DNS_LABEL_ANNOTATION]) ?? "";
}

/**
 * Renders and validates k8s/ for `image` (nothing reaches the cluster when that fails); with
 * `keepDnsLabel` and no `dnsLabel`, then reads the Service's label from the cluster and renders
 * again with it, so a deploy that does not name the label keeps the public name.
 */
async function renderKeepingLabel(
  kubeconfig: Secret,
  manifests: Directory,
  image: string,
  opts: KubectlOptions & KeepLabelOption,
): Promise<RenderedManifests> {
  const metadata = typeof opts.metadata === "function" ? await opts.metadata() : opts.metadata;
  const resolved = { ...opts, ...(metadata ? { metadata } : {}) };
  const rendered = await renderForImage(manifests, image, resolved);
  if (!opts.keepDnsLabel || opts.dnsLabel) return rendered;
  const label = await currentDnsLabel(kubeconfig, rendered.files, opts);
  return label ? renderForImage(manifests, image, { ...resolved, dnsLabel: label }) : rendered;
}

/** How kubectl reaches the cluster for these options: the kubeconfig, and the token and service bindings when given. */
export function accessOf(kubeconfig: Secret, opts: Pick<KubectlOptions, "token" | "services">): ClusterAccess {
  return { kubeconfig, ...(opts.token ? { token: opts.token } : {}), ...(opts.services ? { services: opts.services } : {}) };
}

/**
 * Deploys `image` (a digest reference) with the manifests in `manifests` (k8s/): render, validate,
 * dry run, apply, wait, and on failure diagnose and roll back. Returns the report when the new
 * version is rolled out; throws `DeployError` (whose message says what failed and whether it was
 * rolled back) otherwise.
 */
export async function deployImage(
  kubeconfig: Secret,
  image: string,
  manifests: Directory,
  opts: DeployOptions = {},
): Promise<DeployReport> {
  const timeout = checkTimeout(opts.timeout ?? DEFAULT_TIMEOUT);
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const rendered = await renderKeepingLabel(kubeconfig, manifests, image, { ...opts, namespace });
  const session = new ExecSession(kubectlContainer(accessOf(kubeconfig, opts), rendered.directory));
  const { outcome, history } = await runDeploy(
    {
      ...targetOf(namespace, opts),
      deployment: rendered.deployment.name,
      selector: rendered.deployment.selector,
      image,
      timeout,
      ...(opts.smoke ? { smoke: smokeTestArgs({ ...opts.smoke, image, namespace }, targetFlags(targetOf(namespace, opts))) } : {}),
      ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}),
      ...(opts.forceConflicts ? { forceConflicts: true } : {}),
    },
    (_step, args) => session.run(args),
  );
  const report = toReport(rendered.deployment.name, outcome, history);
  if (!outcome.ok) throw new DeployError(report);
  return report;
}

/** A rollout (or kubectl wait) timeout, checked before anything runs. */
export function checkTimeout(timeout: string): string {
  if (!isGoDuration(timeout)) throw new Error(`timeout "${timeout}" is not a duration such as 90s, 5m or 1h`);
  return timeout;
}

/** The kubectl commands run, with their exit codes, for a report. */
export function commandLines(commands: DeployReport["commands"]): string {
  return ["kubectl commands:", ...commands.map((c) => `  [exit ${c.exitCode}] ${c.args.join(" ")}`)].join("\n");
}

function toReport(deployment: string, outcome: DeployOutcome, history: StepRecord[]): DeployReport {
  const commands = history.map((h) => ({ step: h.step, args: h.args, exitCode: h.result.exitCode }));
  return { deployment, outcome, commands, summary: `${outcome.message}\n\n${commandLines(commands)}` };
}

/**
 * What deploying `image` would change (`kubectl diff --server-side`). Returns the diff, or a line
 * saying there is none; throws when kubectl fails (exit code above 1).
 */
export async function diffImage(
  kubeconfig: Secret,
  image: string,
  manifests: Directory,
  opts: KubectlOptions & KeepLabelOption = {},
): Promise<string> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const rendered = await renderKeepingLabel(kubeconfig, manifests, image, { ...opts, namespace });
  const session = new ExecSession(kubectlContainer(accessOf(kubeconfig, opts), rendered.directory, kubectlWithDiffTools()));
  const result = await session.run(diffArgs(targetOf(namespace, opts), opts));
  if (result.exitCode === 0) return `no differences: the cluster already runs these manifests for ${image} in namespace ${namespace}`;
  if (result.exitCode === 1) return result.stdout;
  throw new Error(`kubectl diff failed (exit ${result.exitCode}):\n${kubectlSays(result)}`);
}

/**
 * GET `path` (e.g. /readyz, /version) from the app's pods through the API server's service proxy:
 * a smoke test that needs only the kubeconfig. Returns kubectl's result (exit 0 and the body, or
 * non-zero with the server's error) for the caller to judge; never cached.
 */
export async function serviceGet(
  kubeconfig: Secret,
  path: string,
  opts: Omit<KubectlOptions, "metadata" | "replicas" | "fieldManager" | "forceConflicts"> & { service?: string; port?: string } = {},
): Promise<KubectlResult> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const session = new ExecSession(kubectlContainer(accessOf(kubeconfig, opts)));
  return session.run(serviceGetArgs(opts.service ?? "ai-app", opts.port ?? "http", path, targetOf(namespace, opts)));
}
