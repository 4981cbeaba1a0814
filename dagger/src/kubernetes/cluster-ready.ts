/**
 * Waiting for a cluster that was just started (the embedded k3s) to take work. Dagger counts a
 * service as up as soon as its port accepts TCP; k3s answers 503 on /readyz for a while after
 * that, then has no Ready node, then no `default` ServiceAccount in the namespace (pods cannot be
 * created before it exists). Each probe is one kubectl argv; the decision is pure.
 */
import { KubectlResult } from "./decide.js";
import { Target, targetFlags } from "./commands.js";

export interface ReadinessProbe {
  name: "api-server" | "node" | "service-account";
  args: string[];
}

/** The three probes, in the order a starting cluster passes them. */
export function readinessProbes(t: Target): ReadinessProbe[] {
  return [
    { name: "api-server", args: ["kubectl", "get", "--raw=/readyz", ...targetFlags(t)] },
    { name: "node", args: ["kubectl", "get", "nodes", "--output=json", ...targetFlags(t)] },
    { name: "service-account", args: ["kubectl", "get", "serviceaccount/default", "--output=name", ...targetFlags(t)] },
  ];
}

/** Why a probe's answer is not "ready", or undefined when it is. */
export function notReadyBecause(probe: ReadinessProbe["name"], r: KubectlResult, namespace: string): string | undefined {
  const says = (r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ") || `kubectl exit ${r.exitCode}`;
  switch (probe) {
    case "api-server":
      return r.exitCode === 0 ? undefined : `the API server is not ready yet (${says})`;
    case "node": {
      if (r.exitCode !== 0) return `the nodes cannot be listed yet (${says})`;
      return readyNodeCount(r.stdout) > 0 ? undefined : "no node is Ready yet";
    }
    case "service-account":
      return r.exitCode === 0 ? undefined : `namespace ${namespace} has no default ServiceAccount yet (${says})`;
  }
}

/** Nodes whose Ready condition is True, from `kubectl get nodes -o json`. */
export function readyNodeCount(json: string): number {
  try {
    const list = JSON.parse(json) as { items?: { status?: { conditions?: { type?: string; status?: string }[] } }[] };
    return (list.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")).length;
  } catch {
    return 0;
  }
}

export interface WaitOptions {
  /** Total time allowed, in milliseconds. */
  budgetMs: number;
  /** Pause between rounds, in milliseconds. */
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export const DEFAULT_CLUSTER_WAIT: WaitOptions = { budgetMs: 5 * 60_000, intervalMs: 3_000 };

/**
 * Runs the probes in order until all pass, pausing between rounds; throws with what it was still
 * waiting for once the budget is spent. Returns how many rounds it took.
 */
export async function waitForCluster(
  t: Target,
  run: (args: string[]) => Promise<KubectlResult>,
  opts: WaitOptions = DEFAULT_CLUSTER_WAIT,
): Promise<number> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = opts.now ?? Date.now;
  const deadline = now() + opts.budgetMs;
  for (let round = 1; ; round++) {
    let waitingFor: string | undefined;
    for (const probe of readinessProbes(t)) {
      waitingFor = notReadyBecause(probe.name, await run(probe.args), t.namespace);
      if (waitingFor) break;
    }
    if (!waitingFor) return round;
    if (now() + opts.intervalMs > deadline) {
      throw new Error(
        `the cluster was not ready to deploy to after ${Math.round(opts.budgetMs / 1000)}s (${round} checks): ${waitingFor}. ` +
          "For the embedded k3s this usually means the engine cannot run privileged containers with cgroup v2 delegation; " +
          "run `dagger call ci` again, or check the engine's logs.",
      );
    }
    await sleep(opts.intervalMs);
  }
}
