/**
 * Commands whose exit the caller reads (shared/exec.ts) against the fake engine, with the engine's
 * exec errors for exits that `expect: ANY` does not cover: 128-191, a process killed by a signal
 * (core/container.go `ReturnCodes` in v0.21.8). Nothing runs a container.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execAllowingFailure, ExecSession, exitOfFailedExec } from "../../dagger/src/shared/exec.js";
import { Op } from "../support/fake-engine.js";
import { execArgv, lastExec } from "../support/graph.js";
import { execFailure } from "../support/exec-errors.js";
import { recordGraph } from "../support/session.js";
import { dag, ExecError } from "../support/sdk.js";

const KILLED = ["sleep", "600"];
const STREAMS = ["exitCode", "stdout", "stderr", "combinedOutput"];

/** Fails every read of the `argv` exec with `exitCode`, as the engine does; "ok" on other stdouts. */
function failing(argv: string[], exitCode: number) {
  return (chain: Op[]): unknown => {
    const leaf = chain.at(-1)!.field;
    if (STREAMS.includes(leaf) && execArgv(chain.at(-2)).join(" ") === argv.join(" ")) {
      throw execFailure({ cmd: argv, exitCode, stdout: "partial output", stderr: "Killed" });
    }
    return leaf === "stdout" ? "ok" : undefined;
  };
}

const base = () => dag.container().from("alpine:3.20");

test("ExecSession.run: a command killed by SIGKILL (137) is read back as its exit, not raised", async () => {
  const { engine, error, result } = await recordGraph(
    async () => {
      const session = new ExecSession(base());
      const before = await session.run(["true"]);
      const killed = await session.run(KILLED);
      const after = await session.run(["echo", "next"]);
      return { before, killed, after };
    },
    { respond: failing(KILLED, 137) },
  );
  assert.is(error, undefined, String(error));
  assert.equal(result!.killed, { exitCode: 137, stdout: "partial output", stderr: "Killed" });
  assert.is(result!.after.exitCode, 0);
  // The killed exec left no container: the next command runs on the one before it, still after `true`.
  const next = engine.recorded.find((r) => execArgv(lastExec(r.chain)).join(" ") === "echo next")!;
  const chainArgv = next.chain.filter((o) => o.field === "withExec").map((o) => execArgv(o).join(" "));
  assert.equal(chainArgv, ["true", "echo next"]);
  assert.ok(
    engine.find("withExec").every((e) => e.op.args.expect === "ANY"),
    "every command may fail without failing the graph",
  );
});

test("execAllowingFailure: SIGTERM (143) is read back with both streams", async () => {
  const { error, result } = await recordGraph(() => execAllowingFailure(base(), KILLED), {
    respond: failing(KILLED, 143),
  });
  assert.is(error, undefined, String(error));
  assert.is(result!.exitCode, 143);
  assert.is(result!.output, "partial output\nKilled");
});

test("an exec error of an earlier command in the chain is raised, never taken for this command's exit", async () => {
  const setup = ["apk", "add", "curl"];
  const { error } = await recordGraph(() => new ExecSession(base().withExec(setup)).run(["curl", "--version"]), {
    respond: (chain) => {
      if (chain.at(-1)!.field === "exitCode") throw execFailure({ cmd: setup, exitCode: 1, stderr: "ERROR: unable to select packages" });
      return undefined;
    },
  });
  assert.is(error?.name, "ExecError");
  assert.match(error!.message, "apk add curl");
});

test("exitOfFailedExec: only the SDK's ExecError for that very command (an emulator may prefix the argv)", () => {
  const e = (cmd: string[], exitCode: number) => new ExecError("failed", { cmd, exitCode, stdout: "o", stderr: "e" });
  assert.equal(exitOfFailedExec(e(["kubectl", "get", "pods"], 137), ["kubectl", "get", "pods"]), {
    exitCode: 137,
    stdout: "o",
    stderr: "e",
  });
  assert.equal(exitOfFailedExec(e(["/.qemu", "kubectl", "get", "pods"], 143), ["kubectl", "get", "pods"])?.exitCode, 143);
  assert.is(exitOfFailedExec(e(["kubectl", "get", "nodes"], 137), ["kubectl", "get", "pods"]), undefined);
  assert.is(exitOfFailedExec(e(["kubectl", "get", "pods"], -1), ["kubectl", "get", "pods"]), undefined, "no exit code: not an exit");
  assert.is(exitOfFailedExec(new Error("bound service exited"), ["kubectl"]), undefined);
});

test.run();
