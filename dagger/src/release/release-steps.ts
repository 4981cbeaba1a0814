/**
 * The Dagger side of canary releases, promote, abort, the release ledger and rollback: the pure
 * state machines (canary.ts, ledger.ts, decide.ts) driven in one kubectl container session,
 * where a step's files (the canary Deployment, the ledger ConfigMap) are written into the
 * container just before the command that reads them.
 */
import { Container, Directory, Secret } from "@dagger.io/dagger";
import { ExecSession } from "../shared/exec.js";
import { ANNOTATIONS, ImageMetadata, imageMetadataFromLabels } from "../kubernetes/render.js";
import {
  accessOf,
  checkTimeout,
  commandLines,
  DeployError,
  deployImage,
  DeployReport,
  KubectlOptions,
  loadManifestFiles,
  renderForImage,
} from "../kubernetes/deploy.js";
import { kubectlContainer } from "../kubernetes/kubectl.js";
import { DEFAULT_NAMESPACE, deploymentsBySelectorArgs, Target, targetFlags, targetOf } from "../kubernetes/commands.js";
import { AnalysisThresholds, CanaryOutcome, FinishOutcome, parseLeftovers, runAbort, runCanary, runPromote } from "./canary.js";
import { CANARY_SELECTOR, canaryName, RELEASE_ID_LABEL, renderCanary } from "./canary-manifest.js";
import { assertValidManifests } from "../kubernetes/validate.js";
import { KubectlResult, kubectlSays } from "../kubernetes/decide.js";
import { appServiceUrl, smokeTestArgs } from "../kubernetes/smoke.js";
import { appObjects, AppObjects, getWithServiceArgs, parseStatus, statusArgs } from "../kubernetes/status.js";
import { AZURE_DNS_LABEL_ANNOTATION, dnsLabelToRender } from "../kubernetes/dns-label.js";
import { appContainer, kubectlGetItems, obj, str } from "../kubernetes/kubectl-json.js";
import {
  approvedCanary,
  chooseRollback,
  LedgerEntry,
  ledgerName,
  LedgerRead,
  parseLedgerRead,
  pausedRelease,
  runLedger,
  untrustedImage,
} from "./ledger.js";

/** kubectl commands in one container chain; files are written into the container before the command that needs them. */
export class KubectlSession {
  private session: ExecSession;
  readonly commands: DeployReport["commands"] = [];

  constructor(ctr: Container) {
    this.session = new ExecSession(ctr);
  }

  async run(step: string, args: string[], files: Record<string, string> = {}): Promise<KubectlResult> {
    const entries = Object.entries(files);
    if (entries.length)
      this.session = new ExecSession(entries.reduce((c, [path, text]) => c.withNewFile(path, text), this.session.container));
    const result = await this.session.run(args);
    this.commands.push({ step, args, exitCode: result.exitCode });
    return result;
  }
}

const sleep = (seconds: number) =>
  new Promise<KubectlResult>((r) => setTimeout(() => r({ exitCode: 0, stdout: "", stderr: "" }), seconds * 1000));

/** Names and where: the app's objects from k8s/, the namespace, the target flags. */
async function appTarget(manifests: Directory, opts: KubectlOptions): Promise<{ objects: AppObjects; namespace: string; target: Target }> {
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  return { objects: appObjects(await loadManifestFiles(manifests)), namespace, target: targetOf(namespace, opts) };
}

// ---- canary release ---------------------------------------------------------------------------

export interface CanaryOptions extends KubectlOptions {
  releaseId: string;
  timeout: string;
  percent: number;
  analysis: AnalysisThresholds;
  pause: boolean;
}

export interface CanaryReport {
  ok: boolean;
  canary: CanaryOutcome;
  /** Set when the analysis passed and the canary was promoted in the same run. */
  promote?: FinishOutcome;
  summary: string;
}

/**
 * A canary release of `image`: k8s/ rendered and validated for it, the canary Deployment rendered
 * from it and validated, then the canary state machine; a passing analysis is promoted (unless
 * `pause`). Never throws for a failed canary: the report says what happened.
 */
