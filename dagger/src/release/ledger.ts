/**
 * The release ledger: the last N release attempts (digest, model, git revision, the Deployment's
 * revision, time, strategy, outcome) in a ConfigMap `<app>-releases` beside the app, JSON under
 * one key. Written with optimistic concurrency, decided as a pure state machine:
 *
 *   read (ConfigMap + Deployment, with the ConfigMap's resourceVersion)
 *     ─► create (absent) | replace (resourceVersion as read: 409 Conflict if it moved)
 *     ─► Conflict / AlreadyExists: read again and re-apply the change (at most `maxAttempts` times)
 *
 * so two releases writing at once both land, each entry once (entries are keyed by release id).
 * Also here: the rollback choice (the last good entry, or a given digest from the ledger).
 */
import { createFileArgs, ledgerReadArgs, replaceFileArgs, STEP_FILES, Target } from "../kubernetes/commands.js";
import { KubectlResult, kubectlSays } from "../kubernetes/decide.js";
import { appContainer, kubectlGetItems, obj } from "../kubernetes/kubectl-json.js";

export const LEDGER_KEY = "releases.json";
export const DEFAULT_LEDGER_SIZE = 20;
export const ledgerName = (deployment: string): string => `${deployment}-releases`;

export const STRATEGIES = ["rolling", "canary", "rollback"] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const OUTCOMES = ["succeeded", "failed", "paused", "aborted", "interrupted"] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface LedgerEntry {
  /** The release attempt (the same id through a paused canary's promote or abort). */
  id: string;
  /** When the entry was last written, RFC 3339 UTC. */
  time: string;
  strategy: Strategy;
  outcome: Outcome;
  /** registry/repository@sha256:... */
  image: string;
  modelName: string;
  modelVersion: string;
  modelSha256: string;
  /** Git revision the image was built from. */
  revision: string;
  /** The Deployment's revision when the entry was written (kubectl rollout history). */
  deploymentRevision: string;
  /** One line on what happened. */
  detail: string;
  /** A rollback's entry: the image it rolled back from, which a later rollback never goes back to. */
  rolledBackFrom?: string;
}

/** How many of the newest good releases the ledger never drops, however many other attempts follow. */
export const KEPT_GOOD_RELEASES = 5;

/** Adds `entry`, or replaces the entry with its id where it stands; keeps `max` (see trimLedger). */
export function upsertEntry(entries: LedgerEntry[], entry: LedgerEntry, max = DEFAULT_LEDGER_SIZE): LedgerEntry[] {
  if (!Number.isInteger(max) || max < 1) throw new Error(`the ledger must keep at least 1 entry, got ${max}`);
  const at = entries.findIndex((e) => e.id === entry.id);
  const next = at >= 0 ? entries.map((e, i) => (i === at ? entry : e)) : [...entries, entry];
  return trimLedger(next, max);
}

/**
 * At most `max` entries: the oldest go first, except the newest good releases (up to
 * KEPT_GOOD_RELEASES, fewer when `max` is small), which rollback needs. A run of failed,
 * aborted or cleanup entries therefore never pushes every good release out.
 */
export function trimLedger(entries: LedgerEntry[], max = DEFAULT_LEDGER_SIZE): LedgerEntry[] {
  if (entries.length <= max) return entries;
  const keep = Math.min(KEPT_GOOD_RELEASES, max - 1);
  const kept = new Set(
    entries
      .filter((e) => e.outcome === "succeeded")
      .slice(-keep)
      .map((e) => e.id),
  );
  const out: LedgerEntry[] = [];
  let drop = entries.length - max;
  for (const e of entries) {
    if (drop > 0 && !kept.has(e.id)) drop--;
    else out.push(e);
  }
  return out;
}

/**
 * The ledger entry a canary in the cluster belongs to: the one its release-id label names, and
 * only when that entry is a canary of the same image. A label alone proves nothing (anyone who
 * can edit the Deployment can set it), so an entry of another kind or image is never rewritten.
 */
export function entryOfCanary(entries: LedgerEntry[], canary: { releaseId: string; image: string }): LedgerEntry | undefined {
  return entries.find((e) => e.id === canary.releaseId && e.strategy === "canary" && e.image === canary.image);
}

const FIELDS: (keyof LedgerEntry)[] = [
  "id",
  "time",
  "strategy",
  "outcome",
  "image",
  "modelName",
  "modelVersion",
  "modelSha256",
  "revision",
  "deploymentRevision",
  "detail",
];

