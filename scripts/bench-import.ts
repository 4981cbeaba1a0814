/**
 * `npm run bench:import`: how long loading the module's code takes, as the Dagger runtime does
 * it on every function call (a fresh Node process importing src/index.ts through tsx), against
 * the baseline of importing the Dagger SDK alone. Median of several runs, one figure a line.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const ROOT = join(import.meta.dirname, "..");
const RUNS = Number(process.env.BENCH_IMPORT_RUNS ?? 7);
const TARGETS = {
  module: join(ROOT, "dagger/src/index.ts"),
  sdk: join(ROOT, "dagger/node_modules/@dagger.io/dagger/dist/src/index.js"),
};
const CHILD = "const t = performance.now(); await import(process.argv[1]); console.log(`import_ms=${performance.now() - t}`);";

function importMs(target: string): number {
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", CHILD, pathToFileURL(target).href], {
    cwd: ROOT,
    encoding: "utf8",
  });
  const ms = Number(/^import_ms=([\d.]+)$/m.exec(r.stdout)?.[1]);
  if (r.status !== 0 || !Number.isFinite(ms)) throw new Error(`importing ${target} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

importMs(TARGETS.module); // warm tsx's transform cache, as a runtime that already ran once has it
const sdk: number[] = [];
const mod: number[] = [];
for (let i = 0; i < RUNS; i++) {
  sdk.push(importMs(TARGETS.sdk));
  mod.push(importMs(TARGETS.module));
}
const m = median(mod);
const s = median(sdk);
process.stdout.write(`module_import_ms: ${m.toFixed(0)}\n`);
process.stdout.write(`sdk_import_ms: ${s.toFixed(0)}\n`);
process.stdout.write(`module_own_import_ms: ${Math.max(0, m - s).toFixed(0)}\n`);
process.stdout.write(`module_vs_sdk_ratio: ${(m / s).toFixed(2)}\n`);
