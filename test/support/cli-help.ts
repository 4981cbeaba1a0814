/**
 * The function table as the `dagger` CLI shows it (`dagger functions`, `dagger call FN --help`) and
 * as the offline introspection (introspect.ts) says it, rendered into one normalized text each, so
 * that the two can be compared as a diff: names, argument types, defaults, required flags and
 * descriptions.
 */
import type { ArgInfo, FunctionInfo, ModuleInfo } from "./introspect.js";

/** One argument as both sides render it. */
export interface ArgLine {
  flag: string;
  type: string;
  required: boolean;
  /** As the CLI prints it: "models" quoted, 10 bare; undefined when none is shown (zero values never are). */
  default?: string;
  description: string;
}

export interface HelpPage {
  /** The text above USAGE: the function's description. */
  description: string;
  /** FUNCTIONS section: CLI name -> one-line description. */
  functions: Map<string, string>;
  args: ArgLine[];
}

// eslint-disable-next-line no-control-regex -- the CLI prints bold section titles even with NO_COLOR
export const stripAnsi = (s: string): string => s.replace(/\x1b\[[0-9;]*m/g, "");

/**
 * Whitespace-insensitive text: the CLI wraps descriptions at 80 columns and breaks lines after a
 * hyphen ("with-\nstore"), so a wrapped line cannot be told from a space; both sides get the same
 * treatment (whitespace after a hyphen dropped, runs of whitespace made one space).
 */
export function normalizeText(s: string): string {
  return s.replace(/-\s+/g, "-").replace(/\s+/g, " ").trim();
}

/** The first line of a description (what `dagger functions` shows), normalized. */
export function firstLine(description: string): string {
  return normalizeText(description.trim().split("\n")[0] ?? "");
}

/** `dagger functions` output: name -> description (one line each, not wrapped). */
export function parseFunctionsList(stdout: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = stripAnsi(stdout).split("\n");
  const header = lines.findIndex((l) => /^Name\s+Description\s*$/.test(l));
  if (header < 0) throw new Error(`dagger functions: no "Name Description" header in:\n${stdout}`);
  for (const l of lines.slice(header + 1)) {
    if (!l.trim()) break;
    const m = /^(\S+)\s+(.*)$/.exec(l);
    if (m) out.set(m[1]!, normalizeText(m[2]!));
  }
  return out;
}

/** The note `dagger functions` prints under its table, e.g. "Skipped 1 function(s) with unsupported types: with". */
export function skippedNote(stdout: string): string | undefined {
  return /^Skipped .*$/m.exec(stripAnsi(stdout))?.[0];
}

function sections(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = "";
  out.set(current, []);
  for (const line of stripAnsi(text).split("\n")) {
    if (/^[A-Z][A-Z ]+$/.test(line)) {
      current = line.trim();
      out.set(current, []);
    } else out.get(current)!.push(line);
  }
  return out;
}

/** `dagger call [FN] --help` output. */
export function parseHelp(stdout: string): HelpPage {
  const s = sections(stdout);
  const description = normalizeText((s.get("") ?? []).join("\n"));
  const functions = new Map<string, string>();
  let last: string | undefined;
  for (const line of s.get("FUNCTIONS") ?? []) {
    const m = /^ {2}(\S+)\s{2,}(.*)$/.exec(line);
    if (/^Use "dagger /.test(line)) break;
    if (m) {
      last = m[1]!;
      functions.set(last, m[2]!);
    } else if (last && line.trim()) functions.set(last, `${functions.get(last)!} ${line.trim()}`);
  }
  for (const [k, v] of functions) functions.set(k, normalizeText(v));

  const args: ArgLine[] = [];
  let arg: (ArgLine & { text: string[] }) | undefined;
  const flush = (): void => {
    if (!arg) return;
    const { text, ...rest } = arg;
    args.push({ ...rest, description: normalizeText(text.join("\n")) });
    arg = undefined;
  };
  for (const line of s.get("ARGUMENTS") ?? []) {
    if (/^Use "dagger /.test(line)) break; // the closing hint
    // "      --name type      description" (required: description on the same line); no type for
    // Booleans. Wrapped description lines are indented further, and may start with "--" too.
    const m = /^ {1,8}--([a-z0-9-]+)(?: (\S+))?(?:\s{2,}(.*))?$/.exec(line);
    if (m) {
      flush();
      arg = { flag: m[1]!, type: cliType(m[2]), required: false, description: "", text: m[3] ? [m[3]] : [] };
      continue;
    }
    if (!arg) continue;
    if (/^\s*\[required\]\s*$/.test(line)) arg.required = true;
    else if (/^\s*\(default .*\)\s*$/.test(line)) arg.default = /\(default (.*)\)/.exec(line)![1]!;
    else arg.text.push(line);
  }
  flush();
  return { description, functions, args };
}

/** The CLI's type words in the introspection's vocabulary (a Boolean flag shows no type). */
function cliType(t: string | undefined): string {
  if (t === undefined) return "boolean";
  return ({ int: "integer", strings: "[string]", bool: "boolean" } as Record<string, string>)[t] ?? t;
}

/** An offline argument as the CLI would show it. */
export function offlineArg(a: ArgInfo): ArgLine {
  let dflt: string | undefined;
  // the CLI (cobra) prints no default that is its type's zero value: "", false, 0
  if (a.defaultValue !== undefined && !["", "false", "0"].includes(a.defaultValue)) {
    dflt = a.type === "string" ? JSON.stringify(a.defaultValue) : a.defaultValue;
  }
  return {
    flag: a.cliName,
    type: a.type,
    required: !a.optional,
    ...(dflt !== undefined ? { default: dflt } : {}),
    description: normalizeText(a.description),
  };
}

export function renderArgs(args: ArgLine[]): string[] {
  return [...args]
    .sort((x, y) => x.flag.localeCompare(y.flag))
    .map(
      (a) =>
        `  --${a.flag} ${a.type}${a.required ? " [required]" : ""}${a.default !== undefined ? ` (default ${a.default})` : ""}: ${a.description}`,
    );
}

export function renderFunctions(fns: Map<string, string>): string[] {
  return [...fns].sort(([x], [y]) => x.localeCompare(y)).map(([name, d]) => `  ${name}: ${d}`);
}

/** Functions of an offline object: CLI name -> first description line. */
export function offlineFunctions(fns: Record<string, FunctionInfo>): Map<string, string> {
  return new Map(Object.values(fns).map((f) => [f.cliName, firstLine(f.description)]));
}

/** The object a function returns, when it is one of the module's own (chained functions). */
export function returnedObject(mod: ModuleInfo, f: FunctionInfo): Record<string, FunctionInfo> | undefined {
  return mod.objects[f.returnType]?.functions;
}

/** A line-by-line diff of two texts, for assertion messages: "-" only in `a`, "+" only in `b`. */
export function lineDiff(a: string, b: string, labels: [string, string] = ["offline", "engine"]): string {
  const x = a.split("\n");
  const y = b.split("\n");
  // longest common subsequence, small inputs (a few hundred lines)
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--) lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out = [`--- ${labels[0]}`, `+++ ${labels[1]}`];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      i++;
      j++;
    } else if (j < m && (i >= n || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+ ${y[j++]}`);
    else out.push(`- ${x[i++]}`);
  }
  return out.join("\n");
}
