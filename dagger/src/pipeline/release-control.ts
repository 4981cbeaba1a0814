/**
 * The on-call functions around releases: promote or abort a paused canary, list the release
 * ledger, roll back to the last good release. Each records what it did in the ledger (the same
 * entry as the release it finishes) and says so.
 */
import { Directory, func, object, Secret } from "@dagger.io/dagger";
import { KubectlOptions } from "../kubernetes/deploy.js";
import {
  abortCanary,
  entryMetadata,
  promoteCanary,
  publicAddressNow,
  readLedger,
  recordInLedger,
  ImageVerifier,
  RollbackError,
  rollbackRelease,
} from "../release/release-steps.js";
import { formatLedger } from "../release/ledger.js";
import { ImageMetadata } from "../kubernetes/render.js";
import { RegistryTarget } from "../registry/settings.js";
import { registryLabelReader } from "./image-labels.js";
import { ReleaseOutcomeReport } from "./release-report.js";
import { ledgerChange, ledgerEntry, ledgerTime, newReleaseId, withRemovedCanary } from "./release-ledger.js";

export interface ControlInputs {
  kubeconfig: Secret;
  manifests: Directory;
  kubectl: KubectlOptions;
  region?: string;
  /** with-image-policy: verifies an image before it is applied. */
  verify?: ImageVerifier | undefined;
}

function report(
  action: ReleaseOutcomeReport["action"],
  image: string,
  metadata: ImageMetadata,
  facts: Pick<ReleaseOutcomeReport, "strategy" | "releaseId" | "deployed" | "ledger"> & Partial<ReleaseOutcomeReport>,
): ReleaseOutcomeReport {
  return {
    action,
    channel: "",
    image,
    ...(metadata.model ? { model: metadata.model } : {}),
    ...(metadata.revision ? { revision: metadata.revision } : {}),
    dryRun: false,
    smoke: "not run",
    canary: "",
    url: "",
    address: "",
    ...facts,
  };
}

const regionOf = (i: ControlInputs) => (i.region ? { region: i.region } : {});

/** Promote the paused canary of release `releaseId` (or that digest); its ledger entry becomes succeeded (or failed). Throws when the promote fails or is refused. */
export async function runPromoteRelease(i: ControlInputs & { timeout: string; releaseId: string }): Promise<ReleaseOutcomeReport> {
  const p = await promoteCanary(i.kubeconfig, i.manifests, { ...i.kubectl, timeout: i.timeout, releaseId: i.releaseId, verify: i.verify });
  const entry = ledgerEntry(
    p.canary.releaseId,
    "canary",
    p.ok ? "succeeded" : "failed",
    p.canary.image,
    p.canary.metadata,
    p.outcome.message,
  );
  const ledger = (await recordInLedger(i.kubeconfig, i.manifests, i.kubectl, ledgerChange(entry))).line;
  if (!p.ok) throw new Error(`${p.summary}\nledger: ${ledger}`);
  return report("promote", p.canary.image, p.canary.metadata, {
    strategy: "canary",
    releaseId: p.canary.releaseId,
    deployed: p.outcome.message.split("\n")[0]!,
    canary: p.outcome.message,
    ledger,
    ...(p.signature ? { signature: p.signature } : {}),
    ...(await publicAddressNow(i.kubeconfig, i.manifests, { ...i.kubectl, ...regionOf(i) })),
  });
}

/** Abort: remove the canary (only release `releaseId`'s when given); its ledger entry becomes aborted. Throws when it cannot be removed or is another release. */
export async function runAbortRelease(i: ControlInputs & { releaseId?: string }): Promise<ReleaseOutcomeReport> {
  const a = await abortCanary(i.kubeconfig, i.manifests, { ...i.kubectl, ...(i.releaseId ? { releaseId: i.releaseId } : {}) });
  if (!a.outcome.ok) throw new Error(a.summary);
  const removed = a.outcome.removed;
  const detail = "canary removed by abort; the stable was not changed";
  const time = ledgerTime();
  const ledger = removed.length
    ? (
        await recordInLedger(i.kubeconfig, i.manifests, i.kubectl, (read) =>
          removed.reduce((entries, l) => withRemovedCanary(entries, l, "aborted", detail, time, read.deploymentRevision), read.entries),
        )
      ).line
    : "nothing to record (no canary)";
  return report(
    "abort",
    removed.map((l) => l.image).join(", "),
    {},
    {
      strategy: "canary",
      releaseId: removed.map((l) => l.releaseId).join(", "),
      deployed: a.outcome.message,
      ledger,
    },
  );
}

