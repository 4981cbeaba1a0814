/**
 * The builders (with-store, with-aws-store, with-registry, with-cluster) return the pipeline object with Secret and
 * Service ids in its undeclared fields. The engine passes those through as stored (core/object.go
 * `unknownModuleObjectValueToSDKInput`) and they name results of the session that made them, so a
 * builder result must never come from another session's cache: each builder registers the
 * PerSession cache policy (docs/engine-notes.md section 13).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { introspectModule } from "../support/introspect.js";
import { callThroughEntrypoint } from "../support/session.js";

const BUILDERS = ["withStore", "withAwsStore", "withRegistry", "withCluster", "withImageSigning", "withImagePolicy"];

test("every function that returns the pipeline object is a builder, and each is cache: session", async () => {
  const m = await introspectModule();
  const returningMain = Object.values(m.main.functions).filter((f) => f.returnType === m.main.name);
  assert.equal(returningMain.map((f) => f.name).sort(), [...BUILDERS].sort(), "the builders, and nothing else, return the object");
  for (const f of returningMain) assert.is(f.cache, "session", `${f.cliName} must be @func({ cache: "session" })`);
});

test("the runtime's register step tells the engine PerSession for each builder", async () => {
  const run = await callThroughEntrypoint({ call: { parentName: "", name: "" } });
  assert.is(run.exitCode, 0, run.output);
  const policies = new Map(
    run.engine
      .find("withCachePolicy")
      .map((c) => [String(c.prefix.find((o) => o.field === "function")?.args.name), c.op.args.policy] as const),
  );
  for (const name of BUILDERS) assert.is(policies.get(name), "PerSession", `${name} registered with the PerSession policy`);
  assert.equal(
    [...policies].filter(([, p]) => p === "PerSession").map(([n]) => n),
    BUILDERS,
    "no other function is session-cached",
  );
});

test.run();
