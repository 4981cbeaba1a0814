/** Runs the in-cluster smoke check with the same cluster access as the deploy. */
import { targetFlags } from "../deploy/commands.js";
import { ClusterAccess, KubectlSession, kubectlContainer } from "../steps/kubectl.js";
import { parseSmokeOutput, smokeTestArgs, SmokeTarget } from "../smoke/smoke.js";

export interface SmokeOptions extends SmokeTarget {
  context?: string;
}

/** Resolves to a one-line verdict; rejects with what failed. */
export async function runSmokeTest(access: ClusterAccess, t: SmokeOptions): Promise<string> {
  const flags = targetFlags({ namespace: t.namespace, ...(t.context ? { context: t.context } : {}), ...(access.token ? { token: true } : {}) });
  const result = await new KubectlSession(kubectlContainer(access)).run(smokeTestArgs(t, flags));
  const verdict = parseSmokeOutput(result.stdout);
  if (result.exitCode === 0 && verdict?.ok) {
    const model = verdict.seen.model as { name?: string; version?: string } | undefined;
    return `passed (/readyz 200, model ${model?.name ?? "?"} ${model?.version ?? "?"}, /score recognised a known digit)`;
  }
  const why = verdict?.problems.length ? verdict.problems.join("; ") : (result.stderr || result.stdout).trim().split("\n").slice(-5).join("\n");
  throw new Error(`smoke test failed (kubectl exit ${result.exitCode}): ${why}`);
}
