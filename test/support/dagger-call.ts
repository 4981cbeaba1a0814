/**
 * Checks `dagger call` command lines (from README and CI files) against the module's function
 * table from the SDK introspector: every function and flag must exist, required ones be given.
 */
import { ArgInfo, FunctionInfo, ModuleInfo, ObjectInfo } from "./introspect.js";

/** Functions of core types that a chained call may end with, per type (CLI spelling). */
const CORE_CHAIN: Record<string, Record<string, string[]>> = {
  Container: {
    terminal: [],
    export: ["path"],
    publish: ["address"],
    stdout: [],
    "as-service": [],
    up: ["ports"],
    "with-exec": ["args"],
    file: ["path"],
    directory: ["path"],
  },
  Directory: { export: ["path"], entries: [], terminal: [], file: ["path"] },
  File: { export: ["path"], contents: [] },
  Service: { up: ["ports"], endpoint: [] },
};

export interface ParsedCall {
  text: string;
  constructorFlags: Record<string, string | true>;
  chain: { name: string; flags: Record<string, string | true> }[];
}

/** Shell-like split that keeps quoted strings and $(...) whole. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let depth = 0;
  let has = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else cur += c;
      continue;
    }
    if (c === "$" && line[i + 1] === "(") depth++;
    if (c === ")" && depth > 0) depth--;
    if ((c === '"' || c === "'") && depth === 0) {
      quote = c;
      has = true;
      continue;
    }
    if (/\s/.test(c) && depth === 0) {
      if (has || cur) words.push(cur);
      cur = "";
      has = false;
      continue;
    }
    cur += c;
    has = true;
  }
  if (has || cur) words.push(cur);
  return words;
}

/** The fenced code blocks of a Markdown text: where runnable examples live, unlike prose. */
export function markdownCode(text: string): string {
  const blocks = [...text.matchAll(/^\s*```[^\n]*\n([\s\S]*?)^\s*```/gm)].map((m) => m[1]);
  return blocks.join("\n");
}

/**
 * A script with each `"${NAME[@]}"` replaced by every word the script may put in the bash array
 * NAME (`NAME=(...)`, `NAME+=(...)`): the call as it is with all its optional flags, which must
 * all be valid.
 */
export function withArraysExpanded(script: string): string {
  const arrays = new Map<string, string[]>();
  for (const m of script.matchAll(/\b([A-Za-z_]\w*)\+?=\(/g)) {
    // the words up to the parenthesis that closes this one ($(...) inside counts)
    let depth = 1;
    let i = m.index + m[0].length;
    for (; i < script.length && depth > 0; i++) depth += script[i] === "(" ? 1 : script[i] === ")" ? -1 : 0;
    arrays.set(m[1]!, [...(arrays.get(m[1]!) ?? []), script.slice(m.index + m[0].length, i - 1).trim()]);
  }
  return script.replace(/"\$\{([A-Za-z_]\w*)\[@\]\}"/g, (all, name: string) => {
    const words = arrays.get(name)?.filter(Boolean);
    if (!words) throw new Error(`${all} expands an array the script never sets`);
    return words.join(" ");
  });
}

/** Every `dagger call ...` command in `text` (shell code), with line continuations joined. */
export function findDaggerCalls(text: string): string[] {
  const joined = text.replace(/\\\r?\n\s*/g, " ");
  const out: string[] = [];
  for (const line of joined.split("\n")) {
    const i = line.indexOf("dagger call");
    if (i < 0) continue;
    let cmd = line.slice(i).replace(/\s+#.*$/, "");
    cmd = cmd
      .split(/\s(?:&&|\|\||\||;|\d?>>?|<)\s/)[0]!
      .replace(/[`]+.*$/, "")
      .trim();
    out.push(cmd);
  }
  return out;
}

/** Flags after words[i]; a flag the function declares Boolean never takes the next word (as in the CLI). */
function parseFlags(words: string[], i: number, booleans: ReadonlySet<string> = new Set()): [Record<string, string | true>, number] {
  const flags: Record<string, string | true> = {};
  while (i < words.length && words[i]!.startsWith("--")) {
    const w = words[i]!.slice(2);
    const eq = w.indexOf("=");
    if (eq >= 0) {
      flags[w.slice(0, eq)] = w.slice(eq + 1);
      i++;
    } else if (!booleans.has(w) && i + 1 < words.length && !words[i + 1]!.startsWith("--")) {
      // a flag followed by a value; booleans are written --flag or --flag=false
      flags[w] = words[i + 1]!;
      i += 2;
    } else {
      flags[w] = true;
      i++;
    }
  }
  return [flags, i];
}

/** One flag as a call passes it, with what the module says about it. */
export interface UsedArg {
  fn: string;
  flag: string;
  type: string;
  value: string | true;
}

/** Parses and checks one command; returns the list of problems (empty when it is valid). */
export function checkDaggerCall(cmd: string, mod: ModuleInfo, onArg: (a: UsedArg) => void = () => {}): string[] {
  const words = shellWords(cmd);
  if (words[0] !== "dagger" || words[1] !== "call") return [`not a dagger call: ${cmd}`];
  let i = 2;
  const problems: string[] = [];
  const globalFlags = new Set(["progress", "silent", "quiet", "verbose", "debug", "mod", "m", "interactive", "json", "output", "o"]);
  // constructor flags (and dagger's own global flags) come before the function name
  const ctorArgs = Object.values(mod.main.constructorArgs);
  while (i < words.length && words[i]!.startsWith("-")) {
    const [flags, next] = parseFlags(words, i);
    for (const [f, v] of Object.entries(flags)) {
      const arg = ctorArgs.find((a) => a.cliName === f);
      if (arg) onArg({ fn: "(constructor)", flag: f, type: arg.type, value: v });
      else if (!globalFlags.has(f)) problems.push(`${cmd}: unknown constructor flag --${f}`);
    }
    i = next;
  }
  let fns: Record<string, FunctionInfo> | undefined = Object.fromEntries(Object.values(mod.main.functions).map((f) => [f.cliName, f]));
  let coreType: string | undefined;
  while (i < words.length) {
    const name = words[i++]!;
    const declared = fns?.[name] ? Object.values(fns[name].args) : [];
    const [flags, next] = parseFlags(words, i, new Set(declared.filter((a) => a.type === "boolean").map((a) => a.cliName)));
    i = next;
    if (fns) {
      const fn: FunctionInfo | undefined = fns[name];
      if (!fn) {
        problems.push(`${cmd}: no function "${name}"`);
        break;
      }
      const known = new Map<string, ArgInfo>(Object.values(fn.args).map((a) => [a.cliName, a]));
      for (const [f, v] of Object.entries(flags)) {
        const arg = known.get(f);
        if (arg) onArg({ fn: name, flag: f, type: arg.type, value: v });
        else problems.push(`${cmd}: ${name} has no flag --${f}`);
      }
      for (const a of known.values()) if (!a.optional && !(a.cliName in flags)) problems.push(`${cmd}: ${name} needs --${a.cliName}`);
      const objType: ObjectInfo | undefined = mod.objects[fn.returnType];
      if (objType) {
        fns = Object.fromEntries(Object.values(objType.functions).map((f): [string, FunctionInfo] => [f.cliName, f]));
      } else {
        fns = undefined;
        coreType = fn.returnType;
      }
    } else {
      const core = coreType ? CORE_CHAIN[coreType] : undefined;
      if (!core || !(name in core)) {
        problems.push(`${cmd}: cannot chain "${name}" after a ${coreType ?? "value"}`);
        break;
      }
      coreType = undefined;
    }
  }
  return problems;
}
