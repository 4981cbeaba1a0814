/**
 * The deploy and rollback decisions, as a pure state machine over kubectl results:
 *
 *   read revision ─► dry-run apply ─► apply ─► rollout status ─► [smoke test] ─► deployed
 *        │               │              │            │ (failed or       │ (failed)
 *   unreachable      rejected      rejected          │  timed out)      │
 *   (nothing changed)(nothing changed)               ▼                  ▼
 *                                  get pods ─► get events ─► undo to the revision read first
 *                                  ─► rollout status ─► rolled back (an error) | rollback failed
 *
 * The smoke test (when the plan has one) is a step like any other, so every caller that smoke
 * tests (release, the embedded ci) rolls back the same way when it fails.
 *
 * `nextStep(plan, history)` says what to run next, or how it ended; `runDeploy` drives it with
 * any kubectl runner (a Dagger container in production, a script in tests).
 */
import { ApplyOptions, applyArgs, eventsArgs, podsArgs, readRevisionArgs, rolloutStatusArgs, Target, undoArgs } from "./commands.js";
import { credentialPluginHint, diagnose, Problem } from "./diagnose.js";
import { judgeSmoke } from "./smoke.js";

export type Step = "read-revision" | "dry-run" | "apply" | "rollout-status" | "smoke" | "get-pods" | "get-events" | "undo" | "undo-status";

export interface KubectlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface StepRecord {
  step: Step;
  args: string[];
  result: KubectlResult;
}

export interface DeployPlan extends Target, ApplyOptions {
  /** The Deployment's name (from the rendered manifests). */
  deployment: string;
  /** Its pod selector, to find its pods. */
  selector: Record<string, string>;
  /** The image being deployed, for messages. */
  image: string;
  /** How long each rollout (forward, then back) may take, as a Go duration. */
  timeout: string;
  /** The smoke check's kubectl argv, run once the rollout is complete; a failure rolls back. */
  smoke?: string[];
}

export type DeployStatus =
  /** Rolled out and available. */
  | "deployed"
  /** kubectl could not read the Deployment (auth, network, context): nothing was changed. */
  | "unreachable"
  /** The API server refused the manifests: nothing was changed. */
  | "rejected"
  /** The rollout failed and the Deployment is back at its previous revision. */
  | "rolled-back"
  /** The rollout failed and so did going back: the failed revision may still be in place. */
  | "rollback-failed"
  /** The rollout failed and there was nothing to go back to (first deploy, or unchanged template). */
  | "not-rolled-back";

export interface DeployOutcome {
  ok: boolean;
  status: DeployStatus;
  message: string;
  problems: Problem[];
  /** The revision the Deployment was at before this deploy, when it existed. */
  previousRevision?: string;
  /** The smoke test's verdict, when the plan had one and it ran. */
  smoke?: string;
}

export type Next = { run: Step; args: string[] } | { done: DeployOutcome };

const failed = (r: KubectlResult) => r.exitCode !== 0;

/** kubectl's own words, trimmed to what helps (the last lines of stderr, else stdout), and what to do when we know. */
export function kubectlSays(r: KubectlResult, max = 12): string {
  const text = (r.stderr.trim() || r.stdout.trim() || `exit code ${r.exitCode}, no output`).split("\n");
  const hint = credentialPluginHint(r.stderr);
  return [...(text.length > max ? ["...", ...text.slice(-max)] : text), ...(hint ? [hint] : [])].join("\n");
}

function where(plan: DeployPlan): string {
  return `deployment/${plan.deployment} in namespace ${plan.namespace}${plan.context ? ` (context ${plan.context})` : ""}`;
}

