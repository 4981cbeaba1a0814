/**
 * Canary releases with kubectl alone, decided as a pure state machine over kubectl results (the
 * style of decide.ts):
 *
 *   find canaries left behind ─► [delete them] ─► read the stable Deployment ─► apply the canary
 *                                                     │ (absent, 0 replicas)      │ (refused)
 *                                                     ▼                           │
 *                                                  no-stable                      ▼
 *   canary rollout status ──(timed out)──► canary pods (why) ─► delete the canary ─► aborted
 *        │
 *        ▼  analysis, round 1..N:  canary pods ─► smoke via the Service ─► smoke one canary pod ─► [wait]
 *        │     (too many failed checks, too many restarts, or not ready at the end) ─► delete ─► aborted
 *        ▼
 *   passed ─► paused (--pause: the canary keeps serving) | promote (runPromote: stable rolled, canary deleted)
 *
 * Once the canary has been applied, every way out that is not "passed"/"paused" deletes it: the
 * stable Deployment is never touched before promote. `nextCanaryStep(plan, history)` says what to
 * run next; `runCanary` drives it with any kubectl runner.
 */
import {
  ApplyOptions,
  applyFileArgs,
  deleteDeploymentsArgs,
  deploymentsBySelectorArgs,
  getDeploymentArgs,
  podsArgs,
  rolloutStatusArgs,
  STEP_FILES,
  Target,
} from "../kubernetes/commands.js";
import { DeployOutcome, DeployPlan, KubectlResult, kubectlSays, runDeploy } from "../kubernetes/decide.js";
import { diagnose } from "../kubernetes/diagnose.js";
import { CANARY_SELECTOR, RELEASE_ID_LABEL } from "./canary-manifest.js";
import { judgeSmoke, SmokeVerdict } from "../kubernetes/smoke.js";
import { appContainer, list, Obj, obj } from "../kubernetes/kubectl-json.js";
import { approvedCanary } from "./ledger.js";

export type CanaryStep =
  | "find-leftovers"
  | "delete-leftovers"
  | "read-stable"
  | "apply-canary"
  | "canary-status"
  | "canary-why"
  | "pods"
  | "smoke-service"
  | "smoke-canary"
  | "wait"
  | "delete-canary";

export interface CanaryStepRecord {
  step: CanaryStep;
  /** The analysis round (1-based) for round steps. */
  round?: number;
  args: string[];
  result: KubectlResult;
}

/** What to run: kubectl argv, files to write in the container first, or (`wait`) a pause. */
export interface CanaryCommand {
  run: CanaryStep;
  round?: number;
  args: string[];
  files?: Record<string, string>;
  waitSeconds?: number;
}

export interface AnalysisThresholds {
  /** Rounds of checks: the window divided by the interval, at least 1. */
  rounds: number;
  /** Pause between rounds, in seconds. */
  intervalSeconds: number;
  /** Failed checks tolerated over the whole analysis (each smoke run, pods read or unready round is a check). */
  maxFailures: number;
  /** Container restarts of the canary pods tolerated. */
  maxRestarts: number;
}

export interface CanaryPlan extends Target, ApplyOptions {
  /** The stable Deployment (k8s/'s), never changed by the canary. */
  stable: string;
  /** The canary Deployment's name and pod selector. */
  canary: string;
  canarySelector: Record<string, string>;
  releaseId: string;
  /** The new image, by digest. */
  image: string;
  /** How long the canary may take to become ready, as a Go duration. */
  timeout: string;
  /** Requested share of traffic, percent (1-99). */
  percent: number;
  analysis: AnalysisThresholds;
  /** Stop after a passing analysis, leaving the canary serving (promote or abort later). */
  pause: boolean;
  /** The canary Deployment for a replica count (rendered from k8s/). */
  canaryManifest: (replicas: number) => string;
  /** The smoke check's argv against a base URL; `name` makes the one-off pod's name unique. */
  smoke: (url: string, name: string) => string[];
  /** The app's in-cluster Service URL. */
  serviceUrl: string;
}

