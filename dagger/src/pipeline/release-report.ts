/**
 * What release, promote, abort and rollback tell their caller: the release report of report.ts
 * plus what they did (action, strategy, release id), the canary's analysis, the ledger's line and
 * the public URL. Also the checks of release's options, made before anything runs.
 */
import { formatReleaseReport, ReleaseReport } from "./report.js";
import { analysisThresholds, AnalysisThresholds, checkPercent } from "../release/canary.js";
import { durationSeconds, isGoDuration } from "../kubernetes/commands.js";
import { azurePublicUrl, checkDnsLabel, checkRegion, dnsLabelToRender } from "../kubernetes/dns-label.js";

export type ReleaseAction = "release" | "promote" | "abort" | "rollback";

export interface ReleaseOutcomeReport extends ReleaseReport {
  action: ReleaseAction;
  /** rolling, canary or rollback. */
  strategy: string;
  /** The attempt's id in the ledger (and the canary's release-id label). */
  releaseId: string;
  /** The canary's sizing, analysis and what became of it; "" for a rolling release. */
  canary: string;
  /** Whether the attempt was recorded in the ledger. */
  ledger: string;
  /** The public URL (DNS label and region, or the load balancer's address); "" when unknown. */
  url: string;
  /** The Service's public address, or what there is instead, in words. */
  address: string;
  /** --mark-alias: the store's alias moved to the serving model, as the store reported it. */
  alias?: string;
  /** with-image-policy: the image's verified signature and provenance, in one line. */
  signature?: string;
}

export function formatOutcomeReport(r: ReleaseOutcomeReport): string {
  const head = r.action === "release" ? formatReleaseReport(r) : `${r.action}: ${r.image}\ndeploy: ${r.deployed}`;
  return [
    head,
    `strategy: ${r.strategy}${r.releaseId ? ` (release ${r.releaseId})` : ""}`,
    ...(r.canary ? [`canary: ${r.canary}`] : []),
    ...(r.ledger ? [`ledger: ${r.ledger}`] : []),
    ...(r.url || r.address ? [`url: ${r.url || r.address}`] : []),
    ...(r.alias ? [`model alias: ${r.alias}`] : []),
    ...(r.signature ? [`signature: ${r.signature}`] : []),
  ].join("\n");
}

export const RELEASE_STRATEGIES = ["rolling", "canary"] as const;
export type ReleaseStrategy = (typeof RELEASE_STRATEGIES)[number];

export interface ReleaseOptionsInput {
  strategy: string;
  canaryPercent: number;
  analysisWindow: string;
  analysisInterval: string;
  maxFailures: number;
  maxRestarts: number;
  pause: boolean;
  dnsLabel?: string | undefined;
  removeDnsLabel?: boolean | undefined;
  region?: string | undefined;
}

export interface ReleaseOptions {
  strategy: ReleaseStrategy;
  canary?: { percent: number; analysis: AnalysisThresholds; pause: boolean };
  /** Set or change the Service's DNS label; without it (and without removeDnsLabel) the label there is kept. */
  dnsLabel?: string;
  removeDnsLabel?: boolean;
  region?: string;
}

/** Checks release's flags together, before the registry or the cluster is asked anything. */
export function releaseOptions(o: ReleaseOptionsInput): ReleaseOptions {
  if (!RELEASE_STRATEGIES.includes(o.strategy as ReleaseStrategy)) {
    throw new Error(
      `--strategy "${o.strategy}" is not one of ${RELEASE_STRATEGIES.join(", ")} (rolling: the whole Deployment at once; canary: a share first, judged)`,
    );
  }
  const strategy = o.strategy as ReleaseStrategy;
  if (strategy === "rolling" && o.pause) throw new Error("--pause stops a canary after its analysis: use it with --strategy canary");
  for (const [flag, d] of [
    ["--analysis-window", o.analysisWindow],
    ["--analysis-interval", o.analysisInterval],
  ] as const) {
    if (!isGoDuration(d)) throw new Error(`${flag} "${d}" is not a duration such as 30s, 2m or 1h`);
  }
  const canary =
    strategy === "canary"
      ? {
          percent: checkPercent(o.canaryPercent),
          analysis: analysisThresholds(
            durationSeconds(o.analysisWindow),
            durationSeconds(o.analysisInterval),
            o.maxFailures,
            o.maxRestarts,
          ),
          pause: o.pause,
        }
      : undefined;
  dnsLabelToRender({ dnsLabel: o.dnsLabel, remove: o.removeDnsLabel }, ""); // a bad label, or both flags, refused here
  return {
    strategy,
    ...(canary ? { canary } : {}),
    ...(o.dnsLabel ? { dnsLabel: checkDnsLabel(o.dnsLabel) } : {}),
    ...(o.removeDnsLabel ? { removeDnsLabel: true } : {}),
    ...(o.region ? { region: checkRegion(o.region) } : {}),
  };
}

/** The URL a DNS label gives, when the region is known too; "" otherwise. */
export function labelUrl(dnsLabel?: string, region?: string): string {
  return dnsLabel && region ? azurePublicUrl(dnsLabel, region) : "";
}
