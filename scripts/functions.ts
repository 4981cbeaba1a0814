/**
 * `npm run functions`: the module's functions without a Dagger engine, in the shape `dagger
 * functions` prints them; `npm run functions -- FN` shows one function's arguments as `dagger call
 * FN --help` does. Read from dagger/src by the SDK's own introspector (test/support/introspect.ts),
 * the code the Dagger runtime runs to register the module, so it says what the engine will say.
 */
import { introspectModule, ModuleInfo } from "../test/support/introspect.js";
import { offlineArg } from "../test/support/cli-help.js";

const WIDTH = 80;

/** Words of `text` in lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** A two-column table as the CLI prints it: names padded to one width, three spaces after the longest. */
function table(rows: [string, string][], indent = ""): string[] {
  const width = Math.max(...rows.map(([name]) => name.length)) + 3;
  return rows.map(([name, text]) => `${indent}${name.padEnd(width)}${text}`);
}

const firstLine = (description: string): string => description.trim().split("\n")[0]!.trim();

function listing(m: ModuleInfo): string {
  const rows = Object.values(m.main.functions)
    .sort((a, b) => a.cliName.localeCompare(b.cliName))
    .map((f): [string, string] => [f.cliName, firstLine(f.description)]);
  return [
    ...table([["Name", "Description"], ...rows]),
    "",
    "Offline (the SDK's introspector on dagger/src): dagger functions shows the same with an engine.",
    "npm run functions -- FN shows a function's arguments, as dagger call FN --help does.",
    "",
  ].join("\n");
}

/** The CLI's word for an argument's type (a Boolean flag shows none). */
function cliType(type: string): string {
  return ({ integer: " int", boolean: "", "[string]": " strings" } as Record<string, string>)[type] ?? ` ${type}`;
}

function help(m: ModuleInfo, name: string): string {
  const f = Object.values(m.main.functions).find((x) => x.cliName === name);
  if (!f) {
    const names = Object.values(m.main.functions)
      .map((x) => x.cliName)
      .sort();
    throw new Error(`no function "${name}"; the functions are: ${names.join(", ")}`);
  }
  const returned = m.objects[f.returnType];
  const out = [...wrap(f.description, WIDTH), "", "USAGE", `  dagger call ${f.cliName} [arguments]${returned ? " <function>" : ""}`, ""];
  if (returned) {
    const rows = Object.values(returned.functions)
      .sort((a, b) => a.cliName.localeCompare(b.cliName))
      .map((x): [string, string] => [x.cliName, firstLine(x.description)]);
    out.push("FUNCTIONS", ...table(rows, "  "), "");
  }
  const args = Object.values(f.args).sort((a, b) => a.cliName.localeCompare(b.cliName));
  if (args.length) {
    out.push("ARGUMENTS");
    for (const a of args) {
      const shown = offlineArg(a);
      out.push(`      --${a.cliName}${cliType(a.type)}`, ...wrap(a.description, WIDTH - 31).map((l) => `${" ".repeat(31)}${l}`));
      if (shown.required) out.push(`${" ".repeat(31)}[required]`);
      if (shown.default !== undefined) out.push(`${" ".repeat(31)}(default ${shown.default})`);
    }
    out.push("");
  }
  return out.join("\n");
}

const m = await introspectModule();
const name = process.argv[2];
try {
  process.stdout.write(name ? help(m, name) : listing(m));
} catch (e) {
  process.stderr.write(`npm run functions: ${(e as Error).message}\n`);
  process.exitCode = 2;
}
