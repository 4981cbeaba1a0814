/**
 * Every token a function will use, checked before anything runs: the AKS token (or a JWT in the
 * kubeconfig), the ACR Entra token or refresh token, the storage access token. Each must still be
 * valid for as long as the function may need it, so that a token about to expire does not fail a
 * release half-way, or worse, its undo. Every problem is named at once, one line per token.
 *
 * How long is "as long as it may need it": a token used only as the function starts (a status
 * read, a tag lookup, the registry exchange in a release) needs START_MS. A token used until the
 * end (the cluster's for a release and its undo; the store's for --mark-alias, moved last) needs
 * the function's longest path: each rollout wait counts its full --timeout (the undo waits as
 * long again), a smoke test pod may take 3 minutes to start (smoke.ts' --pod-running-timeout), a
 * canary adds its analysis window, and SPARE_MS covers the rest (applies, reads, ledger writes,
 * deletes waiting for pods). Never less than CHANGE_FLOOR_MS: 20 minutes is more than the longest
 * path of a rolling release, a deploy, a promote or a rollback at the default --timeout 5m (the
 * release's: rollout 5, smoke pod 3, undo 5, spare 5 = 18 min; a canary at the defaults counts
 * 25); a fresh Entra token lasts 60 to 90 minutes, so at the defaults only one near its end is
 * refused. A longer --timeout asks for more (deploy --timeout 30m: 65 min).
 */
import { CredentialError } from "../credentials/auth-mode.js";
import { accessTokenProblem } from "../credentials/access-token.js";
import { SECRET_ENV } from "../credentials/env.js";
import { formatSpan, TokenTiming } from "../credentials/jwt-claims.js";
import { clusterTokenProblems } from "../kubernetes/cluster-token.js";
import { durationSeconds } from "../kubernetes/commands.js";
import { checkTimeout } from "../kubernetes/deploy.js";
import { ClusterTarget } from "../kubernetes/settings.js";
import { StoreTarget } from "../model-store/step.js";
import { registryTokenProblems } from "../registry/token-check.js";
import { RegistryTarget } from "../registry/settings.js";
import { ReleaseOptions } from "./release-report.js";

const MINUTE = 60_000;
/** A token used as the function starts: its first requests, and a little clock skew. */
export const START_MS = 2 * MINUTE;
/** The least a function that changes something asks of a token it uses to the end. */
export const CHANGE_FLOOR_MS = 20 * MINUTE;
/** Besides the waits counted: applies, reads, ledger writes, deletes waiting for pods to go. */
export const SPARE_MS = 5 * MINUTE;
/** How long a smoke test pod may take to start (smoke.ts: --pod-running-timeout=3m). */
const SMOKE_START_MS = 3 * MINUTE;

/** How long a token must last, and why (for the message). */
export interface Margin {
  ms: number;
  why: string;
}

/** The margin each configured token needs for one function; a token the function does not use is absent and not checked. */
export interface TokenUse {
  cluster?: Margin;
  /** The ACR Entra token (exchanged for a refresh token) or an ACR refresh token given as password. */
  registry?: Margin;
  store?: Margin;
}

const atStart = (what: string): Margin => ({ ms: START_MS, why: `${what} uses it for its first requests (${formatSpan(START_MS)})` });

/**
 * `what` may wait `steps` (each a label and a duration) plus SPARE_MS, never less than
 * CHANGE_FLOOR_MS; `waits` says what takes the time when no step has a known length.
 */
function lasting(what: string, steps: [string, number][], waits = ""): Margin {
  const counted = steps.reduce((sum, [, ms]) => sum + ms, 0) + SPARE_MS;
  const ms = Math.max(CHANGE_FLOOR_MS, counted);
  const detail = steps.length
    ? `${steps.map(([label, d]) => `${label} ${formatSpan(d)}`).join(", ")}, ${formatSpan(SPARE_MS)} for the rest` +
      (counted < ms ? `; never less than ${formatSpan(CHANGE_FLOOR_MS)}` : "")
    : waits;
  return { ms, why: `${what} can take up to ${formatSpan(ms)} (${detail})` };
}

/** A --timeout in ms, checked as the step that uses it checks it. */
const timeoutMs = (timeout: string): number => durationSeconds(checkTimeout(timeout)) * 1000;

/** A rollout and its undo, each waiting up to --timeout. */
function rolloutAndUndo(what: string, timeout: string): Margin {
  const t = timeoutMs(timeout);
  return lasting(what, [
    ["rollout", t],
    ["undo", t],
  ]);
}