/** Parses the ConfigMap's value; throws, saying what is wrong, when it is not a ledger this pipeline wrote. */
export function parseEntries(text: string): LedgerEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new Error(`the ledger's ${LEDGER_KEY} is not JSON`);
  }
  if (!Array.isArray(v)) throw new Error(`the ledger's ${LEDGER_KEY} is not a JSON array`);
  return v.map((e, i) => {
    const o = (typeof e === "object" && e !== null ? e : {}) as Record<string, unknown>;
    const bad = FIELDS.filter((f) => typeof o[f] !== "string");
    if (bad.length) throw new Error(`entry ${i + 1} of the ledger's ${LEDGER_KEY} lacks ${bad.join(", ")}`);
    if (!STRATEGIES.includes(o.strategy as Strategy) || !OUTCOMES.includes(o.outcome as Outcome)) {
      throw new Error(`entry ${i + 1} of the ledger's ${LEDGER_KEY} has an unknown strategy or outcome`);
    }
    if (o.rolledBackFrom !== undefined && typeof o.rolledBackFrom !== "string") {
      throw new Error(`entry ${i + 1} of the ledger's ${LEDGER_KEY} has a rolledBackFrom that is not a string`);
    }
    const entry = Object.fromEntries(FIELDS.map((f) => [f, o[f]])) as unknown as LedgerEntry;
    return typeof o.rolledBackFrom === "string" ? { ...entry, rolledBackFrom: o.rolledBackFrom } : entry;
  });
}

/** The ledger as read: the ConfigMap (absent: no resourceVersion), the Deployment's revision and image. */
export interface LedgerRead {
  exists: boolean;
  resourceVersion?: string;
  entries: LedgerEntry[];
  deploymentRevision: string;
  /** The app container's image now running ("" when there is no Deployment). */
  image: string;
}

/** Reads `kubectl get configmap/X deployment/Y --ignore-not-found -o json` (empty, one object or a List). */
export function parseLedgerRead(stdout: string, configMap: string): LedgerRead {
  const items = kubectlGetItems(stdout);
  const cm = items.find((i) => i.kind === "ConfigMap" && obj(i.metadata).name === configMap);
  const deployment = items.find((i) => i.kind === "Deployment");
  const app = obj(appContainer(obj(obj(deployment?.spec).template).spec));
  const revision = obj(obj(deployment?.metadata).annotations)["deployment.kubernetes.io/revision"];
  const read = {
    deploymentRevision: typeof revision === "string" ? revision : "",
    image: typeof app.image === "string" ? app.image : "",
  };
  if (!cm) return { exists: false, entries: [], ...read };
  const value = obj(cm.data)[LEDGER_KEY];
  const resourceVersion = obj(cm.metadata).resourceVersion;
  return {
    exists: true,
    ...(typeof resourceVersion === "string" ? { resourceVersion } : {}),
    entries: typeof value === "string" && value.trim() ? parseEntries(value) : [],
    ...read,
  };
}

/** The ConfigMap to write: create (no resourceVersion) or a conditional replace (the one read). */
export function ledgerConfigMap(name: string, namespace: string, entries: LedgerEntry[], resourceVersion?: string): string {
  return `${JSON.stringify(
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: {
        name,
        namespace,
        labels: { "app.kubernetes.io/part-of": "ai-app-pipeline", "app.kubernetes.io/managed-by": "ai-app-pipeline" },
        ...(resourceVersion ? { resourceVersion } : {}),
      },
      data: { [LEDGER_KEY]: JSON.stringify(entries, null, 1) },
    },
    null,
    2,
  )}\n`;
}

// ---- writing, with optimistic concurrency ----------------------------------------------------

export type LedgerStep = "read" | "create" | "replace";

export interface LedgerPlan extends Target {
  configMap: string;
  deployment: string;
  /** The change, applied to what was read (again on every retry). */
  change: (read: LedgerRead) => LedgerEntry[];
  /** Reads plus writes, at most (default 4). */
  maxAttempts?: number;
}

export interface LedgerStepRecord {
  step: LedgerStep;
  attempt: number;
  args: string[];
  result: KubectlResult;
}

export interface LedgerOutcome {
  ok: boolean;
  message: string;
  entries: LedgerEntry[];
  attempts: number;
}

export type LedgerNext = { run: LedgerStep; attempt: number; args: string[]; files?: Record<string, string> } | { done: LedgerOutcome };

