/**
 * `release` (the nightly job): the channel tag resolved to its digest, then deployed either
 * rolling (the deploy step, smoke test, roll back on failure) or as a canary (a share of the pods
 * first, judged by repeated checks, then promoted, paused or aborted); every attempt recorded in
 * the cluster's release ledger. A dry run resolves, renders, validates and diffs, changing nothing.
 */
import { randomUUID } from "node:crypto";
import { Directory, Secret } from "@dagger.io/dagger";
import { DeployError, deployImage, diffImage } from "../kubernetes/deploy.js";
import { kubectlOptions } from "../kubernetes/settings.js";
import { RegistryAuth } from "../registry/auth.js";
import { resolveTagDigest } from "../registry/push.js";
import { ImageVerifier } from "../release/release-steps.js";
import { registryLabelReader } from "./image-labels.js";
import { ClusterAccess } from "../kubernetes/kubectl.js";
import { appServiceUrl } from "../kubernetes/smoke.js";
import { abortCanary, canaryRelease, publicAddressNow, readBeforeRelease, recordInLedger } from "../release/release-steps.js";
import { dnsLabelToRender } from "../kubernetes/dns-label.js";
import { Outcome } from "../release/ledger.js";
import { labelUrl, ReleaseOptions, ReleaseOutcomeReport } from "./release-report.js";
import { ledgerChange, ledgerEntry, newReleaseId } from "./release-ledger.js";

export interface ReleaseInputs {
  manifests: Directory;
  registry: string;
  repository: string;
  /** The moving tag released (main). */
  channel: string;
  auth: RegistryAuth<Secret>;
  access: ClusterAccess;
  namespace: string;
  context?: string;
  timeout: string;
  /** with-image-policy: verifies the resolved digest before anything is applied (or diffed); returns the line to report. */
  verify?: ImageVerifier;
  /** Resolve, render, validate and diff (server-side) only: nothing is applied. */
  dryRun?: boolean;
  /** Strategy, canary thresholds and the DNS label, checked by releaseOptions. */
  options?: ReleaseOptions;
}

export async function runRelease(r: ReleaseInputs): Promise<ReleaseOutcomeReport> {
  const options: ReleaseOptions = r.options ?? { strategy: "rolling" };
  const image = await resolveTagDigest({ registry: r.registry, repository: r.repository, tag: r.channel }, r.auth);
  const signature = r.verify ? await r.verify(image) : undefined;
  const metadata = await (await registryLabelReader(r))(image);
  const cluster = kubectlOptions({ access: r.access, namespace: r.namespace, ...(r.context ? { context: r.context } : {}) });
  const resolved = {
    channel: r.channel,
    image,
    ...(metadata.model ? { model: metadata.model } : {}),
    ...(metadata.revision ? { revision: metadata.revision } : {}),
    action: "release" as const,
    strategy: options.strategy,
    ...(signature ? { signature } : {}),
  };
  if (r.dryRun) {
    // What a release would apply, the Service's DNS label kept as a release keeps it.
    const diff = await diffImage(r.access.kubeconfig, image, r.manifests, {
      ...cluster,
      metadata,
      ...(options.dnsLabel ? { dnsLabel: options.dnsLabel } : {}),
      keepDnsLabel: !options.removeDnsLabel,
    });
    const url = labelUrl(options.dnsLabel, options.region);
    return {
      ...resolved,
      dryRun: true,
      deployed: "not deployed (dry run)",
      smoke: "not run (dry run)",
      diff,
      releaseId: "",
      canary: "",
      ledger: "not recorded (dry run)",
      url,
      address: "",
    };
  }

  // A paused canary waits for an approval: a release (the nightly one, say) must not replace it.
  const { held, dnsLabel: labelNow } = await readBeforeRelease(r.access.kubeconfig, r.manifests, cluster);
  if (held) {
    throw new Error(
      `release of ${image} refused: release ${held.id} (${held.image}) is a paused canary waiting for promote or abort; ` +
        "finish it first (dagger call ... promote, or ... abort), then release again",
    );
  }
  // The Service's DNS label: the one named, none when removal was asked, else the one it has (a release never drops the public name by leaving it out).
  const dnsLabel = dnsLabelToRender({ dnsLabel: options.dnsLabel, remove: options.removeDnsLabel }, labelNow);
  const kubectl = { ...cluster, ...(dnsLabel ? { dnsLabel } : {}) };
  const releaseId = newReleaseId();
  const record = async (outcome: Outcome, detail: string, leftovers: Parameters<typeof ledgerChange>[1] = []) =>
    (
      await recordInLedger(
        r.access.kubeconfig,
        r.manifests,
        kubectl,
        ledgerChange(ledgerEntry(releaseId, options.strategy, outcome, image, metadata, detail), leftovers),
      )
    ).line;
  const address = async () =>
    publicAddressNow(r.access.kubeconfig, r.manifests, { ...kubectl, ...(options.region ? { region: options.region } : {}) });

  if (options.canary) {
    const c = await canaryRelease(r.access.kubeconfig, image, r.manifests, {
      ...kubectl,
      metadata,
      timeout: r.timeout,
      releaseId,
      ...options.canary,
    });
    const status = c.promote?.status ?? c.canary.status;
    const outcome: Outcome = c.ok ? (status === "paused" ? "paused" : "succeeded") : c.canary.status === "aborted" ? "aborted" : "failed";
    const ledger = await record(outcome, c.promote?.message ?? c.canary.message, c.canary.leftovers);
    if (!c.ok) throw new Error(`canary release of ${image} (release ${releaseId}): ${c.summary}\nledger: ${ledger}`);
    const where = await address();
    return {
      ...resolved,
      dryRun: false,
      releaseId,
      deployed: c.promote
        ? c.promote.message.split("\n")[0]!
        : `canary serving beside the stable, paused (promote or abort release ${releaseId})`,
      smoke: c.canary.analysis.length ? `analysis passed (${c.canary.analysis.length} round(s))` : "not run",
      canary: c.canary.message,
      ledger,
      ...where,
    };
  }

  // A canary left by an interrupted run would keep serving its image beside the new one.
  const cleanup = await abortCanary(r.access.kubeconfig, r.manifests, kubectl);
  if (!cleanup.outcome.ok) throw new Error(`release of ${image} stopped before changing anything: ${cleanup.summary}`);
  const leftovers = cleanup.outcome.removed;
  const leftoverNote = leftovers.length ? `removed a canary left by an interrupted run first (${cleanup.outcome.message}); ` : "";
  try {
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
    const ledger = await record("succeeded", deployed.outcome.message, leftovers);
    return {
      ...resolved,
      dryRun: false,
      releaseId,
      deployed: `${leftoverNote}${deployed.outcome.message}`,
      smoke: deployed.outcome.smoke ?? "not run",
      canary: "",
      ledger,
      ...(await address()),
    };
  } catch (e) {
    if (!(e instanceof DeployError)) throw e;
    const ledger = await record("failed", e.report.outcome.message, leftovers);
    e.message = `${e.message}\nledger: ${ledger}`;
    throw e;
  }
}
