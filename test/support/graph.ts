/** Assertions over a recorded graph, shared by the recorded-graph tests. */
import { Directory, dag } from "./sdk.js";
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
