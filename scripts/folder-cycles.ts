/**
 * `npm run lint:layers`, second half: capability folders never import each other in a cycle.
 * dependency-cruiser's no-cycles rule sees modules, so a loop that runs through two folders by
 * different files (model-store/signing.ts -> build/python.ts, build/image.ts -> model-store/...)
 * passes it; here each module stands for its top folder under dagger/src, and any strongly
 * connected set of two or more folders is a cycle. Reads `depcruise --output-type json`.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..");

export interface CruisedModule {
  source: string;
  dependencies: { resolved: string }[];
}

/** The folder (or top-level file) under dagger/src a module belongs to; undefined outside it. */
export function folderOf(path: string): string | undefined {
  const m = /^dagger\/src\/([^/]+)/.exec(path);
  return m?.[1];
}

/** Folder -> the folders its modules import (itself excluded). */
export function folderEdges(modules: CruisedModule[]): Map<string, Set<string>> {
  const edges = new Map<string, Set<string>>();
  for (const m of modules) {
    const from = folderOf(m.source);
    if (!from) continue;
    const to = edges.get(from) ?? new Set<string>();
    for (const d of m.dependencies) {
      const f = folderOf(d.resolved);
      if (f && f !== from) to.add(f);
    }
    edges.set(from, to);
  }
  return edges;
}

/** The folder cycles: each strongly connected set of two or more folders, sorted (Tarjan's algorithm). */
export function folderCycles(edges: Map<string, Set<string>>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of edges.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const set: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      set.push(w);
    } while (w !== v);
    if (set.length > 1) found.push(set.sort());
  };
  for (const v of [...edges.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** One line per cycle, naming a file on each edge of it, so the import to move is obvious. */
export function describeCycles(modules: CruisedModule[], cycles: string[][]): string[] {
  return cycles.map((set) => {
    const members = new Set(set);
    const imports = modules.flatMap((m) =>
      m.dependencies
        .filter((d) => {
          const a = folderOf(m.source);
          const b = folderOf(d.resolved);
          return a !== b && a !== undefined && b !== undefined && members.has(a) && members.has(b);
        })
        .map((d) => `${m.source} -> ${d.resolved}`),
    );
    return `capability folders import each other in a cycle: ${set.join(", ")} (${imports.join("; ")}); move the shared part down (shared/) or to one side`;
  });
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const r = spawnSync("depcruise", ["--config", ".dependency-cruiser.cjs", "--output-type", "json", "dagger/src"], {
    cwd: ROOT,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
  });
  if (r.status !== 0 && !r.stdout) {
    console.error(`depcruise failed (exit ${r.status}): ${r.stderr}`);
    process.exit(2);
  }
  const modules = (JSON.parse(r.stdout) as { modules: CruisedModule[] }).modules;
  const problems = describeCycles(modules, folderCycles(folderEdges(modules)));
  for (const p of problems) console.error(p);
  if (problems.length) process.exit(1);
  console.log(`no cycle between folders (${folderEdges(modules).size} folders under dagger/src)`);
}