export async function canaryRelease(kubeconfig: Secret, image: string, manifests: Directory, opts: CanaryOptions): Promise<CanaryReport> {
  const timeout = checkTimeout(opts.timeout);
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  const rendered = await renderForImage(manifests, image, { ...opts, namespace });
  const canary = renderCanary(rendered.files, opts.releaseId);
  // Validated at 2 replicas: the rule that a Deployment runs at least 2 is for the stable, which
  // keeps serving beside the canary; the canary's own size comes from --canary-percent.
  await assertValidManifests([{ path: "canary.yaml", text: canary.manifest(2) }]);
  const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts), rendered.directory));
  const target = targetOf(namespace, opts);
  const modelSha256 = opts.metadata && typeof opts.metadata !== "function" ? opts.metadata.model?.sha256 : undefined;
  const { outcome } = await runCanary(
    {
      ...target,
      ...(opts.fieldManager ? { fieldManager: opts.fieldManager } : {}),
      ...(opts.forceConflicts ? { forceConflicts: true } : {}),
      stable: rendered.deployment.name,
      canary: canary.name,
      canarySelector: canary.selector,
      releaseId: opts.releaseId,
      image,
      timeout,
      percent: opts.percent,
      analysis: opts.analysis,
      pause: opts.pause,
      canaryManifest: canary.manifest,
      smoke: (url, name) =>
        smokeTestArgs({ image, namespace, url, runId: name, ...(modelSha256 ? { modelSha256 } : {}) }, targetFlags(target)),
      serviceUrl: appServiceUrl(namespace),
    },
    (c) => (c.run === "wait" ? sleep(c.waitSeconds ?? 0) : session.run(c.run, c.args, c.files)),
  );
  if (outcome.status !== "passed")
    return { ok: outcome.ok, canary: outcome, summary: `${outcome.message}\n\n${commandLines(session.commands)}` };
  const promote = await runPromote(
    { ...target, deployment: rendered.deployment.name, selector: rendered.deployment.selector, image, timeout },
    canary.name,
    (step, args) => session.run(step, args),
  );
  return {
    ok: promote.outcome.ok,
    canary: outcome,
    promote: promote.outcome,
    summary: `${outcome.message}\n${promote.outcome.message}\n\n${commandLines(session.commands)}`,
  };
}

// ---- promote and abort -----------------------------------------------------------------------

/** What a canary Deployment in the cluster runs: its image, release id and the model annotations. */
export interface LiveCanary {
  name: string;
  image: string;
  releaseId: string;
  metadata: ImageMetadata;
}

/** The canary (if any) and the Service's DNS label from `kubectl get deployment/X-canary service/Y -o json`. */
export function parseLiveCanary(stdout: string, canary: string): { canary?: LiveCanary; dnsLabel: string } {
  const all = kubectlGetItems(stdout);
  const d = all.find((i) => i.kind === "Deployment" && obj(i.metadata).name === canary);
  const service = all.find((i) => i.kind === "Service");
  const dnsLabel = str(obj(obj(service?.metadata).annotations)[AZURE_DNS_LABEL_ANNOTATION]) ?? "";
  if (!d) return { dnsLabel };
  const meta = obj(d.metadata);
  const a = obj(meta.annotations);
  return {
    dnsLabel,
    canary: {
      name: canary,
      image: str(appContainer(obj(obj(d.spec).template).spec)?.image) ?? "",
      releaseId: str(obj(meta.labels)[RELEASE_ID_LABEL]) ?? "unknown",
      metadata: imageMetadataFromLabels({
        revision: str(a[ANNOTATIONS.revision]),
        modelName: str(a[ANNOTATIONS.modelName]),
        modelVersion: str(a[ANNOTATIONS.modelVersion]),
        modelSha256: str(a[ANNOTATIONS.modelSha256]),
      }),
    },
  };
}

export interface PromoteReport {
  ok: boolean;
  canary: LiveCanary;
  outcome: FinishOutcome;
  summary: string;
  /** The canary image's verified signature (with-image-policy). */
  signature?: string;
}

