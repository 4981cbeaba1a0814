/**
 * The module's function table on the real engine, as users read it (`dagger functions`, `dagger call
 * --help`, `dagger call FN --help` for every function of the main object, which also lists the
 * functions of the object FN returns), against the offline introspection (test/support/introspect.ts)
 * that the docs tests check README and CI files with: one normalized text per side, compared as a
 * diff, so a renamed flag, a lost default or a changed description shows up by name.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { callLine, dagger, DaggerResult, tail } from "../support/dagger-cli.js";
import { introspectModule, ModuleInfo } from "../support/introspect.js";
import {
  firstLine,
  HelpPage,
  lineDiff,
  offlineArg,
  offlineFunctions,
  parseFunctionsList,
  parseHelp,
  renderArgs,
  renderFunctions,
  returnedObject,
  skippedNote,
} from "../support/cli-help.js";

let mod: ModuleInfo;
let listed: DaggerResult;
/** `dagger call [FN] --help` pages by function CLI name ("" = `dagger call --help`). */
const pages = new Map<string, HelpPage>();

function prefixed(prefix: string, lines: string[]): string[] {
  return lines.map((l) => `${prefix}${l}`);
}

/** Both sides as one text: the same sections in the same order, every line naming its section. */
function render(side: "offline" | "engine"): string {
  const lines: string[] = [];
  const fromEngine = side === "engine";
  lines.push(
    ...prefixed(
      "dagger functions:",
      renderFunctions(fromEngine ? parseFunctionsList(listed.stdout) : offlineFunctions(mod.main.functions)),
    ),
  );
  const ctor = fromEngine ? pages.get("")!.args : Object.values(mod.main.constructorArgs).map(offlineArg);
  lines.push(...prefixed("dagger call --help:", renderArgs(ctor)));
  for (const f of Object.values(mod.main.functions).sort((a, b) => a.cliName.localeCompare(b.cliName))) {
    const page = pages.get(f.cliName);
    const where = `dagger call ${f.cliName} --help:`;
    lines.push(`${where} ${fromEngine ? firstLine(page?.description ?? "(no page)") : firstLine(f.description)}`);
    lines.push(...prefixed(where, renderArgs(fromEngine ? (page?.args ?? []) : Object.values(f.args).map(offlineArg))));
    const chained = returnedObject(mod, f);
    if (chained)
      lines.push(...prefixed(`${where} returns`, renderFunctions(fromEngine ? (page?.functions ?? new Map()) : offlineFunctions(chained))));
  }
  return lines.join("\n");
}

test.before(async () => {
  mod = await introspectModule();
});

test("dagger functions lists the module's functions", async () => {
  listed = await dagger(["functions"]);
  console.log(`    ${callLine(listed)}`);
  assert.is(listed.code, 0, tail(`${listed.stdout}\n${listed.stderr}`));
  const fns = parseFunctionsList(listed.stdout);
  assert.ok(fns.size > 0, "no functions parsed");
  const note = skippedNote(listed.stdout);
  if (note) console.log(`    the CLI says: ${note}`);
});

test("dagger call --help and dagger call FN --help for every function (timed)", async () => {
  const names = ["", ...Object.values(mod.main.functions).map((f) => f.cliName)];
  const times: number[] = [];
  const failed: string[] = [];
  for (const name of names) {
    const r = await dagger(["call", ...(name ? [name] : []), "--help"], { label: `help-${name || "call"}`, timeoutMs: 5 * 60_000 });
    times.push(r.ms);
    if (r.code !== 0) failed.push(`${callLine(r)}\n${tail(r.stderr, 10)}`);
    else pages.set(name, parseHelp(r.stdout));
  }
  const total = times.reduce((a, b) => a + b, 0);
  console.log(
    `    ${names.length} --help calls: ${(total / 1000).toFixed(1)} s in all, ${(total / names.length / 1000).toFixed(1)} s each on average, slowest ${(Math.max(...times) / 1000).toFixed(1)} s`,
  );
  assert.equal(failed, []);
});

test("the engine shows the same functions, arguments, types, defaults, required flags and descriptions as the offline introspection", () => {
  assert.ok(listed && pages.size > 0, "the calls above did not run");
  const offline = render("offline");
  const engine = render("engine");
  if (offline !== engine)
    assert.unreachable(
      `the CLI and the offline introspection differ:\n${lineDiff(offline, engine)
        .split("\n")
        .filter((l) => /^[-+]/.test(l))
        .join("\n")}`,
    );
});

test("every argument description the engine shows is whole (ends a sentence: no TSDoc tag such as @name cut it short)", () => {
  const cut: string[] = [];
  for (const [fn, page] of pages)
    for (const a of page.args)
      if (!/[.)!?]$/.test(a.description)) cut.push(`dagger call ${fn ? `${fn} ` : ""}--${a.flag}: "${a.description}"`);
  assert.equal(cut, []);
});

test.run();
