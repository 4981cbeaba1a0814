/**
 * `npm run functions`: the module's function table without an engine, printed as `dagger functions`
 * prints it, and `npm run functions -- FN` as `dagger call FN --help` does; read back here with the
 * same parsers that read the real CLI's output (test/support/cli-help.ts).
 */
import { spawnSync } from "node:child_process";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { introspectModule } from "../support/introspect.js";
import { firstLine, normalizeText, offlineArg, offlineFunctions, parseFunctionsList, parseHelp, renderArgs } from "../support/cli-help.js";
import { ROOT } from "../support/session.js";

function npmRunFunctions(...args: string[]) {
  const r = spawnSync("npm", ["run", "--silent", "functions", ...(args.length ? ["--", ...args] : [])], {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

test("npm run functions lists every function with its description's first line, as dagger functions does", async () => {
  const m = await introspectModule();
  const r = npmRunFunctions();
  assert.is(r.code, 0, r.stderr);
  const listed = parseFunctionsList(r.stdout);
  assert.equal(
    [...listed.keys()],
    Object.values(m.main.functions)
      .map((f) => f.cliName)
      .sort(),
    "every function, sorted by name",
  );
  for (const f of Object.values(m.main.functions)) assert.is(listed.get(f.cliName), firstLine(f.description), f.cliName);
  // The CLI's columns: names padded to one width, two spaces at least before the description.
  const lines = r.stdout.split("\n");
  const header = lines.findIndex((l) => l.startsWith("Name"));
  const rows = lines.slice(header, lines.indexOf("", header));
  const starts = new Set(rows.map((l) => /^\S+\s+/.exec(l)![0].length));
  assert.is(starts.size, 1, "one description column");
  assert.match(r.stdout, /^Name\s+Description$/m);
  assert.match(r.stdout, /npm run functions -- FN/, "says how to see one function's arguments");
});

test("npm run functions -- FN shows that function's arguments and what it returns, as dagger call FN --help does", async () => {
  const m = await introspectModule();
  for (const name of ["release", "with-store"]) {
    const f = Object.values(m.main.functions).find((x) => x.cliName === name)!;
    const r = npmRunFunctions(name);
    assert.is(r.code, 0, r.stderr);
    const page = parseHelp(r.stdout);
    assert.is(page.description, normalizeText(f.description), `${name}: description`);
    assert.equal(renderArgs(page.args), renderArgs(Object.values(f.args).map(offlineArg)), `${name}: arguments`);
    const returned = m.objects[f.returnType];
    if (returned) assert.equal(page.functions, offlineFunctions(returned.functions), `${name}: the functions of ${f.returnType}`);
  }
});

test("npm run functions -- an unknown name fails, naming the functions there are", () => {
  const r = npmRunFunctions("relase");
  assert.is.not(r.code, 0);
  assert.match(r.stderr, /no function "relase"/);
  assert.match(r.stderr, /release/);
});

test.run();