/**
 * Promotes the canary the cluster runs now (a paused `release --strategy canary`): its image and
 * model read from the canary Deployment, k8s/ rendered for them (keeping the Service's DNS label
 * unless `dnsLabel` names another), the stable rolled out (undone on failure), the canary removed.
 */
export async function promoteCanary(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions & { timeout: string; releaseId: string; verify?: ImageVerifier | undefined },
): Promise<PromoteReport> {
  const timeout = checkTimeout(opts.timeout);
  const { objects, namespace, target } = await appTarget(manifests, opts);
  const name = canaryName(objects.deployment);
  const reader = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const ledger = ledgerName(objects.deployment);
  const read = await reader.run("read-canary", getWithServiceArgs([`deployment/${name}`, `configmap/${ledger}`], objects, target));
  if (read.exitCode !== 0)
    throw new Error(
      `could not read deployment/${name} and configmap/${ledger} in namespace ${namespace} (kubectl exit ${read.exitCode}); nothing was changed:\n${kubectlSays(read)}`,
    );
  const live = parseLiveCanary(read.stdout, name);
  if (!live.canary) {
    throw new Error(
      `no canary to promote: deployment/${name} does not exist in namespace ${namespace}. Start one with release --strategy canary --pause.`,
    );
  }
  // Only the release that was approved, and only a canary this pipeline recorded as paused.
  let entries: LedgerEntry[];
  try {
    entries = parseLedgerRead(read.stdout, ledger).entries;
  } catch (e) {
    throw new Error(
      `promote refused: configmap/${ledger} is not a ledger this pipeline can read (${(e as Error).message}); nothing was changed`,
      { cause: e },
    );
  }
  const approved = approvedCanary(live.canary, entries, opts.releaseId, true);
  if ("error" in approved) throw new Error(`promote refused: ${approved.error}`);
  const signature = opts.verify ? await opts.verify(live.canary.image) : undefined;
  const dnsLabel = dnsLabelToRender({ dnsLabel: opts.dnsLabel }, live.dnsLabel);
  const rendered = await renderForImage(manifests, live.canary.image, {
    ...opts,
    namespace,
    metadata: live.canary.metadata,
    ...(dnsLabel ? { dnsLabel } : {}),
  });
  const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts), rendered.directory));
  const { outcome } = await runPromote(
    { ...target, deployment: rendered.deployment.name, selector: rendered.deployment.selector, image: live.canary.image, timeout },
    name,
    (step, args) => session.run(step, args),
  );
  return {
    ok: outcome.ok,
    canary: live.canary,
    outcome,
    summary: `${outcome.message}\n\n${commandLines([...reader.commands, ...session.commands])}`,
    ...(signature ? { signature } : {}),
  };
}

/** Removes this app's canary (`<deployment>-canary` of k8s/, found by its label and name; only release `releaseId`'s when given); the stable is not touched. */
export async function abortCanary(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions & { releaseId?: string },
): Promise<{ outcome: FinishOutcome; summary: string }> {
  const { objects, target } = await appTarget(manifests, opts);
  const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const { outcome } = await runAbort(target, canaryName(objects.deployment), (step, args) => session.run(step, args), opts.releaseId);
  return { outcome, summary: `${outcome.message}\n\n${commandLines(session.commands)}` };
}

// ---- the ledger --------------------------------------------------------------------------------

/** Records `entries` (upserted by id into what is read, bounded) in the app's ledger; returns one line, never throws. */
export async function recordInLedger(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions,
  change: (read: LedgerRead) => LedgerEntry[],
): Promise<{ ok: boolean; line: string; entries: LedgerEntry[] }> {
  try {
    const { objects, target } = await appTarget(manifests, opts);
    const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
    const { outcome } = await runLedger(
      { ...target, configMap: ledgerName(objects.deployment), deployment: objects.deployment, change },
      (c) => session.run(`ledger-${c.run}`, c.args, c.files),
    );
    return {
      ok: outcome.ok,
      line: outcome.ok ? outcome.message : `NOT recorded in the release ledger: ${outcome.message}`,
      entries: outcome.entries,
    };
  } catch (e) {
    return { ok: false, line: `NOT recorded in the release ledger: ${(e as Error).message}`, entries: [] };
  }
}

