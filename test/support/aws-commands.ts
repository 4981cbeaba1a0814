/**
 * The `aws` commands a guide's shell blocks run, and the recorded command table they are checked
 * against (test/fixtures/aws-commands.json, written by scripts/record-aws-commands.ts from the real
 * AWS CLI: each command's options as `aws <service> <operation> help` lists them in its synopsis).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { shellWords } from "./dagger-call.js";
import { ROOT } from "./session.js";

export const AWS_TABLE = "test/fixtures/aws-commands.json";
/** The guides whose `aws` commands the table covers. */
export const AWS_SOURCES = ["docs/s3-setup.md"];

export interface AwsTable {
  /** What recorded it: the CLI's and botocore's versions. */
  recordedWith: Record<string, string>;
  /** Command (e.g. "s3api create-bucket") -> every option its help lists, global ones included. */
  commands: Record<string, string[]>;
}

export const readAwsTable = (): AwsTable => JSON.parse(readFileSync(join(ROOT, AWS_TABLE), "utf8")) as AwsTable;

/** The body of each ```bash or ```sh block of a Markdown text. */
export function shellBlocks(md: string): string[] {
  return [...md.matchAll(/^```(?:bash|sh)\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
}

/** A block's lines with here-documents (`<<EOF` ... `EOF`) taken out and returned apart, by the file they are written to. */
export function splitHeredocs(block: string): { lines: string[]; heredocs: Map<string, string> } {
  const lines: string[] = [];
  const heredocs = new Map<string, string>();
  let open: { end: string; file: string; body: string[] } | undefined;
  for (const line of block.split("\n")) {
    if (open) {
      if (line.trim() === open.end) {
        heredocs.set(open.file, open.body.join("\n"));
        open = undefined;
      } else open.body.push(line);
      continue;
    }
    const h = /^cat\s*>\s*(\S+)\s*<<-?\s*'?(\w+)'?\s*$/.exec(line.trim());
    if (h) open = { file: h[1]!, end: h[2]!, body: [] };
    else lines.push(line);
  }
  return { lines, heredocs };
}

/**
 * Each `aws ...` command of a shell text (line continuations joined, here-documents left out): at
 * the start of a command or of a `$(...)`, up to where that command ends (`|`, `;`, `&&`, `>`, or
 * the `)` closing its `$(`), quotes respected. Returns each command's words, quotes removed.
 */
export function awsCommandsIn(text: string): string[][] {
  const joined = splitHeredocs(text.replace(/\\\r?\n\s*/g, " ")).lines;
  const found: string[][] = [];
  for (const line of joined) {
    for (const m of line.matchAll(/(?:^|[\s(;|&])aws\s/g)) {
      const start = m.index + m[0].indexOf("aws");
      const insideSubstitution = line.slice(0, start).trimEnd().endsWith("$(");
      let quote: string | null = null;
      let end = line.length;
      for (let i = start; i < line.length; i++) {
        const c = line[i]!;
        if (quote) {
          if (c === quote) quote = null;
          continue;
        }
        if (c === "'" || c === '"') quote = c;
        else if ((c === ")" && insideSubstitution) || c === "|" || c === ";" || c === ">" || (c === "&" && line[i + 1] === "&")) {
          end = i;
          break;
        }
      }
      const cut = line.slice(start, end).replace(/\s+#.*$/, "");
      found.push(shellWords(cut));
    }
  }
  return found;
}

/** "s3api create-bucket" for `aws s3api create-bucket ...`: the service and the operation. */
export function awsPath(words: string[]): string {
  return words.slice(1, 3).join(" ");
}

/** What is wrong with the `aws` commands of `text` by the table: an unknown command, or an option its help does not list. */
export function awsProblems(text: string, table: AwsTable): string[] {
  const problems: string[] = [];
  for (const words of awsCommandsIn(text)) {
    const path = awsPath(words);
    const options = table.commands[path];
    if (!options) {
      problems.push(`aws ${path}: not in ${AWS_TABLE} (record it: AWS=/path/to/aws npx tsx scripts/record-aws-commands.ts)`);
      continue;
    }
    for (const w of words.slice(3)) {
      const option = w.split("=")[0]!;
      if (option.startsWith("--") && !options.includes(option)) problems.push(`aws ${path} has no option ${option}`);
    }
  }
  return problems;
}
