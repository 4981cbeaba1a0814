/** Assertions over a recorded graph, shared by the recorded-graph tests. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Directory, dag } from "./sdk.js";
import { ROOT } from "./session.js";
import { FakeEngine, Op, contextDirectoryId } from "./fake-engine.js";

/** A Directory that the fake engine resolves as a context directory at `path`. */
export function contextDir(path = "/"): Directory {
  return dag.loadDirectoryFromID(contextDirectoryId(path) as never);
}

/** Every `from(address)` reached by the graph. */
export function baseImages(engine: FakeEngine): string[] {
  return engine.find("from").map((f) => String(f.op.args.address));
}

/** An exact version tag (or digest), never `latest` or a bare name. */
export function isPinnedImage(ref: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(ref)) return true;
  const tag = /:([^/:@]+)$/.exec(ref)?.[1];
  return tag !== undefined && tag !== "latest" && /\d/.test(tag);
}

/** Index of the first op in `chain` matching `pred`, or -1. */
export function indexOf(chain: Op[], pred: (op: Op) => boolean): number {
  return chain.findIndex(pred);
}

/** Chains ending in a `withExec` whose argv starts with `argv`. */
export function execsStartingWith(engine: FakeEngine, argv: string[]): { op: Op; prefix: Op[] }[] {
  return engine.find("withExec").filter((e) => {
    const args = e.op.args.args as string[];
    return argv.every((a, i) => args[i] === a);
  });
}

/** Every raw query except the SDK's own `setSecret`, which is where a plaintext may legitimately appear. */
export function queriesOutsideSetSecret(engine: FakeEngine): string[] {
  return engine.recorded.map((r) => r.query).filter((q) => !/\bsetSecret\s*\(/.test(q));
}

/** The repository path a context-directory chain stands for, e.g. `k8s/deployment.yaml`. */
export function contextPath(chain: Op[]): string | undefined {
  const root = chain[1];
  if (chain[0]?.field !== "host" || root?.field !== "directory" || !String(root.args.path).startsWith("context:")) return undefined;
  const parts = [String(root.args.path).slice("context:".length)];
  for (const op of chain.slice(2)) {
    if (op.field === "directory" || op.field === "file") parts.push(String(op.args.path));
    else return undefined;
  }
  return join(...parts).replace(/^\/+/, "");
}

/**
 * Answers `entries` and `contents` on context directories with the real repository's files,
 * so code that reads k8s/ or a model.json sees what is on disk. Undefined for anything else.
 */
export function repositoryFiles(chain: Op[]): unknown {
  const leaf = chain.at(-1)!;
  if (leaf.field !== "entries" && leaf.field !== "contents") return undefined;
  const path = contextPath(chain.slice(0, -1));
  if (path === undefined) return undefined;
  const abs = join(ROOT, path);
  if (leaf.field === "entries") return readdirSync(abs).map((n) => (statSync(join(abs, n)).isDirectory() ? `${n}/` : n));
  return readFileSync(abs, "utf8");
}

/** Answers reads of a model directory's model.json with `manifest`; undefined for anything else. */
export function modelJsonReads(manifest: string): (chain: Op[]) => string | undefined {
  return (chain) => {
    const prev = chain.at(-2);
    return chain.at(-1)?.field === "contents" && prev?.field === "file" && prev.args.path === "model.json" ? manifest : undefined;
  };
}

export interface RootLayerCopy {
  path: string;
  owner: unknown;
  /** The Directory.withDirectory that put the files under `path`. */
  copy: Op;
  /** The mtime set on the whole tree afterwards, if any. */
  timestamps: unknown;
}

/** Container copies to "/" of a tree built as dag.directory().withDirectory(path, ...).withTimestamps(t). */
export function rootLayerCopies(engine: FakeEngine, chain: Op[]): RootLayerCopy[] {
  return chain
    .filter((o) => o.field === "withDirectory" && o.args.path === "/")
    .map((o) => {
      const tree = engine.chainOf(String(o.args.source));
      const copy = tree.find((t) => t.field === "withDirectory")!;
      return { path: String(copy.args.path), owner: o.args.owner, copy, timestamps: tree.at(-1)?.field === "withTimestamps" ? tree.at(-1)!.args.timestamp : undefined };
    });
}
