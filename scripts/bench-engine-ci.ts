/**
 * `npm run bench:engine-ci`: `dagger call ci` on the real engine (.ci/engine), three times, with
 * figures, not assertions:
 *   1. cold: on an empty engine state (the harness is restarted with --wipe-state);
 *   2. warm: the same call again, nothing changed;
 *   3. a one-line change to the app (a comment line added to app/scoring/__init__.py, in a copy of the repository).
 * Each run pushes to a fresh TLS registry on the engine's veth; for each it prints the wall time, the
 * execs that ran and those served from cache, the bytes the registry stored (what was uploaded), and
 * which layers are new, naming the model layer. Needs root and the harness (.ci/engine/up).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { dagger, DaggerResult, engineEnv, tail } from "../test/support/dagger-cli.js";
import { copiedLayerKind, layerTar, tarEntries } from "../test/support/oci-read.js";
import { startRegistry } from "../test/support/registry.js";
import { copyRepository, replaceOnce } from "../test/support/repo-copy.js";
import { ROOT } from "../test/support/session.js";
import { tempDir } from "../test/support/temp.js";
import { certSignedBy } from "../test/support/tls.js";

const REPOSITORY = "bench/ai-app";

function harness(args: string[]): void {
  execFileSync(join(ROOT, ".ci/engine", args[0]!), args.slice(1), { stdio: ["ignore", "ignore", "inherit"] });
}

/** Every exec span of the plain progress output and how it ended: ran (DONE/ERROR) or CACHED. */
export function execSpans(progress: string): { ran: string[]; cached: string[] } {
  const label = new Map<string, string>();
  const end = new Map<string, string>();
  for (const line of progress.split("\n")) {
    const m = /^(\d+)\s+: ┆ (.*)$/.exec(line);
    if (!m) continue;
    const [, id, text] = m as unknown as [string, string, string];
    if (!label.has(id) && text.startsWith("withExec ")) label.set(id, text.slice("withExec ".length).slice(0, 70));
    const status = /\s(DONE|CACHED|ERROR) \[[^\]]*\]\s*$/.exec(text)?.[1];
    if (status) end.set(id, status);
  }
  const ran: string[] = [];
  const cached: string[] = [];
  for (const [id, what] of label) (end.get(id) === "CACHED" ? cached : ran).push(what);
  return { ran, cached };
}

/** Bytes of every blob the registry stores. */
function storedBytes(dataDir: string): number {
  const blobs = join(dataDir, "docker/registry/v2/blobs/sha256");
  let total = 0;
  for (const prefix of safeList(blobs))
    for (const d of safeList(join(blobs, prefix))) total += statSync(join(blobs, prefix, d, "data")).size;
  return total;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function blob(dataDir: string, digest: string): Buffer {
  const hex = digest.replace(/^sha256:/, "");
  return readFileSync(join(dataDir, "docker/registry/v2/blobs/sha256", hex.slice(0, 2), hex, "data"));
}

interface Layer {
  digest: string;
  size: number;
  holds: string;
}

/** The image's layers from the registry's storage, each named by what it holds (model, app or other). */
function layers(dataDir: string, digest: string): Layer[] {
  const manifest = JSON.parse(blob(dataDir, digest).toString("utf8")) as { layers: { digest: string; size: number }[] };
  return manifest.layers.map((l) => ({ ...l, holds: copiedLayerKind(tarEntries(layerTar(blob(dataDir, l.digest))).map((e) => e.path)) }));
}

function mib(n: number): string {
  return n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:engine-ci needs root (it restarts the engine harness with --wipe-state)");
  console.log("engine harness: down, then up --wipe-state (an empty engine state)");
  const model = join(tempDir("bench-engine-model-"), "model");
  harness(["up"]);
  const trained = await dagger(["call", "train-sample-model", "export", "--path", model], { label: "bench-train" });
  if (trained.code !== 0) throw new Error(`train-sample-model failed:\n${tail(trained.stderr, 30)}`);
  harness(["down"]);
  harness(["up", "--wipe-state"]);

  const { env, hostIp } = engineEnv();
  const caDir = env.AI_APP_ENGINE_TEST_CA;
  if (!caDir) throw new Error("the engine harness has no test CA (AI_APP_ENGINE_TEST_CA)");
  const registry = await startRegistry({ host: hostIp, tls: certSignedBy(caDir, hostIp) });
  const dataDir = join(registry.dir, "data");
  const changed = copyRepository("bench-engine-changed-");
  replaceOnce(
    changed,
    "app/scoring/__init__.py",
    "from __future__ import annotations\n",
    "from __future__ import annotations\n# one-line change (bench:engine-ci)\n",
  );

  const runs: { name: string; cwd: string }[] = [
    { name: "cold (empty engine state)", cwd: ROOT },
    { name: "warm (nothing changed)", cwd: ROOT },
    { name: "one-line app change", cwd: changed },
  ];
  let previous: Layer[] = [];
  const rows: string[] = [];
  try {
    for (const [i, run] of runs.entries()) {
      const before = storedBytes(dataDir);
      const args = ["call", "--revision", "bench", "with-registry", "--address", registry.address, "--repository", REPOSITORY];
      const r: DaggerResult = await dagger([...args, "ci", "--channel", `bench-${i}`, "--model", model, "image"], {
        cwd: run.cwd,
        label: `bench-ci-${i}`,
      });
      if (r.code !== 0) throw new Error(`${run.name}: ci failed (log ${r.log}):\n${tail(r.stderr, 30)}`);
      const digest = /@(sha256:[0-9a-f]{64})$/.exec(r.stdout.trim())?.[1];
      if (!digest) throw new Error(`${run.name}: ci printed no digest: ${r.stdout.trim()}`);
      const now = layers(dataDir, digest);
      const known = new Set(previous.map((l) => l.digest));
      const fresh = now.filter((l) => !known.has(l.digest));
      const { ran, cached } = execSpans(r.stderr + r.stdout);
      console.log(`\n${run.name}: ${(r.ms / 1000).toFixed(1)} s, ${digest}`);
      console.log(`  execs run (${ran.length}): ${ran.join(" | ") || "none"}`);
      console.log(`  execs cached: ${cached.length}`);
      console.log(
        `  uploaded: ${mib(storedBytes(dataDir) - before)}; new layers: ${fresh.map((l) => `${l.holds} ${mib(l.size)}`).join(", ") || "none"}`,
      );
      rows.push(
        `| ${run.name} | ${(r.ms / 1000).toFixed(0)} s | ${ran.length} run, ${cached.length} cached | ${mib(storedBytes(dataDir) - before)} | ${
          i === 0 ? "-" : fresh.some((l) => l.holds === "model") ? "yes" : "no"
        } |`,
      );
      previous = now;
    }
  } finally {
    await registry.stop();
  }
  console.log("\n| run | wall | execs | uploaded | model layer uploaded again |\n|---|---|---|---|---|");
  for (const row of rows) console.log(row);
}

main().catch((e: unknown) => {
  console.error(`bench:engine-ci: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
