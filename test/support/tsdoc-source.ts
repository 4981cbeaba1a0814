/**
 * The doc comments of the module's classes as written in the source, read without TypeScript:
 * what each description should be, whole, to compare with what the SDK's introspector registers.
 * A tag starts only at the beginning of a comment line here, so an `@word` inside a sentence
 * stays text; where TypeScript's JSDoc parser cuts a description there, the two differ.
 */
import { readFileSync } from "node:fs";

export interface SourceDoc {
  /** The text before the first tag, whitespace collapsed. */
  text: string;
  /** `@param name text`, whitespace collapsed. */
  params: Record<string, string>;
}

export interface SourceClass {
  name: string;
  doc?: SourceDoc;
  /** Methods, fields and "constructor", by name. */
  members: Map<string, SourceDoc>;
}

const collapse = (s: string): string => s.replace(/\s+/g, " ").trim();

function parseDoc(block: string): SourceDoc {
  const lines = block
    .replace(/^\/\*\*/, "")
    .replace(/\*\/$/, "")
    .split("\n")
    .map((l) => l.replace(/^\s*\* ?/, ""));
  const text: string[] = [];
  const params: Record<string, string> = {};
  let current: { name: string; lines: string[] } | undefined;
  let inTag = false;
  const flush = () => {
    if (current) params[current.name] = collapse(current.lines.join("\n"));
    current = undefined;
  };
  for (const line of lines) {
    const tag = /^\s*@(\w+)\s*(.*)$/.exec(line);
    if (tag) {
      flush();
      inTag = true;
      if (tag[1] === "param") {
        const p = /^(\w+)\s*(.*)$/.exec(tag[2]!);
        if (p) current = { name: p[1]!, lines: [p[2]!] };
      }
    } else if (current) current.lines.push(line);
    else if (!inTag) text.push(line);
  }
  flush();
  return { text: collapse(text.join("\n")), params };
}

/** Skips decorators (with balanced parentheses), line comments and whitespace from `i`. */
function skipDecorators(src: string, i: number): number {
  for (;;) {
    while (/\s/.test(src[i] ?? "")) i++;
    if (src.startsWith("//", i)) {
      i = src.indexOf("\n", i);
      if (i < 0) return src.length;
      continue;
    }
    if (src[i] !== "@") return i;
    i++;
    while (/\w/.test(src[i] ?? "")) i++;
    if (src[i] === "(") {
      let depth = 0;
      do {
        if (src[i] === "(") depth++;
        else if (src[i] === ")") depth--;
        i++;
      } while (depth > 0 && i < src.length);
    }
  }
}

/** The `@object()` classes of one source file with the doc comments of the class and its members. */
export function sourceClasses(file: string): SourceClass[] {
  const src = readFileSync(file, "utf8");
  const classes: SourceClass[] = [];
  let current: SourceClass | undefined;
  for (const m of src.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const at = skipDecorators(src, m.index + m[0].length);
    const decorated = src.slice(m.index + m[0].length, at);
    const rest = src.slice(at, at + 200);
    const cls = /^export\s+class\s+(\w+)/.exec(rest);
    if (cls) {
      current = decorated.includes("@object(") ? { name: cls[1]!, doc: parseDoc(m[0]), members: new Map() } : undefined;
      if (current) classes.push(current);
      continue;
    }
    const member = /^(?:(?:async|private|public|readonly|static)\s+)*(constructor|\w+)\s*[(=:?!]/.exec(rest);
    if (current && member && !/^(?:export|function|const|let|type|interface)\b/.test(rest)) current.members.set(member[1]!, parseDoc(m[0]));
  }
  return classes;
}