export type CanaryStatus =
  /** The analysis passed: promote next. */
  | "passed"
  /** The analysis passed and the canary keeps serving (--pause): promote or abort later. */
  | "paused"
  /** The canary failed (not ready, or the analysis): it was removed; the stable was not touched. */
  | "aborted"
  /** There is no stable Deployment to compare with (first release, or 0 replicas): nothing was changed. */
  | "no-stable"
  /** kubectl could not read or clean up before anything was changed. */
  | "unreachable"
  /** Removing the canary failed: it may still take traffic. */
  | "cleanup-failed";

export interface Leftover {
  name: string;
  releaseId: string;
  image: string;
}

export interface CanaryOutcome {
  ok: boolean;
  status: CanaryStatus;
  message: string;
  /** Canaries of earlier, interrupted runs that were found and removed first. */
  leftovers: Leftover[];
  /** Stable and canary replicas and the canary's actual share of the pods, when sized. */
  sizing?: CanarySizing;
  /** One line per analysis round. */
  analysis: string[];
  /** The check that failed the canary, when one did. */
  failedCheck?: string;
}

export type CanaryNext = CanaryCommand | { done: CanaryOutcome };

export interface CanarySizing {
  stable: number;
  canary: number;
  /** canary / (stable + canary), percent, one decimal. */
  share: number;
}

/**
 * Canary replicas for a requested share of traffic. The Service spreads connections over every
 * ready pod, so the share is canary/(stable + canary): canary = round(stable × p / (100 − p)),
 * rounded half up, at least 1. E.g. 2 stable at 10% → 1 canary (33.3%); 9 at 10% → 1 (10%); 6 at 25% → 2 (25%).
 */
export function canaryReplicas(stable: number, percent: number): CanarySizing {
  checkPercent(percent);
  if (!Number.isInteger(stable) || stable < 1)
    throw new Error(`the stable Deployment must have at least 1 replica to size a canary against, it has ${stable}`);
  const canary = Math.max(1, Math.round((stable * percent) / (100 - percent)));
  return { stable, canary, share: Math.round((1000 * canary) / (stable + canary)) / 10 };
}

export function checkPercent(percent: number): number {
  if (!Number.isInteger(percent) || percent < 1 || percent > 99) {
    throw new Error(`--canary-percent must be a whole number from 1 to 99 (the canary's share of traffic), got ${percent}`);
  }
  return percent;
}

/** Thresholds from the arguments: window and interval in seconds; every value checked. */
export function analysisThresholds(
  windowSeconds: number,
  intervalSeconds: number,
  maxFailures: number,
  maxRestarts: number,
): AnalysisThresholds {
  if (!(intervalSeconds >= 1)) throw new Error(`--analysis-interval must be at least 1s, got ${intervalSeconds}s`);
  if (!(windowSeconds >= intervalSeconds)) {
    throw new Error(`--analysis-window (${windowSeconds}s) must be at least --analysis-interval (${intervalSeconds}s)`);
  }
  for (const [flag, v] of [
    ["--max-failures", maxFailures],
    ["--max-restarts", maxRestarts],
  ] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`${flag} must be a whole number of 0 or more, got ${v}`);
  }
  return { rounds: Math.max(1, Math.floor(windowSeconds / intervalSeconds)), intervalSeconds, maxFailures, maxRestarts };
}

// ---- reading kubectl's JSON ------------------------------------------------------------------

const str = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