/** Reads the ledger, the running image and the Service's DNS label (one kubectl get). */
export async function readLedger(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions,
): Promise<LedgerRead & { dnsLabel: string; objects: AppObjects }> {
  const { objects, namespace, target } = await appTarget(manifests, opts);
  const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const refs = [`configmap/${ledgerName(objects.deployment)}`, `deployment/${objects.deployment}`];
  const r = await session.run("read-ledger", getWithServiceArgs(refs, objects, target));
  if (r.exitCode !== 0) {
    throw new Error(
      `could not read the release ledger (configmap/${ledgerName(objects.deployment)}) in namespace ${namespace} (kubectl exit ${r.exitCode}); ` +
        `check the kubeconfig and the identity's permissions (get on configmaps, deployments and services):\n${kubectlSays(r)}`,
    );
  }
  return { ...parseLedgerRead(r.stdout, ledgerName(objects.deployment)), dnsLabel: parseLiveCanary(r.stdout, "").dnsLabel, objects };
}

/**
 * What a release reads first: the paused canary release that holds the cluster, if any (the
 * ledger's newest paused entry whose canary, `<app>-canary` with that release id, still runs: a
 * new release must not replace it, it waits for an approval or an abort; a paused entry whose
 * canary is gone holds nothing), and the Service's DNS label now ("" for none), which a release
 * that does not name one keeps.
 */
export async function readBeforeRelease(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions,
): Promise<{ held?: LedgerEntry; dnsLabel: string }> {
  const read = await readLedger(kubeconfig, manifests, opts);
  const held = await pausedCanaryHolding(kubeconfig, read, opts);
  return { ...(held ? { held } : {}), dnsLabel: read.dnsLabel };
}

async function pausedCanaryHolding(
  kubeconfig: Secret,
  read: LedgerRead & { objects: AppObjects },
  opts: KubectlOptions,
): Promise<LedgerEntry | undefined> {
  const paused = pausedRelease(read.entries);
  if (!paused) return undefined;
  const target = targetOf(opts.namespace ?? DEFAULT_NAMESPACE, opts); // as appTarget's, without reading k8s/ again
  const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
  const found = await session.run("find-canary", deploymentsBySelectorArgs(CANARY_SELECTOR, target));
  if (found.exitCode !== 0) {
    throw new Error(`could not list the canary Deployments (kubectl exit ${found.exitCode}); nothing was changed:\n${kubectlSays(found)}`);
  }
  return parseLeftovers(found.stdout, canaryName(read.objects.deployment)).some((l) => l.releaseId === paused.id) ? paused : undefined;
}

/** A rollback whose deploy failed (and was undone as any deploy is): which release it was going back to. */
export class RollbackError extends Error {
  override name = "RollbackError";
  constructor(
    readonly entry: LedgerEntry,
    readonly deployError: DeployError,
  ) {
    super(`rolling back to ${entry.image} (release ${entry.id}) failed: ${deployError.message}`);
  }
}

export interface RollbackReport {
  entry: LedgerEntry;
  /** Newer good entries passed over because their image is not the configured registry's. */
  skipped: string[];
  /** The image running before the rollback. */
  from: string;
  deploy: DeployReport;
  /** The image's verified signature (with-image-policy). */
  signature?: string;
}

/** The model and revision a ledger entry recorded, read as the image's labels are. */
export function entryMetadata(e: LedgerEntry): ImageMetadata {
  return imageMetadataFromLabels({
    revision: e.revision,
    modelName: e.modelName,
    modelVersion: e.modelVersion,
    modelSha256: e.modelSha256,
  });
}

/** Checks an image's signature and provenance before it is applied (with-image-policy); returns the line to report, throws to refuse. */
export type ImageVerifier = (image: string) => Promise<string>;