/** A write lost a race: another writer changed (Conflict) or created (AlreadyExists) the ConfigMap since the read. */
export const lostRace = (r: KubectlResult): boolean => r.exitCode !== 0 && /\((Conflict|AlreadyExists)\)/.test(r.stderr);

/** What to do after `history`; pure and total. */
export function nextLedgerStep(plan: LedgerPlan, history: LedgerStepRecord[]): LedgerNext {
  const max = plan.maxAttempts ?? 4;
  const attempt = history.filter((h) => h.step === "read").length;
  const last = history.at(-1);
  const file = `${STEP_FILES}/ledger.json`;
  const where = `configmap/${plan.configMap} in namespace ${plan.namespace}`;
  const fail = (message: string): LedgerNext => ({ done: { ok: false, message, entries: [], attempts: attempt } });

  if (!last || (last.step !== "read" && lostRace(last.result) && attempt < max)) {
    return { run: "read", attempt: attempt + 1, args: ledgerReadArgs(plan.configMap, plan.deployment, plan) };
  }
  if (last.step === "read") {
    if (last.result.exitCode !== 0)
      return fail(`could not read ${where} (kubectl exit ${last.result.exitCode}):\n${kubectlSays(last.result)}`);
    let read: LedgerRead;
    try {
      read = parseLedgerRead(last.result.stdout, plan.configMap);
    } catch (e) {
      return fail(`${where} is not a ledger this pipeline can read, so it was left as it is (${(e as Error).message}); fix or delete it`);
    }
    const entries = plan.change(read);
    const text = ledgerConfigMap(plan.configMap, plan.namespace, entries, read.resourceVersion);
    return read.exists
      ? { run: "replace", attempt, args: replaceFileArgs(file, plan), files: { [file]: text } }
      : { run: "create", attempt, args: createFileArgs(file, plan), files: { [file]: text } };
  }
  if (last.result.exitCode === 0) {
    // The entries written are those of the last read's change.
    const read = parseLedgerRead(history.filter((h) => h.step === "read").at(-1)!.result.stdout, plan.configMap);
    return {
      done: {
        ok: true,
        message: `recorded in ${where}${attempt > 1 ? ` (after ${attempt - 1} concurrent write(s))` : ""}`,
        entries: plan.change(read),
        attempts: attempt,
      },
    };
  }
  if (lostRace(last.result))
    return fail(`${where} kept changing under us: gave up after ${attempt} attempts:\n${kubectlSays(last.result, 3)}`);
  return fail(`could not write ${where} (kubectl exit ${last.result.exitCode}):\n${kubectlSays(last.result)}`);
}

/** Drives `nextLedgerStep` to its end. */
export async function runLedger(
  plan: LedgerPlan,
  kubectl: (command: { run: LedgerStep; args: string[]; files?: Record<string, string> }) => Promise<KubectlResult>,
): Promise<{ outcome: LedgerOutcome; history: LedgerStepRecord[] }> {
  const history: LedgerStepRecord[] = [];
  for (;;) {
    const next = nextLedgerStep(plan, history);
    if ("done" in next) return { outcome: next.done, history };
    if (history.length > 2 * (plan.maxAttempts ?? 4) + 1) throw new Error("ledger state machine did not finish");
    history.push({ step: next.run, attempt: next.attempt, args: next.args, result: await kubectl(next) });
  }
}

/** The newest release still paused (a canary waiting for promote or abort, which rewrite its entry), if any. */
export function pausedRelease(entries: LedgerEntry[]): LedgerEntry | undefined {
  return [...entries].reverse().find((e) => e.outcome === "paused");
}

/**
 * The canary promote (or abort) was told to finish, `want` being the release id the canary
 * stage reported or its image digest: refused when the canary in the cluster is another release
 * (a later run replaced the one that was approved), or, with `requirePaused`, when the ledger
 * holds no paused canary entry of that id and image (see entryOfCanary).
 */
