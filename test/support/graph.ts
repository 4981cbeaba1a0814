/** Assertions over a recorded graph, shared by the recorded-graph tests. */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Directory, dag } from "./sdk.js";
import { ROOT } from "./session.js";
import { CLI } from "../../dagger/src/model-store/step.js";
import { IMAGE_LABELS } from "../../dagger/src/app-image/labels.js";
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

/**
 * What a publish needs answered beside the model: pytest's output (4 passed), each
 * `Container.publish` as `<address>@digest`, and a `setSecret`'s plaintext read back.
 */
export function publishReads(digest: string): (chain: Op[]) => string | undefined {
  return (chain) => {
    const leaf = chain.at(-1)!;
    if (leaf.field === "combinedOutput") return "....\n4 passed in 0.1s\n";
    if (leaf.field === "publish") return `${String(leaf.args.address)}@${digest}`;
    if (leaf.field === "plaintext") {
      const set = chain.find((op) => op.field === "setSecret");
      if (set) return String(set.args.plaintext);
    }
    return undefined;
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
      return {
        path: String(copy.args.path),
        owner: o.args.owner,
        copy,
        timestamps: tree.at(-1)?.field === "withTimestamps" ? tree.at(-1)!.args.timestamp : undefined,
      };
    });
}

// ---- named matchers for execs: what a command is, not where its words sit in the argv ----------

/** The argv of a `withExec` op; [] for any other op or none. */
export function execArgv(op: Op | undefined): string[] {
  return op?.field === "withExec" ? ((op.args.args as string[] | undefined) ?? []) : [];
}

/** The last `withExec` of a chain (the command whose output a leaf such as `stdout` reads). */
export function lastExec(chain: Op[]): Op | undefined {
  return [...chain].reverse().find((o) => o.field === "withExec");
}

/** Flags whose value is the next word (so it is not taken for a subcommand). */
const FLAGS_WITH_VALUES = new Set(["--host", "--namespace", "--image", "--name", "--version", "--out"]);

/**
 * What an exec runs, by name: the tool (`kubectl`, `regctl`, `pytest`, `pip`, `model-store`, a
 * script such as `model/train.py`, or the binary's name) and its subcommand words before any
 * flag (`rollout status`, `image import`, `fetch`).
 */
export function commandOf(op: Op | undefined): { tool: string; verb: string; argv: string[] } | undefined {
  const argv = execArgv(op);
  if (!argv.length) return undefined;
  if (CLI.every((a, i) => argv[i] === a)) return { tool: "model-store", verb: argv[CLI.length] ?? "", argv };
  const bin = argv[0]!.split("/").at(-1)!;
  if (bin === "python" && argv[1] === "-m") return { tool: argv[2] ?? "", verb: "", argv };
  if (bin === "python" && argv[1]?.endsWith(".py")) return { tool: argv[1], verb: "", argv };
  const words: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const w = argv[i]!;
    if (w.startsWith("-")) {
      if (FLAGS_WITH_VALUES.has(w)) i++;
      continue;
    }
    words.push(w);
  }
  const verbLength = bin === "kubectl" && ["rollout", "get"].includes(words[0] ?? "") ? 2 : bin === "regctl" ? 2 : 1;
  return { tool: bin, verb: words.slice(0, verbLength).join(" "), argv };
}

/** An exec matcher: `runs("kubectl", "rollout status")`, `runs("pytest")`, `runs("model-store", "publish")`. */
export function runs(tool: string, verb?: string): (op: Op | undefined) => boolean {
  return (op) => {
    const c = commandOf(op);
    return c !== undefined && c.tool === tool && (verb === undefined || c.verb === verb || c.verb.startsWith(`${verb} `));
  };
}

/** The value after `flag` in an argv (e.g. `--image`), or undefined. */
export function flagValue(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * Answers an image-label read (`Container.label`) as a pipeline-built image would: its revision
 * and model labels, null for any other label; undefined when the query is not a label read.
 */
export function builtImageLabel(
  chain: Op[],
  image: { revision: string; modelSha256: string; modelVersion?: string },
): string | null | undefined {
  const leaf = chain.at(-1)!;
  if (leaf.field !== "label") return undefined;
  const labels: Record<string, string> = {
    [IMAGE_LABELS.revision]: image.revision,
    [IMAGE_LABELS.modelName]: "digits-classifier",
    [IMAGE_LABELS.modelVersion]: image.modelVersion ?? "1.0.0",
    [IMAGE_LABELS.modelSha256]: image.modelSha256,
  };
  return labels[String(leaf.args.name)] ?? null;
}
