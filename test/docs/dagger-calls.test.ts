/** Every `dagger call` shown to users (README, docs/, CI files) names functions and flags that exist. */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkDaggerCall, findDaggerCalls, markdownCode, shellWords, withArraysExpanded } from "../support/dagger-call.js";
import { parse } from "../support/yaml.js";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";

/** Shell code of a file: Markdown code blocks, or the script fields of a CI YAML file. */
function shellCode(file: string, text: string): string {
  if (file.endsWith(".md")) return markdownCode(text);
  const scripts: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (["run", "inlineScript", "bash", "script"].includes(k) && typeof x === "string") scripts.push(x);
        else walk(x);
      }
    }
  };
  walk(parse(text));
  // a call's optional flags kept in a bash array ("${KEY_ARGS[@]}") are checked as if all given
  return withArraysExpanded(scripts.join("\n"));
}

function docs(): { file: string; text: string }[] {
  const files = ["README.md", "azure-pipelines.yml", "app/README.md", "model/README.md"];
  for (const f of readdirSync(join(ROOT, "docs"))) if (f.endsWith(".md")) files.push(`docs/${f}`);
  const wf = join(ROOT, ".github/workflows");
  if (existsSync(wf)) for (const f of readdirSync(wf)) files.push(`.github/workflows/${f}`);
  return files
    .filter((f) => existsSync(join(ROOT, f)))
    .map((file) => ({ file, text: shellCode(file, readFileSync(join(ROOT, file), "utf8")) }));
}

test("the checker itself rejects unknown functions, flags and missing required flags", async () => {
  const mod = await introspectModule();
  assert.ok(checkDaggerCall("dagger call nope", mod).length > 0);
  assert.ok(checkDaggerCall("dagger call build --no-such-flag x", mod).length > 0);
  assert.ok(checkDaggerCall("dagger call --bogus build", mod).length > 0);
  assert.ok(checkDaggerCall("dagger call build frobnicate", mod).length > 0);
  assert.equal(checkDaggerCall("dagger call build terminal", mod), []);
  // fields of a returned object chain like functions; a Boolean flag never swallows the next word
  assert.equal(checkDaggerCall("dagger call ci image", mod), []);
  assert.ok(checkDaggerCall("dagger call ci no-such-field", mod).length > 0);
  assert.ok(checkDaggerCall("dagger call with-cluster --kubeconfig file://k release --dry-run no-such-field", mod).length > 0);
  assert.equal(findDaggerCalls("dagger call ci json > ci.json"), ["dagger call ci json"]);
  assert.equal(
    withArraysExpanded('K=()\nif x; then K=(--public-key "$(k.path)"); fi\ndagger call ci "${K[@]}" json'),
    'K=()\nif x; then K=(--public-key "$(k.path)"); fi\ndagger call ci --public-key "$(k.path)" json',
  );
  assert.throws(() => withArraysExpanded('dagger call ci "${NEVER_SET[@]}"'), /never sets/);
  assert.equal(shellWords(`dagger call --revision "$(git rev-parse HEAD)" test`), [
    "dagger",
    "call",
    "--revision",
    "$(git rev-parse HEAD)",
    "test",
  ]);
});

test("README and CI files: every dagger call example is valid", async () => {
  const mod = await introspectModule();
  const problems: string[] = [];
  let count = 0;
  for (const { file, text } of docs()) {
    for (const cmd of findDaggerCalls(text)) {
      count++;
      for (const p of checkDaggerCall(cmd, mod)) problems.push(`${file}: ${p}`);
    }
  }
  assert.equal(problems, []);
  assert.ok(count > 0 || !existsSync(join(ROOT, "README.md")), "README has dagger call examples");
});

test("README's function table lists every function the module exposes, and no other", async () => {
  const mod = await introspectModule();
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const listed = [...readme.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]).sort();
  assert.equal(
    listed,
    Object.values(mod.main.functions)
      .map((f) => f.cliName)
      .sort(),
  );
});

test.run();