export function approvedCanary(
  live: { releaseId: string; image: string },
  entries: LedgerEntry[],
  want: string,
  requirePaused: boolean,
): { entry?: LedgerEntry } | { error: string } {
  const w = want.trim();
  const digest = digestOf(w);
  if (!digest && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(w))
    return { error: `--release-id "${want}" is neither a release id (as release reported it) nor an image digest (sha256:<64 hex>)` };
  const same = digest ? digestOf(live.image) === digest : live.releaseId === w;
  if (!same) {
    return {
      error:
        `the canary in the cluster is release ${live.releaseId} (${live.image}), not ${w}: ` +
        "another run replaced the release that was approved, so nothing was changed. Check it with releases, then abort it or approve it by its own id",
    };
  }
  const entry = entryOfCanary(entries, live);
  if (!requirePaused) return entry ? { entry } : {};
  if (!entry) {
    return {
      error:
        `the ledger holds no canary entry ${live.releaseId} for ${live.image}, so this canary was not started by release --strategy canary --pause ` +
        "(or its entry was changed); nothing was changed. Remove it with abort",
    };
  }
  if (entry.outcome !== "paused")
    return { error: `release ${entry.id} is ${entry.outcome} in the ledger, not a paused canary waiting for promote; nothing was changed` };
  return { entry };
}

// ---- rollback ---------------------------------------------------------------------------------

/** `sha256:<64 hex>` from a digest or a digest reference. */
function digestOf(s: string): string | undefined {
  return /(sha256:[0-9a-f]{64})$/.exec(s.trim())?.[1];
}

/**
 * Why a ledger entry's image may not be deployed by rollback ("" when it may): the ledger is
 * only trusted to choose among images of the configured registry and repository, by digest.
 * Anyone who can write the ConfigMap could otherwise plant an entry for any image.
 */
export function untrustedImage(image: string, registry: string, repository: string): string {
  const want = `${registry.toLowerCase()}/${repository}@`;
  if (!image.startsWith(want) || !/^sha256:[0-9a-f]{64}$/.test(image.slice(want.length)))
    return `${image} is not an image of ${registry}/${repository} by digest`;
  return "";
}

export type RollbackChoice = { entry: LedgerEntry; skipped: string[] } | { error: string };

/**
 * The release to go back to: with `digest` (sha256:... or a digest reference), the newest good
 * entry of that digest; otherwise the newest good entry whose image is not the one running now.
 * "Good" is an attempt that succeeded (a rolling release, a promoted canary, a rollback).
 * Entries `distrust` objects to are never chosen; without a digest they are passed over and
 * named in `skipped`.
 */
export function chooseRollback(
  entries: LedgerEntry[],
  runningImage: string,
  digest?: string,
  distrust: (e: LedgerEntry) => string = () => "",
): RollbackChoice {
  const good = entries.filter((e) => e.outcome === "succeeded");
  const known = () =>
    good.length ? `good releases in the ledger: ${[...new Set(good.map((e) => e.image))].join(", ")}` : "the ledger holds no good release";
  if (digest) {
    const want = digestOf(digest);
    if (!want) return { error: `--image "${digest}" is not a digest (sha256:<64 hex>) or a digest reference` };
    const entry = [...good].reverse().find((e) => digestOf(e.image) === want);
    if (!entry)
      return { error: `${want} is not a good release in the ledger (rollback only goes to a release that succeeded here); ${known()}` };
    const why = distrust(entry);
    return why ? { error: `release ${entry.id} in the ledger is refused: ${why}` } : { entry, skipped: [] };
  }
  // Newest first: an image a later rollback rolled back from is not gone back to (that would roll
  // forward again), unless it was released again after that rollback (met first, newest first).
  const abandoned = new Set<string>();
  const skipped: string[] = [];
  for (const e of [...good].reverse()) {
    if (e.image !== runningImage && !abandoned.has(e.image)) {
      const why = distrust(e);
      if (!why) return { entry: e, skipped };
      skipped.push(`release ${e.id}: ${why}`);
      continue;
    }
    if (e.rolledBackFrom) abandoned.add(e.rolledBackFrom);
  }
  return {
    error:
      `no earlier good release to go back to (running: ${runningImage || "nothing"}); ${known()}` +
      `${skipped.length ? ` (passed over: ${skipped.join("; ")})` : ""}. Release a fixed image instead.`,
  };
}

/** The ledger for people: newest first, one line each. */
export function formatLedger(entries: LedgerEntry[]): string {
  if (!entries.length) return "no releases recorded yet";
  return [...entries]
    .reverse()
    .map(
      (e) =>
        `${e.time}  ${e.outcome.padEnd(11)} ${e.strategy.padEnd(8)} ${e.image}  model ${e.modelName || "?"} ${e.modelVersion || "?"}` +
        `${e.revision ? `  revision ${e.revision.slice(0, 12)}` : ""}${e.deploymentRevision ? `  (deployment revision ${e.deploymentRevision})` : ""}  [${e.id}]`,
    )
    .join("\n");
}
