// Everything the tests need beside the top-level node_modules (npm runs this as postinstall):
// the module's own packages (dagger/), the Python virtualenv, kubectl, regctl, versitygw (the S3
// server of the model store's S3 tests), cosign and trivy. The steps are
// independent, so they run side by side: npm mostly writes files, pip mostly downloads and
// unpacks, Go compiles. Each step's output is printed when it ends, with its time; if any step
// failed, the setup exits 1 once the others have ended.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const LOCK = join(ROOT, "dagger/package-lock.json");
// Written after a complete install of dagger/: the lockfile it came from. An unchanged lockfile
// skips the reinstall (npm ci deletes node_modules first: 35,000 files written again for nothing).
const STAMP = join(ROOT, "dagger/node_modules/.installed-from-lock");

const lockHash = () => createHash("sha256").update(readFileSync(LOCK)).digest("hex");

const steps = [
  {
    name: "module packages (npm ci in dagger/)",
    skip: () =>
      existsSync(STAMP) && readFileSync(STAMP, "utf8") === lockHash() && "dagger/package-lock.json unchanged since the last install",
    // --ignore-scripts: no package of the module needs its install script (esbuild's only checks its
    // binary, protobufjs's only prints a version note); the Dagger runtime's own install is separate.
    cmd: ["npm", "ci", "--prefix", "dagger", "--include=dev", "--ignore-scripts", "--no-audit", "--no-fund"],
    after: () => writeFileSync(STAMP, lockHash()),
  },
  { name: "Python virtualenv (.venv)", cmd: ["sh", "scripts/setup-python.sh"] },
  // One after another: each Go build keeps both cores busy (trivy's about 5 min on a cold build cache).
  {
    name: "kubectl, regctl, versitygw, cosign and trivy (.tools/bin)",
    cmd: [
      "sh",
      "-c",
      "sh scripts/setup-kubectl.sh && sh scripts/setup-regctl.sh && sh scripts/setup-versitygw.sh && sh scripts/setup-cosign.sh && sh scripts/setup-trivy.sh",
    ],
  },
];

function run(step) {
  const started = Date.now();
  const reason = step.skip?.();
  if (reason) return Promise.resolve({ step, code: 0, out: `skipped: ${reason}\n`, secs: 0 });
  return new Promise((resolve) => {
    const child = spawn(step.cmd[0], step.cmd.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", (e) => resolve({ step, code: 127, out: `${out}${e.message}\n`, secs: (Date.now() - started) / 1000 }));
    child.on("close", (code) => {
      if (code === 0) step.after?.();
      resolve({ step, code: code ?? 1, out, secs: (Date.now() - started) / 1000 });
    });
  });
}

const started = Date.now();
const results = await Promise.all(steps.map((step) => run(step).then((r) => (print(r), r))));
const failed = results.some((r) => r.code !== 0);

function print({ step, code, out, secs }) {
  process.stdout.write(`\n=== setup: ${step.name}: ${code === 0 ? "ok" : `FAILED (exit ${code})`} in ${secs.toFixed(1)} s\n${out}`);
}

console.log(
  `\n=== setup: all steps ${failed ? "did not all succeed" : "done"} in ${((Date.now() - started) / 1000).toFixed(1)} s (side by side)`,
);
process.exit(failed ? 1 : 0);
