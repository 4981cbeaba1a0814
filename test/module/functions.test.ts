/** The module as `dagger functions` would show it, read with the SDK's own introspector. */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { clientGenFile, introspectModule } from "../support/introspect.js";
import { callThroughEntrypoint, MODULE_SRC, moduleFiles, ROOT, SDK_DIST } from "../support/session.js";
import { sourceClasses } from "../support/tsdoc-source.js";

/** The functions this module exposes, in CLI spelling. Adding one means adding it here. */
const EXPECTED = [
  "abort",
  "build",
  "ci",
  "deploy",
  "diff",
  "fetch-model",
  "image-digest",
  "manifests",
  "model-versions",
  "promote",
  "publish",
  "publish-model",
  "release",
  "releases",
  "remove-alias",
  "rollback",
  "serve",
  "set-alias",
  "status",
  "test",
  "test-container",
  "train-sample-model",
  "unyank",
  "verify-image",
  "with-aws-store",
  "with-cluster",
  "with-image-policy",
  "with-image-signing",
  "with-registry",
  "with-store",
  "yank",
];

test("the module exposes exactly the expected functions", async () => {
  const m = await introspectModule();
  assert.is(m.name, "AiAppPipeline");
  assert.equal(
    Object.values(m.main.functions)
      .map((f) => f.cliName)
      .sort(),
    EXPECTED,
  );
});

test("every object, function and argument has a description, and it is the whole source comment (a TSDoc tag in a sentence cuts it)", async () => {
  const m = await introspectModule();
  const written = new Map(moduleFiles().flatMap((file) => sourceClasses(file).map((c) => [c.name, c] as const)));
  const problems: string[] = [];
  const compare = (what: string, registered: string, source: string | undefined) => {
    if (!registered.trim()) problems.push(`${what}: no description`);
    else if (registered.replace(/\s+/g, " ").trim() !== source)
      problems.push(`${what}: registered ${JSON.stringify(registered)}, the source says ${JSON.stringify(source ?? "nothing")}`);
  };
  for (const o of Object.values(m.objects)) {
    const c = written.get(o.name);
    if (!c) {
      problems.push(`${o.name}: no @object() class of that name in dagger/src`);
      continue;
    }
    compare(`object ${o.name}`, o.description, c.doc?.text);
    for (const a of Object.values(o.constructorArgs))
      compare(`${o.name} constructor --${a.cliName}`, a.description, c.members.get("constructor")?.params[a.name]);
    for (const f of Object.values(o.functions)) {
      const doc = c.members.get(f.name);
      compare(`${o.name}.${f.name}`, f.description, doc?.text);
      for (const a of Object.values(f.args)) compare(`${o.name}.${f.name} --${a.cliName}`, a.description, doc?.params[a.name]);
    }
  }
  assert.equal(problems, []);
});

test("one name per concept: the moving tag is --channel, an image is --image, the namespace defaults to ai-app", async () => {
  const f = (await introspectModule()).main.functions;
  for (const fn of ["ci", "publish", "release", "imageDigest"]) assert.ok(f[fn]?.args.channel, `${fn} --channel`);
  for (const fn of ["deploy", "diff", "manifests", "rollback"]) assert.ok(f[fn]?.args.image, `${fn} --image`);
  const others = Object.values(f).flatMap((fn) =>
    Object.values(fn.args)
      .filter((a) => ["tag", "digest", "imageRef", "reference"].includes(a.name))
      .map((a) => `${fn.cliName} --${a.cliName}`),
  );
  assert.equal(others, [], "no second name for a channel or an image");
  assert.equal([f.withCluster?.args.namespace?.defaultValue, f.manifests?.args.namespace?.defaultValue], ["ai-app", "ai-app"]);
});

