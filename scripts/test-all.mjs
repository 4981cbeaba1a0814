// The project's one test command: type checks, the TypeScript suites (uvu) and the Python
// suites (pytest), each streamed as it runs, then one closing summary line.
import { spawn } from "node:child_process";
import { delimiter, resolve } from "node:path";
import { clearTimeout, setTimeout } from "node:timers";

// Tools the setup scripts provide (kubectl) come first, before whatever the machine has.
process.env.PATH = [resolve(".tools/bin"), resolve("node_modules/.bin"), process.env.PATH].join(delimiter);

const steps = [
  { name: "typecheck (tests, tools, module)", cmd: ["tsc", "-p", "tsconfig.json", "--noEmit"], kind: "check" },
  { name: "typecheck (module, as the runtime sees it)", cmd: ["tsc", "-p", "dagger/tsconfig.json", "--noEmit"], kind: "check" },
  { name: "format (Prettier)", cmd: ["prettier", "--check", "dagger/src/**/*.ts", "test/**/*.ts", "scripts/**/*.{ts,mjs}"], kind: "check" },
  { name: "lint (ESLint, typescript-eslint)", cmd: ["eslint", "dagger/src", "test", "scripts", "eslint.config.js"], kind: "check" },
  {
    name: "layering (index -> pipeline -> capabilities -> shared, no cycle)",
    cmd: ["depcruise", "--config", ".dependency-cruiser.cjs", "dagger/src"],
    kind: "check",
  },
  { name: "layering (no cycle between capability folders)", cmd: ["tsx", "scripts/folder-cycles.ts"], kind: "check" },
  { name: "Python lint (ruff, ruff.toml)", cmd: [".venv/bin/ruff", "check", "--no-cache"], kind: "check" },
  // uvu's closing "Duration:" line: the process must end soon after it (see run()).
  { name: "TypeScript tests (uvu)", cmd: ["uvu", "-r", "tsx", "test", "\\.test\\.ts$"], kind: "uvu", doneWhen: /^\s*Duration:/m },
  { name: "Python tests (pytest)", cmd: ["sh", "scripts/pytest.sh"], kind: "pytest" },
];

// A runner that has printed its summary but does not exit is held open by something a test left
// running (a server, a child process): a failure, reported as such, never an endless wait.
const EXIT_GRACE_MS = 60_000;
const groups = new Set();
for (const signal of ["SIGINT", "SIGTERM"])
  process.on(signal, () => {
    for (const pid of groups) killGroup(pid);
    process.exit(130);
  });

function killGroup(pid) {
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function run(cmd, doneWhen) {
  return new Promise((resolve) => {
    // Its own process group, so that what it started goes with it when it must be stopped.
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      detached: true,
    });
    groups.add(child.pid);
    let out = "";
    let hung;
    let stopped = false;
    const tee = (stream) => (d) => {
      out += d;
      stream.write(d);
      if (doneWhen && !hung && doneWhen.test(out)) {
        hung = setTimeout(() => {
          const note = `\n${cmd[0]} printed its summary but had not exited ${EXIT_GRACE_MS / 1000} s later: something a test started is still running; stopped it\n`;
          out += note;
          process.stderr.write(note);
          stopped = true;
          killGroup(child.pid);
        }, EXIT_GRACE_MS);
      }
    };
    child.stdout.on("data", tee(process.stdout));
    child.stderr.on("data", tee(process.stderr));
    child.on("close", (code) => {
      clearTimeout(hung);
      groups.delete(child.pid);
      resolve({ code: stopped ? 1 : (code ?? 1), out });
    });
  });
}

/** Counts from a runner's own closing lines; a step with none counts as one check. */
function counts(kind, code, out) {
  // eslint-disable-next-line no-control-regex -- strips the runners' ANSI colour codes
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  if (kind === "uvu") {
    const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
    const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? NaN);
    if (Number.isFinite(total) && Number.isFinite(passed)) {
      return { passed, failed: total - passed + (code !== 0 && total === passed ? 1 : 0) };
    }
  }
  if (kind === "pytest") {
    const line =
      plain
        .trimEnd()
        .split("\n")
        .reverse()
        .find((l) => /\d+ (passed|failed)/.test(l)) ?? "";
    const n = (w) => Number(new RegExp(`(\\d+) ${w}`).exec(line)?.[1] ?? 0);
    if (line) return { passed: n("passed"), failed: n("failed") + n("errors?") + (code !== 0 && n("failed") === 0 ? 1 : 0) };
  }
  return code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 };
}

const started = Date.now();
const results = [];
for (const step of steps) {
  console.log(`\n=== ${step.name}: ${step.cmd.join(" ")}`);
  const t = Date.now();
  const { code, out } = await run(step.cmd, step.doneWhen);
  results.push({ ...step, code, secs: (Date.now() - t) / 1000, ...counts(step.kind, code, out) });
}

console.log("\n=== summary");
for (const r of results) {
  console.log(`${r.code === 0 ? "ok  " : "FAIL"} ${r.name}: ${r.passed} passed, ${r.failed} failed (${r.secs.toFixed(1)}s)`);
}
const passed = results.reduce((s, r) => s + r.passed, 0);
const failed = results.reduce((s, r) => s + r.failed, 0);
console.log(`total time ${((Date.now() - started) / 1000).toFixed(1)}s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(results.every((r) => r.code === 0) ? 0 : 1);