function parseJson(text: string): Obj | undefined {
  if (!text.trim()) return undefined;
  try {
    return obj(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function itemsOf(text: string): Obj[] {
  const o = parseJson(text);
  if (!o) return [];
  return Array.isArray(o.items) ? list(o.items) : [o];
}

const appImage = (d: Obj): string => str(appContainer(obj(obj(d.spec).template).spec)?.image);

/**
 * This app's canary among what `kubectl get deployments -l ai-app-pipeline/track=canary -o json`
 * listed: only a Deployment named `canary` (`<app>-canary`). Another app's canary, or anything
 * else carrying the track label, is never this app's to remove.
 */
export function parseLeftovers(stdout: string, canary: string): Leftover[] {
  return itemsOf(stdout)
    .filter((d) => (d.kind === undefined || d.kind === "Deployment") && str(obj(d.metadata).name) === canary)
    .map((d) => ({
      name: str(obj(d.metadata).name),
      releaseId: str(obj(obj(d.metadata).labels)[RELEASE_ID_LABEL]) || "unknown",
      image: appImage(d),
    }))
    .filter((l) => l.name);
}

/** The stable Deployment's replicas and image from `kubectl get deployment/NAME -o json` ("" when absent). */
export function parseStable(stdout: string): { replicas: number; image: string } | undefined {
  const d = parseJson(stdout);
  if (!d || d.kind !== "Deployment") return undefined;
  const spec = obj(d.spec);
  return { replicas: spec.replicas === undefined ? 1 : num(spec.replicas), image: appImage(d) };
}

export interface PodHealth {
  total: number;
  ready: number;
  /** Restarts of all containers of these pods. */
  restarts: number;
  /** Base URLs of the pods (pod IP and the app's http port), ready ones only. */
  urls: string[];
}

/** The canary pods' health from `kubectl get pods -l ... -o json`; pods being deleted are left out. */
export function podHealth(stdout: string): PodHealth {
  const pods = itemsOf(stdout).filter((p) => !obj(p.metadata).deletionTimestamp);
  let ready = 0;
  let restarts = 0;
  const urls: string[] = [];
  for (const p of pods) {
    const status = obj(p.status);
    const isReady = list(status.conditions).some((c) => c.type === "Ready" && c.status === "True");
    for (const c of list(status.containerStatuses)) restarts += num(c.restartCount);
    if (!isReady) continue;
    ready++;
    const ip = str(status.podIP);
    const ports = list(appContainer(p.spec)?.ports);
    const port = num((ports.find((x) => x.name === "http") ?? ports[0])?.containerPort) || 8000;
    if (ip) urls.push(`http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`);
  }
  return { total: pods.length, ready, restarts, urls };
}

// ---- the analysis ------------------------------------------------------------------------

export interface RoundObservation {
  round: number;
  /** Undefined when kubectl could not list the pods. */
  pods?: PodHealth;
  podsError?: string;
  service: SmokeVerdict;
  /** Undefined when there was no ready canary pod to check. */
  canary?: SmokeVerdict;
  /** The canary pod URL checked. */
  canaryUrl?: string;
}

export interface AnalysisJudgement {
  verdict: "continue" | "pass" | "fail";
  /** Each failed check, in order. */
  failures: string[];
  /** Why it failed, when it did. */
  reason?: string;
}

/** Every failed check of one round, in words. */
export function roundFailures(o: RoundObservation, desired: number): string[] {
  const out: string[] = [];
  const at = `round ${o.round}`;
  if (!o.pods) out.push(`${at}: could not list the canary pods: ${o.podsError ?? "kubectl failed"}`);
  else if (o.pods.ready < desired) out.push(`${at}: ${o.pods.ready}/${desired} canary pods ready`);
  if (!o.service.ok) out.push(`${at}: smoke test via the Service ${o.service.summary}`);
  if (!o.canary) out.push(`${at}: no ready canary pod to smoke-test directly`);
  else if (!o.canary.ok) out.push(`${at}: smoke test of canary pod ${o.canaryUrl ?? ""} ${o.canary.summary}`);
  return out;
}

/**
 * Judges the rounds so far against the thresholds: fail as soon as restarts or failed checks
 * exceed what is allowed; pass after the last round when the canary is fully ready in it.
 */
export function judgeAnalysis(rounds: RoundObservation[], t: AnalysisThresholds, desired: number): AnalysisJudgement {
  const failures = rounds.flatMap((o) => roundFailures(o, desired));
  const restarts = Math.max(0, ...rounds.map((o) => o.pods?.restarts ?? 0));
  if (restarts > t.maxRestarts) {
    return { verdict: "fail", failures, reason: `the canary pods restarted ${restarts} time(s) (allowed: ${t.maxRestarts})` };
  }
  if (failures.length > t.maxFailures) {
    return {
      verdict: "fail",
      failures,
      reason: `${failures.length} failed check(s) (allowed: ${t.maxFailures}); the last: ${failures.at(-1)}`,
    };
  }
  if (rounds.length < t.rounds) return { verdict: "continue", failures };
  const last = rounds.at(-1)!;
  if (!last.pods || last.pods.ready < desired) {
    return {
      verdict: "fail",
      failures,
      reason: `the canary was not fully ready at the end of the analysis (${last.pods?.ready ?? 0}/${desired} pods ready)`,
    };
  }
  return { verdict: "pass", failures };
}

// ---- the state machine -------------------------------------------------------------------

const failed = (r: KubectlResult) => r.exitCode !== 0;

function roundLine(o: RoundObservation): string {
  const pods = o.pods ? `${o.pods.ready}/${o.pods.total} ready, ${o.pods.restarts} restarts` : "pods unreadable";
  const smoke = (v?: SmokeVerdict) => (!v ? "not run" : v.ok ? "ok" : "FAILED");
  return `round ${o.round}: canary pods ${pods}; via the Service ${smoke(o.service)}; canary pod ${smoke(o.canary)}`;
}

/** What to do after `history`; pure and total. */
export function nextCanaryStep(plan: CanaryPlan, history: CanaryStepRecord[]): CanaryNext {
  const get = (s: CanaryStep, round?: number) => history.find((h) => h.step === s && h.round === round)?.result;
  const run = (step: CanaryStep, args: string[], extra: Partial<CanaryCommand> = {}): CanaryNext => ({ run: step, args, ...extra });
  const where = `namespace ${plan.namespace}${plan.context ? ` (context ${plan.context})` : ""}`;

  const found = get("find-leftovers");
  if (!found) return run("find-leftovers", deploymentsBySelectorArgs(CANARY_SELECTOR, plan));
  if (failed(found)) {
    return {
      done: {
        ok: false,
        status: "unreachable",
        leftovers: [],
        analysis: [],
        message: `could not list the Deployments in ${where} (kubectl exit ${found.exitCode}); nothing was changed. Check the kubeconfig, the context and the identity's permissions:\n${kubectlSays(found)}`,
      },
    };
  }
  const leftovers = parseLeftovers(found.stdout, plan.canary);
  const base = { leftovers, analysis: [] as string[] };
  const leftoverNote = leftovers.length
    ? `removed ${leftovers.length} canary Deployment(s) left by an interrupted run (${leftovers.map((l) => `${l.name}, release ${l.releaseId}, ${l.image}`).join("; ")}); `
    : "";
  if (leftovers.length) {
    const del = get("delete-leftovers");
    if (!del)
      return run(
        "delete-leftovers",
        deleteDeploymentsArgs(
          leftovers.map((l) => l.name),
          plan,
        ),
      );
    if (failed(del)) {
      return {
        done: {
          ok: false,
          status: "cleanup-failed",
          ...base,
          message:
            `found canary Deployment(s) left by an interrupted run (${leftovers.map((l) => l.name).join(", ")}) and could not remove them ` +
            `(kubectl exit ${del.exitCode}); nothing else was changed. They may still take traffic: remove them with ` +
            `kubectl delete ${leftovers.map((l) => `deployment/${l.name}`).join(" ")} -n ${plan.namespace}, or run abort:\n${kubectlSays(del)}`,
        },
      };
    }
  }

  const stableRead = get("read-stable");
  if (!stableRead) return run("read-stable", getDeploymentArgs(plan.stable, plan));
  if (failed(stableRead)) {
    return {
      done: {
        ok: false,
        status: "unreachable",
        ...base,
        message: `${leftoverNote}could not read deployment/${plan.stable} in ${where} (kubectl exit ${stableRead.exitCode}); nothing was changed:\n${kubectlSays(stableRead)}`,
      },
    };
  }
  const stable = parseStable(stableRead.stdout);
  if (!stable || stable.replicas < 1) {
    return {
      done: {
        ok: false,
        status: "no-stable",
        ...base,
        message:
          `${leftoverNote}a canary needs a stable version to compare with, and deployment/${plan.stable} in ${where} ` +
          `${stable ? "has 0 replicas" : "does not exist"}; nothing was changed. Release with --strategy rolling first.`,
      },
    };
  }
  const sizing = canaryReplicas(stable.replicas, plan.percent);
  const sized = { ...base, sizing };
  const sizeNote = `canary ${plan.canary}: ${sizing.canary} pod(s) beside ${sizing.stable} stable (${sizing.share}% of the pods for ${plan.percent}% asked)`;

  // From here on the canary may exist: every failure removes it.
  const abort = (why: string, failedCheck: string, analysis: string[] = []): CanaryNext => {
    const del = get("delete-canary");
    if (!del) return run("delete-canary", deleteDeploymentsArgs([plan.canary], plan));
    if (failed(del)) {
      return {
        done: {
          ok: false,
          status: "cleanup-failed",
          ...sized,
          analysis,
          failedCheck,
          message:
            `${leftoverNote}${why}\nRemoving the canary FAILED too (kubectl exit ${del.exitCode}): it may still take traffic. ` +
            `Remove it with kubectl delete deployment/${plan.canary} -n ${plan.namespace}, or run abort. ` +
            `The stable deployment/${plan.stable} was not changed.\n${kubectlSays(del, 4)}`,
        },
      };
    }
    return {
      done: {
        ok: false,
        status: "aborted",
        ...sized,
        analysis,
        failedCheck,
        message: `${leftoverNote}${why}\nAborted: the canary was removed; the stable deployment/${plan.stable} was not changed (still ${stable.image || "as it was"}).`,
      },
    };
  };

  const file = `${STEP_FILES}/canary.yaml`;
  const apply = get("apply-canary");
  if (!apply) return run("apply-canary", applyFileArgs(file, plan, plan), { files: { [file]: plan.canaryManifest(sizing.canary) } });
  if (failed(apply)) {
    return abort(
      `the cluster refused the canary ${plan.canary} for ${plan.image} (kubectl exit ${apply.exitCode}):\n${kubectlSays(apply)}`,
      "apply",
    );
  }

  const status = get("canary-status");
  if (!status) return run("canary-status", rolloutStatusArgs(plan.canary, plan.timeout, plan));
  if (failed(status)) {
    const why = get("canary-why");
    if (!why) return run("canary-why", podsArgs(plan.canarySelector, plan));
    const d = diagnose(plan.canary, failed(why) ? undefined : why.stdout, undefined);
    return abort(
      `${sizeNote}\nthe canary of ${plan.image} did not become ready within ${plan.timeout}: ${d.headline}\n` +
        `  kubectl rollout status: ${kubectlSays(status, 3).replace(/\n/g, " ")}`,
      "readiness",
    );
  }

  // The analysis: rounds of checks, each judged with all before it.
  const observations: RoundObservation[] = [];
  for (let round = 1; round <= plan.analysis.rounds; round++) {
    if (round > 1) {
      const waited = get("wait", round);
      if (!waited) return run("wait", [], { round, waitSeconds: plan.analysis.intervalSeconds });
    }
    const pods = get("pods", round);
    if (!pods) return run("pods", podsArgs(plan.canarySelector, plan), { round });
    const health = failed(pods) ? undefined : podHealth(pods.stdout);
    const service = get("smoke-service", round);
    if (!service) return run("smoke-service", plan.smoke(plan.serviceUrl, `${plan.releaseId}-s${round}`), { round });
    const canaryUrl = health?.urls.length ? health.urls[(round - 1) % health.urls.length] : undefined;
    const canary = get("smoke-canary", round);
    if (canaryUrl && !canary) return run("smoke-canary", plan.smoke(canaryUrl, `${plan.releaseId}-c${round}`), { round });
    const observation: RoundObservation = {
      round,
      ...(health ? { pods: health } : { podsError: kubectlSays(pods, 2) }),
      service: judgeSmoke(service),
      ...(canary && canaryUrl ? { canary: judgeSmoke(canary), canaryUrl } : {}),
    };
    observations.push(observation);
    const judged = judgeAnalysis(observations, plan.analysis, sizing.canary);
    const lines = observations.map(roundLine);
    if (judged.verdict === "fail") {
      return abort(
        `${sizeNote}\nthe canary of ${plan.image} failed its analysis in round ${round} of ${plan.analysis.rounds}: ${judged.reason}\n` +
          `${[...lines, ...judged.failures.map((f) => `  failed: ${f}`)].join("\n")}`,
        judged.reason ?? "analysis",
        lines,
      );
    }
    if (judged.verdict === "pass") {
      const summary = `${sizeNote}\nanalysis passed: ${plan.analysis.rounds} round(s), ${judged.failures.length} failed check(s) (allowed ${plan.analysis.maxFailures})\n${lines.join("\n")}`;
      return {
        done: plan.pause
          ? {
              ok: true,
              status: "paused",
              ...sized,
              analysis: lines,
              message: `${leftoverNote}${summary}\nPaused: the canary keeps serving beside the stable; finish with promote or abort (release ${plan.releaseId}).`,
            }
          : { ok: true, status: "passed", ...sized, analysis: lines, message: `${leftoverNote}${summary}` },
      };
    }
  }
  throw new Error("canary analysis ended without a verdict"); // unreachable: the last round passes or fails
}

/** Runs a kubectl argv (after writing `files` into the container), or waits `waitSeconds`. */
export type CanaryRunner = (command: CanaryCommand) => Promise<KubectlResult>;

/** Drives `nextCanaryStep` to its end. */
export async function runCanary(plan: CanaryPlan, runner: CanaryRunner): Promise<{ outcome: CanaryOutcome; history: CanaryStepRecord[] }> {
  const history: CanaryStepRecord[] = [];
  const limit = 12 + 4 * plan.analysis.rounds;
  for (;;) {
    const next = nextCanaryStep(plan, history);
    if ("done" in next) return { outcome: next.done, history };
    if (history.length > limit) throw new Error(`canary state machine did not finish (last step ${next.run})`);
    history.push({ step: next.run, ...(next.round ? { round: next.round } : {}), args: next.args, result: await runner(next) });
  }
}

// ---- promote and abort ---------------------------------------------------------------------

export interface FinishOutcome {
  ok: boolean;
  status: "promoted" | "promote-failed" | "aborted" | "nothing-to-abort" | "cleanup-failed" | "unreachable" | "not-approved";
  message: string;
  /** The stable's deploy (promote only). */
  deploy?: DeployOutcome;
  /** The canaries that were removed. */
  removed: Leftover[];
}

export interface FinishRecord {
  step: string;
  args: string[];
  result: KubectlResult;
}

/**
 * Promote: the stable Deployment rolled to the canary's image by the deploy state machine (dry
 * run, apply, rollout status, undo on failure), then the canary removed, whether the stable's
 * rollout worked or was rolled back: the cluster ends with one version serving.
 */
export async function runPromote(
  deploy: DeployPlan,
  canary: string,
  kubectl: (step: string, args: string[]) => Promise<KubectlResult>,
): Promise<{ outcome: FinishOutcome; history: FinishRecord[] }> {
  const { outcome, history } = await runDeploy(deploy, kubectl);
  const records: FinishRecord[] = history.map((h) => ({ step: h.step, args: h.args, result: h.result }));
  const args = deleteDeploymentsArgs([canary], deploy);
  const del = await kubectl("delete-canary", args);
  records.push({ step: "delete-canary", args, result: del });
  return { outcome: judgePromote(outcome, canary, deploy, del), history: records };
}

/** The promote's verdict from the stable's deploy and the canary's removal. */
export function judgePromote(deploy: DeployOutcome, canary: string, t: Target, del: KubectlResult): FinishOutcome {
  const removed = failed(del) ? [] : [{ name: canary, releaseId: "", image: "" }];
  const cleanup = failed(del)
    ? `\nRemoving the canary FAILED (kubectl exit ${del.exitCode}): remove it with kubectl delete deployment/${canary} -n ${t.namespace}, or run abort:\n${kubectlSays(del, 4)}`
    : `\nThe canary ${canary} was removed.`;
  if (!deploy.ok) return { ok: false, status: "promote-failed", deploy, removed, message: `promote failed: ${deploy.message}${cleanup}` };
  if (failed(del)) return { ok: false, status: "cleanup-failed", deploy, removed, message: `promoted: ${deploy.message}${cleanup}` };
  return { ok: true, status: "promoted", deploy, removed, message: `promoted: ${deploy.message}${cleanup}` };
}

/**
 * Abort: this app's canary (`canary`, found by its label and name) removed; the stable is not
 * touched. With `expect` (a release id or digest, see approvedCanary), a canary of another
 * release is left as it is and the abort refused.
 */
export async function runAbort(
  t: Target,
  canary: string,
  kubectl: (step: string, args: string[]) => Promise<KubectlResult>,
  expect?: string,
): Promise<{ outcome: FinishOutcome; history: FinishRecord[] }> {
  const history: FinishRecord[] = [];
  const step = async (name: string, args: string[]) => {
    const result = await kubectl(name, args);
    history.push({ step: name, args, result });
    return result;
  };
  const found = await step("find-canaries", deploymentsBySelectorArgs(CANARY_SELECTOR, t));
  const remove = (names: string[]) => step("delete-canaries", deleteDeploymentsArgs(names, t));
  return { outcome: await judgeAbort(found, t, canary, remove, expect), history };
}

async function judgeAbort(
  found: KubectlResult,
  t: Target,
  canary: string,
  remove: (names: string[]) => Promise<KubectlResult>,
  expect?: string,
): Promise<FinishOutcome> {
  if (failed(found)) {
    return {
      ok: false,
      status: "unreachable",
      removed: [],
      message: `could not list the Deployments in namespace ${t.namespace} (kubectl exit ${found.exitCode}); nothing was changed:\n${kubectlSays(found)}`,
    };
  }
  const canaries = parseLeftovers(found.stdout, canary);
  if (!canaries.length)
    return { ok: true, status: "nothing-to-abort", removed: [], message: `no canary in namespace ${t.namespace}: nothing to abort` };
  for (const c of expect ? canaries : []) {
    const check = approvedCanary(c, [], expect!, false);
    if ("error" in check) return { ok: false, status: "not-approved", removed: [], message: `abort refused: ${check.error}` };
  }
  const del = await remove(canaries.map((c) => c.name));
  const names = canaries.map((c) => `${c.name} (release ${c.releaseId}, ${c.image})`).join(", ");
  if (failed(del)) {
    return {
      ok: false,
      status: "cleanup-failed",
      removed: [],
      message: `could not remove ${names} (kubectl exit ${del.exitCode}); they may still take traffic:\n${kubectlSays(del)}`,
    };
  }
  return { ok: true, status: "aborted", removed: canaries, message: `aborted: removed ${names}; the stable Deployment was not changed` };
}