/** Where rollback may go and how it checks an image: the configured registry and repository, its labels as read there, and its signature. */
export interface RollbackTrust {
  registry: string;
  repository: string;
  readLabels: (image: string) => Promise<ImageMetadata>;
  verify?: ImageVerifier | undefined;
}

/** How an image's labels differ from what its ledger entry recorded ("" when they agree). */
export function labelsDiffer(e: LedgerEntry, labels: ImageMetadata): string {
  const pairs: [string, string, string][] = [
    ["revision", e.revision, labels.revision ?? ""],
    ["model name", e.modelName, labels.model?.name ?? ""],
    ["model version", e.modelVersion, labels.model?.version ?? ""],
    ["model sha256", e.modelSha256, labels.model?.sha256 ?? ""],
  ];
  return pairs
    .filter(([, entry, label]) => entry !== label)
    .map(([what, entry, label]) => `${what}: ledger "${entry}", image "${label}"`)
    .join("; ");
}

/**
 * One step back to a good release from the ledger (the last one not running now, or `digest`).
 * The ledger only chooses: the image must be of the configured registry and repository, and its
 * labels (read from the registry) must match the entry; then k8s/ is rendered for it with those
 * labels, deployed, smoke-tested and waited for (undone if it fails). Throws when there is
 * nothing to go back to, the image is refused, or the deploy fails.
 */
export async function rollbackRelease(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions & { timeout: string; digest?: string; trust: RollbackTrust; smokeRunId: string },
): Promise<RollbackReport> {
  checkTimeout(opts.timeout);
  const read = await readLedger(kubeconfig, manifests, opts);
  const { registry, repository } = opts.trust;
  const choice = chooseRollback(read.entries, read.image, opts.digest, (e) => untrustedImage(e.image, registry, repository));
  if ("error" in choice) throw new Error(`cannot roll back: ${choice.error}`);
  const e = choice.entry;
  const metadata = await opts.trust.readLabels(e.image);
  const differ = labelsDiffer(e, metadata);
  if (differ) {
    throw new Error(
      `cannot roll back to ${e.image} (release ${e.id}): the image's labels do not match its ledger entry (${differ}), ` +
        "so the entry was not written by this pipeline for this image; nothing was changed. Check the ledger (releases), or roll back with --image to a release you trust",
    );
  }
  const signature = opts.trust.verify ? await opts.trust.verify(e.image) : undefined;
  const dnsLabel = dnsLabelToRender({ dnsLabel: opts.dnsLabel }, read.dnsLabel);
  const namespace = opts.namespace ?? DEFAULT_NAMESPACE;
  try {
    const deploy = await deployImage(kubeconfig, e.image, manifests, {
      ...opts,
      metadata,
      timeout: opts.timeout,
      smoke: { url: appServiceUrl(namespace), ...(metadata.model ? { modelSha256: metadata.model.sha256 } : {}), runId: opts.smokeRunId },
      ...(dnsLabel ? { dnsLabel } : {}),
    });
    return { entry: e, from: read.image, skipped: choice.skipped, deploy, ...(signature ? { signature } : {}) };
  } catch (err) {
    throw err instanceof DeployError ? new RollbackError(e, err) : err;
  }
}

/** The Service's public URL (or address in words) now, from one kubectl get; "" parts when it cannot be read. */
export async function publicAddressNow(
  kubeconfig: Secret,
  manifests: Directory,
  opts: KubectlOptions & { region?: string },
): Promise<{ url: string; address: string }> {
  try {
    const { objects, namespace, target } = await appTarget(manifests, opts);
    const session = new KubectlSession(kubectlContainer(accessOf(kubeconfig, opts)));
    const r = await session.run("status", statusArgs(objects, target));
    if (r.exitCode !== 0) return { url: "", address: `unknown (kubectl exit ${r.exitCode} reading the Service)` };
    const s = parseStatus(r.stdout, objects, namespace, opts.region);
    return { url: s.url, address: s.address };
  } catch (e) {
    return { url: "", address: `unknown (${(e as Error).message})` };
  }
}
