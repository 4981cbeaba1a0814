// `npm run e2e [-- PATTERN]`: the checks on a real Dagger engine (test/e2e/NN-name.e2e.ts), one
// uvu run per file in name order, each file's wall time, then uvu's Total/Passed lines summed over
// the files. Needs the engine that .ci/engine/up starts; with none, one line says so. A file that
// fails does not stop the next: they are independent, and the run ends non-zero.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { delimiter, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const DIR = join(ROOT, "test/e2e");
process.env.PATH = [join(ROOT, ".tools/bin"), join(ROOT, "node_modules/.bin"), process.env.PATH].join(delimiter);

function engineSocket() {
  const run = process.env.AI_APP_ENGINE_RUN ?? "/run/ai-app-pipeline-engine";
  const envFile = join(run, "env");
  if (!existsSync(envFile)) return { problem: `no ${envFile}` };
  const r = spawnSync("bash", ["-c", '. "$1" >/dev/null && printf %s "$_EXPERIMENTAL_DAGGER_RUNNER_HOST"', "engine-env", envFile], {
    encoding: "utf8",
  });
  const host = r.status === 0 ? r.stdout.trim() : "";
  const socket = host.startsWith("unix://") ? host.slice("unix://".length) : "";
  if (!socket) return { problem: `${envFile} sets no unix:// _EXPERIMENTAL_DAGGER_RUNNER_HOST` };
  if (!existsSync(socket)) return { problem: `no engine socket ${socket}` };
  return { socket };
}

const engine = engineSocket();
if (engine.problem) {
  console.error(`no engine: run .ci/engine/up first (${engine.problem})`);
  process.exit(2);
}

const filter = process.argv[2] ? new RegExp(process.argv[2]) : undefined;
const files = readdirSync(DIR)
  .filter((f) => /^\d\d-.+\.e2e\.ts$/.test(f) && (!filter || filter.test(f)))
  .sort();
if (files.length === 0) {
  console.error(`no e2e files in ${DIR}${filter ? ` matching ${filter}` : ""}`);
  process.exit(2);
}

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// eslint-disable-next-line no-control-regex -- strips uvu's ANSI colour codes before reading its counts
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, "");

function runFile(file) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn("uvu", ["--no-color", "-r", "tsx", DIR, `^${escape(file)}$`], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => process.stderr.write(d));
    child.on("close", (code) => {
      const text = plain(out);
      const n = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(text)?.[1] ?? 0);
      done({ file, code: code ?? 1, ms: Date.now() - started, total: n("Total"), passed: n("Passed"), skipped: n("Skipped") });
    });
  });
}

const started = Date.now();
const results = [];
for (const file of files) {
  console.log(`\n=== ${file}`);
  const r = await runFile(file);
  results.push(r);
  console.log(`=== ${file}: ${r.code === 0 ? "ok" : `FAILED (exit ${r.code})`} in ${(r.ms / 1000).toFixed(1)} s`);
}

console.log("\nwall time per file:");
for (const r of results) {
  console.log(`  ${(r.ms / 1000).toFixed(1).padStart(7)} s  ${r.file}  ${r.passed}/${r.total} passed${r.code === 0 ? "" : ", FAILED"}`);
}
const sum = (k) => results.reduce((a, r) => a + r[k], 0);
// a file that failed before uvu counted anything (an import error) still counts as one failed test
const broken = results.filter((r) => r.code !== 0 && r.total === r.passed).length;
console.log(`\n  Total:     ${sum("total") + broken}`);
console.log(`  Passed:    ${sum("passed")}`);
console.log(`  Skipped:   ${sum("skipped")}`);
console.log(`  Duration:  ${((Date.now() - started) / 1000).toFixed(1)}s\n`);
// The plain closing line CI systems and .ci/run read.
console.log(`${sum("passed")} passed, ${sum("total") + broken - sum("passed") - sum("skipped")} failed`);
process.exit(results.some((r) => r.code !== 0) ? 1 : 0);
