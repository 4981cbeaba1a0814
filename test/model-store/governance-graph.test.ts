/**
 * Recorded-graph tests of set-alias, remove-alias, yank, unyank and the @alias selector: each
 * runs the store's own CLI in its container on every call (never cached), with the store key as
 * a secret variable only, and every command line it sends is one the CLI accepts.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { parseCli } from "../../dagger/src/model-store/cli-args.js";
import { CLI, moveAlias, parseModelRef, storeTarget } from "../../dagger/src/model-store/step.js";
import { Op } from "../support/fake-engine.js";
import { contextDir, execsStartingWith, queriesOutsideSetSecret } from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { recordGraph } from "../support/session.js";
import { dag } from "../support/sdk.js";

const KEY = "account-KEY-plaintext-0123456789==";
const REVISION = "0123456789abcdef0123456789abcdef01234567";
const argv = (op: Op) => (op.args.args as string[] | undefined) ?? [];
const pipeline = (revision = REVISION) =>
  new AiAppPipeline(contextDir("/"), revision, "", "").withStore(
    "models",
    "acct01",
    undefined,
    undefined,
    undefined,
    dag.setSecret("k", KEY),
  );

function respond(chain: Op[]): unknown {
  if (chain.at(-1)!.field !== "stdout") return undefined;
  const exec = [...chain].reverse().find((o) => o.field === "withExec");
  const args = exec ? argv(exec).slice(CLI.length) : [];
  if (args[0] === "resolve") {
    return (
      JSON.stringify({ name: "digits-classifier", version: "1.3.0", manifestSha256: "d".repeat(64), files: [], alias: "champion" }) + "\n"
    );
  }
  return `ok ${args.slice(0, 3).join(" ")}\n`;
}

test("set-alias, remove-alias, yank, unyank: never cached, documented, the store key a secret variable only", async () => {
  const m = await introspectModule();
  for (const f of ["setAlias", "removeAlias", "yank", "unyank"]) {
    assert.is(m.main.functions[f]?.cache, "never", f);
    assert.is(m.main.functions[f]?.returnType, "string", f);
  }
  assert.equal(Object.keys(m.main.functions.yank!.args), ["modelVersion", "reason", "modelName", "by"]);

  const { engine, error, result } = await recordGraph(
    async () => {
      const p = pipeline();
      return [
        await p.setAlias("champion", "1.3.0", "digits-classifier", ""),
        await p.removeAlias("champion", "digits-classifier", "alice"),
        await p.yank("1.3.0", "accuracy regression", "digits-classifier", ""),
        await p.unyank("1.3.0", "digits-classifier", "bob"),
      ];
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  assert.equal(result, [
    "ok alias set champion",
    "ok alias rm champion",
    "ok yank --reason accuracy regression",
    "ok unyank --model-version 1.3.0",
  ]);
  const sent: string[][] = [];
  for (const cmd of ["alias", "yank", "unyank"]) {
    for (const exec of execsStartingWith(engine, [...CLI, cmd])) {
      const args = argv(exec.op).slice(CLI.length);
      sent.push(args);
      assert.equal(
        exec.prefix.filter((o) => o.field === "withSecretVariable").map((o) => o.args.name),
        ["AZURE_STORAGE_KEY"],
      );
      assert.ok(
        exec.prefix.some((o) => o.field === "withEnvVariable" && o.args.name === "MODEL_STORE_CALL_ID"),
        `${cmd} runs on every call`,
      );
      parseCli(args, { AZURE_STORAGE_KEY: "a2V5" }); // throws on anything the CLI would refuse
    }
  }
  const by = (args: string[]) => args[args.indexOf("--by") + 1];
  assert.equal(sent.map(by), [`revision ${REVISION}`, "alice", `revision ${REVISION}`, "bob"], "who: --by, else the revision");
  assert.equal(
    queriesOutsideSetSecret(engine).filter((q) => q.includes(KEY)),
    [],
  );
});

test("without --by or a revision, a change refuses before anything runs, saying what to pass", async () => {
  const { engine, error } = await recordGraph(async () => pipeline("dev").setAlias("champion", "1.3.0", "digits-classifier", ""), {
    respond,
  });
  assert.match(String(error), /say who makes this change: --by "your name", or start the call with dagger call --revision/);
  assert.equal(execsStartingWith(engine, [...CLI, "alias"]), []);
});

test("moveAlias (what release calls to mark production) sends alias set with the version it deployed", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const target = storeTarget({ container: "models", account: "acct01", accountKey: dag.setSecret("k", KEY) });
      return moveAlias(target, "digits-classifier", "production", "1.3.0", "release of main@sha256:abc");
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const [exec] = execsStartingWith(engine, [...CLI, "alias"]);
  assert.equal(argv(exec!.op).slice(CLI.length, CLI.length + 9), [
    "alias",
    "set",
    "production",
    "--model-version",
    "1.3.0",
    "--model-name",
    "digits-classifier",
    "--by",
    "release of main@sha256:abc",
  ]);
});

test("fetch-model --model-version @champion is resolved by the store on every call; a yanked exact pin's warning is kept", async () => {
  const { engine, error } = await recordGraph(async () => (await pipeline().fetchModel("digits-classifier", "@champion", false)).id(), {
    respond,
  });
  assert.is(error, undefined, String(error));
  const [resolve] = execsStartingWith(engine, [...CLI, "resolve"]);
  assert.ok(argv(resolve!.op).join(" ").includes("resolve --model-name digits-classifier --model-version @champion"));
  const ref = parseModelRef(
    JSON.stringify({
      name: "m",
      version: "1.3.0",
      manifestSha256: "d".repeat(64),
      yanked: { reason: "bad", by: "carol", at: "2025-01-01T00:00:00Z" },
    }),
  );
  assert.is(ref.warning, 'warning: m 1.3.0 is yanked: "bad" (by "carol" at "2025-01-01T00:00:00Z"); use another version or unyank it');
});

test.run();
