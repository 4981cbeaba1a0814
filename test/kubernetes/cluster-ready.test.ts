/**
 * Waiting for a freshly started cluster: the decision over fake results, and each probe's argv
 * through the real kubectl against the stand-in API server (503 on /readyz, no Ready node, no
 * default ServiceAccount), so the exit codes the decision reads are kubectl's own.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { notReadyBecause, readinessProbes, waitForCluster } from "../../dagger/src/kubernetes/cluster-ready.js";
import { KubectlResult } from "../../dagger/src/kubernetes/decide.js";
import { ApiState, FakeApiServer } from "../support/fake-apiserver.js";

const T = { namespace: "default", token: true };
const ok = (stdout = ""): KubectlResult => ({ exitCode: 0, stdout, stderr: "" });
const fail = (stderr: string): KubectlResult => ({ exitCode: 1, stdout: "", stderr });
const READY_NODES = JSON.stringify({ items: [{ status: { conditions: [{ type: "Ready", status: "True" }] } }] });
const NOT_READY_NODES = JSON.stringify({ items: [{ status: { conditions: [{ type: "Ready", status: "False" }] } }] });

/** A clock that only moves when the wait sleeps. */
function clock() {
  let t = 0;
  return { now: () => t, sleep: async (ms: number) => void (t += ms) };
}

test("probes go in order: API server, a Ready node, the default ServiceAccount; all carry the target flags", () => {
  const probes = readinessProbes(T);
  assert.equal(
    probes.map((p) => p.name),
    ["api-server", "node", "service-account"],
  );
  for (const p of probes)
    assert.ok(p.args.includes("--user=ai-app-pipeline-token") && p.args.includes("--namespace=default"), p.args.join(" "));
});

test("the wait goes on through 503s, an unready node and a missing ServiceAccount, then returns", async () => {
  const answers: Record<string, KubectlResult[]> = {
    "api-server": [
      fail("Error from server (InternalError): an error on the server has prevented the request from succeeding"),
      ok("ok"),
      ok("ok"),
      ok("ok"),
    ],
    node: [ok(NOT_READY_NODES), ok(READY_NODES), ok(READY_NODES)],
    "service-account": [fail('Error from server (NotFound): serviceaccounts "default" not found'), ok("serviceaccount/default")],
  };
  const c = clock();
  const rounds = await waitForCluster(
    T,
    async (args) => {
      const probe = readinessProbes(T).find((p) => p.args.join(" ") === args.join(" "))!;
      return answers[probe.name]!.shift()!;
    },
    { budgetMs: 60_000, intervalMs: 1_000, ...c },
  );
  assert.is(rounds, 4);
  assert.is(c.now(), 3_000);
});

test("a cluster that never gets ready fails after the budget, saying what it waited for", async () => {
  const c = clock();
  try {
    await waitForCluster(T, async (args) => (args.includes("nodes") ? ok(NOT_READY_NODES) : ok("ok")), {
      budgetMs: 10_000,
      intervalMs: 3_000,
      ...c,
    });
    assert.unreachable("should have thrown");
  } catch (e) {
    assert.match((e as Error).message, /not ready to deploy to after 10s \(4 checks\): no node is Ready yet/);
  }
  assert.ok(c.now() <= 10_000, "never waits past the budget");
});

async function probeWith(cluster: ApiState["cluster"]): Promise<(string | undefined)[]> {
  const api = await new FakeApiServer({ namespace: "default", replicaSets: {}, pods: [], events: [], cluster }).start();
  try {
    const reasons: (string | undefined)[] = [];
    for (const p of readinessProbes({ namespace: "default" })) {
      reasons.push(notReadyBecause(p.name, await api.kubectl(p.args.slice(1)), "default"));
    }
    return reasons;
  } finally {
    await api.stop();
  }
}

test("through the real kubectl: a ready cluster passes every probe", async () => {
  assert.equal(await probeWith({}), [undefined, undefined, undefined]);
});

test("through the real kubectl: /readyz 503, an unready node and a missing ServiceAccount are each seen", async () => {
  const [api, node, sa] = await probeWith({ readyz: 503, nodeReady: false, defaultServiceAccount: false });
  assert.match(api ?? "", /API server is not ready yet/);
  assert.is(node, "no node is Ready yet");
  assert.match(sa ?? "", /no default ServiceAccount yet .*NotFound/);
});

test.run();
