/**
 * Names and descriptions as the real Dagger CLI prints them (seen on the engine with
 * `dagger call FN --help`): the offline table the docs tests use must read the same.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { introspectModule, kebab } from "../support/introspect.js";

test("kebab-case as the CLI spells it: a dash before each word and each run of digits", () => {
  assert.is(kebab("modelSha256"), "model-sha-256");
  assert.is(kebab("withRegistry"), "with-registry");
  assert.is(kebab("imageDigest"), "image-digest");
  assert.is(kebab("dnsLabel"), "dns-label");
});

test("an @alias example in a TSDoc line is text, not a tag: descriptions are whole", async () => {
  const m = await introspectModule();
  const f = m.main.functions;
  for (const [fn, arg] of [
    ["fetchModel", "modelVersion"],
    ["ci", "modelVersion"],
  ] as const)
    assert.match(f[fn]!.args[arg]!.description, /an alias such as "@champion"/, `${fn} --${kebab(arg)}`);
  assert.match(f.setAlias!.args.alias!.description, /select it with --model-version "@champion"\.$/);
});

test("no description holds a backtick: the CLI (pflag) takes a back-quoted word for the flag's value name and drops the quotes", async () => {
  const m = await introspectModule();
  for (const o of Object.values(m.objects))
    for (const f of Object.values(o.functions))
      for (const a of Object.values(f.args)) assert.not.match(a.description, /`/, `${o.name}.${f.name} --${a.cliName}`);
});

test.run();