/** The margins of each function that takes a token. */
export const TOKEN_USES = {
  status: (): TokenUse => ({ cluster: atStart("status") }),
  releases: (): TokenUse => ({ cluster: atStart("releases") }),
  diff: (): TokenUse => ({ cluster: atStart("diff") }),
  imageDigest: (): TokenUse => ({ registry: atStart("image-digest") }),
  deploy: (timeout: string): TokenUse => ({ cluster: rolloutAndUndo("deploy", timeout) }),
  /** The image's labels are read from the registry first; then a rollout, a smoke test and, on failure, the undo. */
  rollback: (timeout: string, markAlias: boolean): TokenUse => {
    const t = timeoutMs(timeout);
    const m = lasting("rollback", [
      ["rollout", t],
      ["smoke pod start", SMOKE_START_MS],
      ["undo", t],
    ]);
    return { registry: atStart("rollback"), cluster: m, ...(markAlias ? { store: m } : {}) };
  },
  promote: (timeout: string, markAlias: boolean): TokenUse => {
    const m = rolloutAndUndo("promote", timeout);
    return { cluster: m, ...(markAlias ? { store: m } : {}) };
  },
  abort: (): TokenUse => ({ cluster: lasting("abort", [], "deletes that wait for the canary's pods to go, a ledger write") }),
  /** The tag lookup and label reads come first; the cluster and the store (--mark-alias, moved last) to the end. */
  release: (timeout: string, o: ReleaseOptions, markAlias: boolean, dryRun: boolean): TokenUse => {
    const t = timeoutMs(timeout);
    const m = dryRun
      ? atStart("release --dry-run")
      : o.canary
        ? lasting("release --strategy canary", [
            ["canary rollout", t],
            ["analysis", o.canary.analysis.rounds * o.canary.analysis.intervalSeconds * 1000],
            ["smoke pod start", SMOKE_START_MS],
            ...(o.canary.pause
              ? []
              : ([
                  ["promotion", t],
                  ["undo", t],
                ] as [string, number][])),
          ])
        : lasting("release", [
            ["rollout", t],
            ["smoke pod start", SMOKE_START_MS],
            ["undo", t],
          ]);
    return { registry: atStart("release"), cluster: m, ...(markAlias && !dryRun ? { store: m } : {}) };
  },
  /** The model is fetched first; an Entra token is exchanged after the tests in ci, and a refresh token used at the push, last. */
  ci: (fromStore: boolean): TokenUse => {
    const m = lasting("ci", [], "the tests and the build run before the registry exchange and the push");
    return { registry: m, ...(fromStore ? { store: atStart("ci") } : {}) };
  },
  /** The model is fetched first (a large one for minutes, before the exchange); a refresh token given as password is used at the push, last. */
  publish: (fromStore: boolean): TokenUse => ({
    registry: lasting("publish", [], "the model fetch, the tests and the build run before the push"),
    ...(fromStore ? { store: atStart("publish") } : {}),
  }),
};

/** The targets whose tokens are checked: those the function uses and the user configured. */
export interface TokenSources {
  store?: StoreTarget | undefined;
  registry?: RegistryTarget | undefined;
  cluster?: ClusterTarget | undefined;
}

const timing = (m: Margin, now: number): TokenTiming => ({ now, marginMs: m.ms, why: m.why });

/** Every problem with the tokens `use` needs, one line each; empty when there is none. */
export async function tokenProblems(use: TokenUse, given: TokenSources, now = Date.now()): Promise<string[]> {
  const problems: string[] = [];
  if (use.store && given.store) {
    const token = given.store.secrets.find((s) => s.env === SECRET_ENV.entraToken)?.secret;
    const problem = token ? accessTokenProblem(await token.plaintext(), now, timing(use.store, now)) : undefined;
    if (problem) problems.push(`with-store --entra-token: ${problem}`);
  }
  if (use.registry && given.registry) {
    problems.push(...(await registryTokenProblems(given.registry, timing(use.registry, now))));
  }
  if (use.cluster && given.cluster) problems.push(...(await clusterTokenProblems(given.cluster, timing(use.cluster, now))));
  return problems;
}

/** Refuses, naming every problem, when a token would not last what the function is about to do. */
export async function checkTokens(use: TokenUse, given: TokenSources, now = Date.now()): Promise<void> {
  const problems = await tokenProblems(use, given, now);
  if (problems.length) throw new CredentialError(problems.join("\n"));
}
