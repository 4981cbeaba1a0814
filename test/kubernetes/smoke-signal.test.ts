/**
 * A smoke check killed by a signal: kubectl exits 137 (SIGKILL, e.g. the runner's OOM killer) or
 * 143 (SIGTERM). The engine raises an exec error for those exits even under `expect: ANY`
 * (core/container.go `ReturnCodes` in v0.21.8); the deploy step must still read the exit and take
 * its decision: diagnose, then roll back. Recorded graph with the fake engine; nothing runs.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DeployError, deployImage } from "../../dagger/src/kubernetes/deploy.js";
import { Op } from "../support/fake-engine.js";
import { contextDir, execArgv, lastExec, repositoryFiles, runs } from "../support/graph.js";
import { execFailure } from "../support/exec-errors.js";
import { recordGraph } from "../support/session.js";
import { dag } from "../support/sdk.js";
import { IMAGE, MODEL, REVISION } from "../support/kubernetes.js";

const STREAMS = ["exitCode", "stdout", "stderr"];

/** k8s/ from the repository, revision 3 deployed before, and the smoke pod's kubectl killed with `exitCode`. */
function killedSmoke(exitCode: number) {
  return (chain: Op[]): unknown => {
    const files = repositoryFiles(chain);
    if (files !== undefined) return files;
    const leaf = chain.at(-1)!.field;
    const exec = chain.at(-2);
    if (!STREAMS.includes(leaf) || exec?.field !== "withExec") return undefined;
    if (runs("kubectl", "run")(exec)) throw execFailure({ cmd: execArgv(exec), exitCode, stderr: "signal: killed" });
    if (runs("kubectl", "get deployment/ai-app")(exec) && leaf === "stdout") return "3\n";
    return undefined;
  };
}

const deploy = () =>
  deployImage(dag.setSecret("kubeconfig", "apiVersion: v1\nkind: Config\n"), IMAGE, contextDir("/").directory("k8s"), {
    namespace: "prod",
    metadata: { revision: REVISION, model: MODEL },
    smoke: { url: "http://ai-app.prod.svc", modelSha256: MODEL.sha256, runId: "sig1" },
  });

for (const exitCode of [137, 143]) {
  test(`a smoke check killed by a signal (kubectl exit ${exitCode}) fails the deploy and rolls back to the previous revision`, async () => {
    const { engine, error } = await recordGraph(deploy, { respond: killedSmoke(exitCode) });
    assert.instance(error, DeployError, String(error));
    const report = (error as DeployError).report;
    assert.is(report.outcome.status, "rolled-back", report.summary);
    assert.match(report.outcome.message, `the smoke test of ${IMAGE} in deployment/ai-app`);
    assert.match(report.outcome.message, `failed (kubectl exit ${exitCode}): signal: killed`);
    assert.equal(
      report.commands.map((c) => c.step),
      ["read-revision", "dry-run", "apply", "rollout-status", "smoke", "get-pods", "get-events", "undo", "undo-status"],
    );
    const undo = engine.recorded.map((r) => lastExec(r.chain)).find((e) => runs("kubectl", "rollout undo")(e));
    assert.ok(execArgv(undo).includes("--to-revision=3"), "undone to the revision read first");
  });
}

test.run();
