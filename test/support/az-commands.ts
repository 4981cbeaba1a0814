/**
 * The `az` commands a shell text runs, and the recorded command table they are checked against
 * (test/fixtures/az-commands.json, written by scripts/record-az-commands.ts from the real Azure
 * CLI and its azure-devops extension: each command's options as `az <command> --help` lists them).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shellWords } from "./dagger-call.js";
import { ROOT } from "./session.js";
import { parse } from "./yaml.js";

export const AZ_TABLE = "test/fixtures/az-commands.json";

export interface AzTable {
  /** What recorded it: the CLI's and the extension's versions. */
  recordedWith: Record<string, string>;
  /** Command (e.g. "role assignment create") -> every option it takes, global ones included. */
  commands: Record<string, string[]>;
}

export const readAzTable = (): AzTable => JSON.parse(readFileSync(join(ROOT, AZ_TABLE), "utf8")) as AzTable;

/**
 * Each `az ...` command in a shell text (line continuations joined): at the start of a command or
 * of a `$(...)`, up to where that command ends (`|`, `;`, `&&`, `||`, `>`, or the `)` closing its
 * `$(`), quotes respected. Returns each command's words, quotes removed.
 */
export function azCommandsIn(text: string): string[][] {
  const joined = text.replace(/\\\r?\n\s*/g, " ");
  const found: string[][] = [];
  for (const line of joined.split("\n")) {
    for (const m of line.matchAll(/(?:^|[\s(;|&])az\s/g)) {
      const start = m.index + m[0].indexOf("az");
      const insideSubstitution = line.slice(0, start).trimEnd().endsWith("$(");
      let quote: string | null = null;
      let depth = 0;
      let end = line.length;
      for (let i = start; i < line.length; i++) {
        const c = line[i]!;
        if (quote) {
          if (c === quote) quote = null;
          continue;
        }
        if (c === "'" || c === '"') quote = c;
        else if (c === "$" && line[i + 1] === "(") depth++;
        else if (c === ")" && depth > 0) depth--;
        else if ((c === ")" && insideSubstitution) || c === "|" || c === ";" || c === ">" || (c === "&" && line[i + 1] === "&")) {
          end = i;
          break;
        }
      }
      found.push(shellWords(line.slice(start, end).trim()));
    }
  }
  return found;
}

/**
 * The shell text of a file that runs or names az commands: for Markdown, its ```bash blocks and
 * the inline code spans that write an az command with options (`az group delete --name "$RG"`);
 * for YAML, the scripts of its steps (inlineScript, bash, script, run) without their comment
 * lines; any other file whole.
 */
export function azShellOf(file: string, text: string): string {
  if (/\.ya?ml$/.test(file)) return scriptsOf(parse(text)).join("\n");
  if (!file.endsWith(".md")) return text;
  const blocks = [...text.matchAll(/^```bash\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const spans = [...text.matchAll(/`(az [^`]*\s-[^`]*)`/g)].map((m) => m[1]!.replace(/\s*\n\s*/g, " "));
  return [...blocks, ...spans].join("\n");
}

/** Every step script in a parsed pipeline file, comment lines dropped. */
function scriptsOf(v: unknown): string[] {
  if (Array.isArray(v)) return v.flatMap(scriptsOf);
  if (!v || typeof v !== "object") return [];
  return Object.entries(v).flatMap(([k, x]) =>
    typeof x === "string" && ["inlineScript", "bash", "script", "run"].includes(k) ? [x.replace(/^\s*#.*$/gm, "")] : scriptsOf(x),
  );
}

/** The command an az command's words name: the words before the first option ("group create"). */
export function azPath(words: string[]): string {
  const i = words.findIndex((w, n) => n > 0 && w.startsWith("-"));
  return words.slice(1, i < 0 ? undefined : i).join(" ");
}

/** The options among an az command's words (--name, -o, --name=value as --name); a lone "-" is a value. */
export function azOptions(words: string[]): string[] {
  return words.filter((w) => /^--?[A-Za-z]/.test(w)).map((w) => w.replace(/=.*$/, ""));
}

/** What is wrong with one az command by the table: an unknown command, or options it does not take. */
export function azProblems(words: string[], table: AzTable): string[] {
  const path = azPath(words);
  const known = table.commands[path];
  if (!known) return [`az ${path}: not a command in the recorded table (${AZ_TABLE}; record it with scripts/record-az-commands.ts)`];
  return azOptions(words)
    .filter((o) => !known.includes(o))
    .map((o) => `az ${path}: no option ${o}`);
}