/** What to do after `history`; pure and total, so every path can be tested on its own. */
export function nextStep(plan: DeployPlan, history: StepRecord[]): Next {
  const get = (s: Step) => history.find((h) => h.step === s)?.result;
  const revision = get("read-revision");
  // The revision running before this deploy: what a failed rollout is undone to.
  const previous = revision && !failed(revision) ? revision.stdout.trim() || undefined : undefined;
  const run = (step: Step, args: string[]): Next => ({ run: step, args });
  const done = (o: Omit<DeployOutcome, "problems" | "previousRevision"> & { problems?: Problem[] }): Next => ({
    done: { problems: [], ...o, ...(previous ? { previousRevision: previous } : {}) },
  });

  if (!revision) return run("read-revision", readRevisionArgs(plan.deployment, plan));
  if (failed(revision)) {
    return done({
      ok: false,
      status: "unreachable",
      message:
        `could not read ${where(plan)} (kubectl exit ${revision.exitCode}); nothing was changed. ` +
        `Check the kubeconfig, the context and the identity's permissions:\n${kubectlSays(revision)}`,
    });
  }

  const dryRun = get("dry-run");
  if (!dryRun) return run("dry-run", applyArgs(plan, { ...plan, dryRun: true }));
  if (failed(dryRun)) {
    return done({
      ok: false,
      status: "rejected",
      message: `the cluster rejected the manifests for ${plan.image} (server-side dry run, kubectl exit ${dryRun.exitCode}); nothing was changed:\n${kubectlSays(dryRun)}`,
    });
  }

  const apply = get("apply");
  if (!apply) return run("apply", applyArgs(plan, plan));
  const deploymentTouched = new RegExp(`^deployment\\.apps/${escapeRe(plan.deployment)}\\s`, "m").test(apply.stdout);
  if (failed(apply) && !deploymentTouched) {
    const applied = apply.stdout.trim();
    return done({
      ok: false,
      status: "rejected",
      message:
        `applying the manifests for ${plan.image} failed (kubectl exit ${apply.exitCode}); the Deployment was not changed, so there is nothing to roll back` +
        `${applied ? ` (applied before the error:\n${applied})` : ""}:\n${kubectlSays(apply)}`,
    });
  }

  const status = get("rollout-status");
  const smokeRun = get("smoke");
  const smoke = smokeRun ? judgeSmoke(smokeRun) : undefined;
  if (!failed(apply)) {
    if (!status) return run("rollout-status", rolloutStatusArgs(plan.deployment, plan.timeout, plan));
    if (!failed(status)) {
      if (plan.smoke && !smoke) return run("smoke", plan.smoke);
      if (!smoke || smoke.ok) {
        return done({
          ok: true,
          status: "deployed",
          message: `deployed ${plan.image} to ${where(plan)}: rollout complete${previous ? ` (previous revision ${previous})` : ""}`,
          ...(smoke ? { smoke: smoke.summary } : {}),
        });
      }
    }
  }

  // The rollout failed (or the apply failed after changing the Deployment): find out why.
  const pods = get("get-pods");
  if (!pods) return run("get-pods", podsArgs(plan.selector, plan));
  const events = get("get-events");
  if (!events) return run("get-events", eventsArgs(plan));
  const diagnosis = diagnose(plan.deployment, failed(pods) ? undefined : pods.stdout, failed(events) ? undefined : events.stdout);
  const whatFailed = failed(apply)
    ? `applying ${plan.image} failed after the Deployment had been changed (kubectl exit ${apply.exitCode}):\n${kubectlSays(apply)}\n`
    : smoke && !smoke.ok
      ? `the smoke test of ${plan.image} in ${where(plan)} ${smoke.summary}\n`
      : `the rollout of ${plan.image} to ${where(plan)} failed within ${plan.timeout}: ${diagnosis.headline}\n`;
  const details = [
    ...diagnosis.problems.map((p) => `  ${p.where}: ${p.reason}: ${p.message}`),
    ...diagnosis.notes.map((n) => `  (${n})`),
    ...(status && failed(status) ? [`  kubectl rollout status: ${kubectlSays(status, 3).replace(/\n/g, " ")}`] : []),
  ].join("\n");
  const report = `${whatFailed}${details ? `${details}\n` : ""}`;

  if (!previous) {
    return done({
      ok: false,
      status: "not-rolled-back",
      problems: diagnosis.problems,
      message:
        `${report}NOT rolled back: this was the first deploy of deployment/${plan.deployment} in namespace ${plan.namespace}, ` +
        `so there is no earlier revision to return to. The failing pods are left for inspection ` +
        `(kubectl describe pods -l ${Object.entries(plan.selector)
          .map(([k, v]) => `${k}=${v}`)
          .join(",")} -n ${plan.namespace}); fix the cause and deploy again.`,
    });
  }

  const undo = get("undo");
  if (!undo) return run("undo", undoArgs(plan.deployment, previous, plan));
  if (failed(undo)) {
    return done({
      ok: false,
      status: "rollback-failed",
      problems: diagnosis.problems,
      message:
        `${report}Rolling back to revision ${previous} FAILED too (kubectl exit ${undo.exitCode}): ${kubectlSays(undo, 4)}\n` +
        `The failed revision may still be in place: check kubectl rollout history deployment/${plan.deployment} -n ${plan.namespace} and undo by hand.`,
    });
  }
  if (/skipped rollback/i.test(undo.stdout)) {
    return done({
      ok: false,
      status: "not-rolled-back",
      problems: diagnosis.problems,
      message:
        `${report}NOT rolled back: the Deployment already ran this pod template before the deploy (revision ${previous}), ` +
        `so there is nothing earlier of ours to return to; it is failing on its own.`,
    });
  }

  const undoStatus = get("undo-status");
  if (!undoStatus) return run("undo-status", rolloutStatusArgs(plan.deployment, plan.timeout, plan));
  if (failed(undoStatus)) {
    return done({
      ok: false,
      status: "rollback-failed",
      problems: diagnosis.problems,
      message:
        `${report}Rolled back deployment/${plan.deployment} to revision ${previous}, but that rollout did not complete within ${plan.timeout} either: ` +
        `${kubectlSays(undoStatus, 4)}\nInspect the cluster: kubectl rollout history deployment/${plan.deployment} -n ${plan.namespace}.`,
    });
  }
  return done({
    ok: false,
    status: "rolled-back",
    problems: diagnosis.problems,
    message: `${report}Rolled back deployment/${plan.deployment} to revision ${previous}: the previous version is serving again. The deploy failed.`,
  });
}

/** Runs kubectl commands, in order, and tells what came of them. */
export type KubectlRunner = (step: Step, args: string[]) => Promise<KubectlResult>;

/** Drives `nextStep` to its end; the history records every command and its result. */
export async function runDeploy(plan: DeployPlan, kubectl: KubectlRunner): Promise<{ outcome: DeployOutcome; history: StepRecord[] }> {
  const history: StepRecord[] = [];
  for (;;) {
    const next = nextStep(plan, history);
    if ("done" in next) return { outcome: next.done, history };
    if (history.length > 16) throw new Error(`deploy state machine did not finish (last step ${next.run})`);
    history.push({ step: next.run, args: next.args, result: await kubectl(next.run, next.args) });
  }
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