/**
 * Roll back to the last good release (or --image) of `registry` in one step, smoke-tested;
 * recorded as a rollback. Throws when it fails or the ledger's choice is refused.
 */
export async function runRollbackRelease(
  i: ControlInputs & { timeout: string; image?: string; registry: RegistryTarget },
): Promise<ReleaseOutcomeReport> {
  const id = newReleaseId();
  try {
    const r = await rollbackRelease(i.kubeconfig, i.manifests, {
      ...i.kubectl,
      timeout: i.timeout,
      ...(i.image ? { digest: i.image } : {}),
      trust: {
        registry: i.registry.registry,
        repository: i.registry.repository,
        readLabels: await registryLabelReader(i.registry),
        verify: i.verify,
      },
      smokeRunId: id,
    });
    const metadata = entryMetadata(r.entry);
    const passedOver = r.skipped.length ? ` (passed over: ${r.skipped.join("; ")})` : "";
    const detail = `rolled back from ${r.from || "nothing"} to ${r.entry.image} (release ${r.entry.id})${passedOver}`;
    const ledger = (
      await recordInLedger(
        i.kubeconfig,
        i.manifests,
        i.kubectl,
        ledgerChange({
          ...ledgerEntry(id, "rollback", "succeeded", r.entry.image, metadata, detail),
          ...(r.from ? { rolledBackFrom: r.from } : {}),
        }),
      )
    ).line;
    return report("rollback", r.entry.image, metadata, {
      strategy: "rollback",
      releaseId: id,
      deployed: `${detail}: ${r.deploy.outcome.message}`,
      smoke: r.deploy.outcome.smoke ?? "not run",
      ledger,
      ...(r.signature ? { signature: r.signature } : {}),
      ...(await publicAddressNow(i.kubeconfig, i.manifests, { ...i.kubectl, ...regionOf(i) })),
    });
  } catch (e) {
    if (!(e instanceof RollbackError)) throw e;
    const entry = ledgerEntry(id, "rollback", "failed", e.entry.image, entryMetadata(e.entry), e.deployError.report.outcome.message);
    const ledger = (await recordInLedger(i.kubeconfig, i.manifests, i.kubectl, ledgerChange(entry))).line;
    throw new Error(`${e.message}\nledger: ${ledger}`, { cause: e });
  }
}

/** The release ledger: every recorded attempt, newest first in the summary; never changes anything. */
@object()
export class ReleaseHistory {
  /** How many attempts the ledger holds (the newest 20 are kept). */
  @func() count = 0;
  /** The image running now ("" when not deployed). */
  @func() running = "";
  /** The images of the attempts that succeeded, newest first (what rollback --image takes). */
  @func() goodImages: string[] = [];
  /** One line per attempt, newest first: time, outcome, strategy, image, model, revision, id. */
  @func() summary = "";
  /** Every entry as a JSON array, oldest first (id, time, strategy, outcome, image, model, revision, deploymentRevision, detail). */
  @func() json = "";
}

export async function readReleaseHistory(i: ControlInputs): Promise<ReleaseHistory> {
  const read = await readLedger(i.kubeconfig, i.manifests, i.kubectl);
  const good = [...read.entries].reverse().filter((e) => e.outcome === "succeeded");
  return Object.assign(new ReleaseHistory(), {
    count: read.entries.length,
    running: read.image,
    goodImages: [...new Set(good.map((e) => e.image))],
    summary: `${formatLedger(read.entries)}\nrunning now: ${read.image || "nothing (not deployed)"}`,
    json: JSON.stringify(read.entries),
  });
}