test("deploy says what it is for and what a release does that it does not (ledger, smoke test)", async () => {
  const d = (await introspectModule()).main.functions.deploy!.description;
  assert.match(d, /first install or debugging/);
  for (const skipped of ["release ledger", "smoke test", "canary"])
    assert.ok(d.includes(skipped), `deploy's description names: ${skipped}`);
  assert.match(d, /use release/);
});

test("every object type the module registers has a description", async () => {
  const m = await introspectModule();
  const bare = Object.values(m.objects)
    .filter((o) => !o.description.trim())
    .map((o) => o.name);
  assert.equal(bare, []);
});

test("each builder's description names every function that reads what it configures", async () => {
  const f = (await introspectModule()).main.functions;
  // Which function reads which builder's settings, from index.ts itself: a call of the builder's
  // accessor in the function's body (controlInputs is the cluster's; checkTokens only checks what is configured).
  const source = readFileSync(join(MODULE_SRC, "index.ts"), "utf8");
  const readers: Record<string, RegExp> = {
    withStore: /this\.storeTarget(IfAny)?\(/,
    withAwsStore: /this\.storeTarget(IfAny)?\(/,
    withRegistry: /this\.registryTarget\(/,
    withCluster: /this\.(clusterTarget|controlInputs)\(/,
  };
  const bodies = [...source.matchAll(/^ {2}@func\([^\n]*\n(?: {2}@[^\n]*\n)* {2}(?:async )?(\w+)\(([\s\S]*?)^ {2}\}$/gm)].map((m) => ({
    name: m[1]!,
    body: m[2]!,
  }));
  assert.ok(bodies.length >= Object.keys(f).length - 1, `read ${bodies.length} function bodies from index.ts`);
  for (const [builder, reads] of Object.entries(readers)) {
    const users = bodies.filter((b) => b.name !== builder && reads.test(b.body)).map((b) => f[b.name]!.cliName);
    const described = f[builder]!.description;
    const named = Object.values(f)
      .map((fn) => fn.cliName)
      .filter((n) => n !== f[builder]!.cliName && new RegExp(`(?<![\\w-])${n}(?![\\w-])`).test(described));
    assert.equal(named.sort(), users.sort(), `${f[builder]!.cliName}: ${described}`);
  }
});

test("ci, publish, release, status and model-versions return objects whose fields are documented, with a summary for people and json for scripts", async () => {
  const m = await introspectModule();
  for (const fn of ["ci", "publish", "release", "status", "modelVersions"]) {
    const type = m.main.functions[fn]!.returnType;
    const obj = m.objects[type];
    assert.ok(obj, `${fn} returns a module object (got ${type})`);
    for (const field of ["summary", "json"]) assert.is(obj.functions[field]?.returnType, "string", `${fn} ${field}`);
    for (const f of Object.values(obj.functions)) {
      assert.ok(f.description.trim(), `${type}.${f.name} has a description`);
      assert.equal(Object.keys(f.args), [], `${type}.${f.name} is a plain field`);
    }
  }
});

test("test is a check, serve is an up service, source defaults to the repository", async () => {
  const m = await introspectModule();
  assert.ok(m.main.functions.test?.isCheck, "test should be @check()");
  assert.ok(m.main.functions.serve?.isUp, "serve should be @up()");
  const source = m.main.constructorArgs.source!;
  assert.is(source.type, "Directory");
  assert.is(source.defaultPath, "/");
  for (const p of ["**/node_modules", ".venv", "model/out"]) assert.ok(source.ignore?.includes(p), `source should ignore ${p}`);
  // One list in two forms: what the module's upload leaves out (dagger.json) is what the source argument leaves out.
  const dagger = JSON.parse(readFileSync(join(ROOT, "dagger.json"), "utf8")) as { include: string[] };
  const uploadExcludes = dagger.include.filter((p) => p.startsWith("!")).map((p) => p.slice(1));
  assert.equal(
    [...(source.ignore ?? [])].filter((p) => p !== ".git").sort(),
    uploadExcludes.sort(),
    "index.ts SOURCE_IGNORE and dagger.json include must name the same paths",
  );
});

test("no argument has a type the runtime cannot register", async () => {
  const m = await introspectModule();
  for (const f of Object.values(m.main.functions)) {
    assert.not.match(f.returnType, /\?/, `${f.cliName} return type unresolved`);
    for (const a of Object.values(f.args)) assert.not.match(a.type, /\?/, `${f.cliName} --${a.cliName} type unresolved`);
  }
});

test("the runtime's own introspection entrypoint accepts the module (DRY_RUN)", () => {
  const r = spawnSync(
    process.execPath,
    [join(SDK_DIST, "module/entrypoint/introspection_entrypoint.js"), "ai-app-pipeline", MODULE_SRC, clientGenFile()],
    {
      cwd: ROOT,
      env: { ...process.env, DRY_RUN: "1" },
      encoding: "utf8",
    },
  );
  assert.is(r.status, 0, r.stderr);
  const json = JSON.parse(r.stdout) as { objects: Record<string, { methods: Record<string, unknown> }> };
  assert.equal(Object.keys(json.objects.AiAppPipeline!.methods).length, EXPECTED.length);
});

test("the runtime's register step (entrypoint with no parent call) registers every function with its cache policy", async () => {
  const run = await callThroughEntrypoint({ call: { parentName: "", name: "" } });
  assert.is(run.exitCode, 0, run.output);
  assert.is(run.error, undefined);
  assert.ok(run.engine.isId(run.value), "returns the module's id");
  const m = await introspectModule();
  const registered = run.engine.find("function").map((f) => String(f.op.args.name));
  for (const f of Object.keys(m.main.functions)) assert.ok(registered.includes(f), `${f} registered`);
  const never = Object.values(m.main.functions).filter((f) => f.cache === "never").length;
  assert.ok(never >= 5, "resolution, publishing and deploying functions are uncached");
  assert.is(run.engine.find("withCachePolicy").filter((c) => c.op.args.policy === "Never").length, never);
  assert.is(run.engine.find("withCheck").length, 1);
  assert.is(run.engine.find("withUp").length, 1);
});

test("publish: --channel is registered required (the CLI refuses the call before it runs), --model optional", async () => {
  const m = await introspectModule();
  assert.equal([m.main.functions.publish?.args.channel?.optional, m.main.functions.publish?.args.model?.optional], [false, true]);
  // What the engine is told: cmd/dagger takes an argument as required when its type is not optional and it has no default.
  const run = await callThroughEntrypoint({ call: { parentName: "", name: "" } });
  assert.is(run.exitCode, 0, run.output);
  const publishArgs = run.engine.find("withArg").filter((a) => a.prefix.some((o) => o.field === "function" && o.args.name === "publish"));
  const optional = (name: string) => {
    const arg = publishArgs.find((a) => a.op.args.name === name);
    assert.ok(arg, `publish registers --${name}`);
    assert.is(arg.op.args.defaultValue, undefined, `--${name} has no default`);
    return run.engine.chainOf(String(arg.op.args.typeDef)).some((o) => o.field === "withOptional" && o.args.optional === true);
  };
  assert.equal([optional("channel"), optional("model")], [false, true]);
});

test("help texts name secret sources as Dagger reads them (env://NAME, file://PATH), never env:NAME or file:PATH", async () => {
  const m = await introspectModule();
  const texts = Object.values(m.objects).flatMap((o) => [
    ...Object.values(o.constructorArgs).map((a) => a.description),
    ...Object.values(o.functions).flatMap((f) => [f.description, ...Object.values(f.args).map((a) => a.description)]),
  ]);
  const wrong = texts.filter((t) => /\b(env|file|cmd):(?!\/\/)\S/.test(t));
  assert.equal(wrong, []);
  assert.ok(
    texts.some((t) => t.includes("env://")),
    "secret arguments show an env:// example",
  );
});

test.run();
