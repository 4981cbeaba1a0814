/**
 * Runs one CI step's bash script (its CI variables already substituted) as the agent would, with
 * stand-ins for the commands that would reach out: `az` (prints a stand-in token or kubeconfig),
 * `dagger` (records each call's argv and the value of every env://NAME it names, prints a result
 * object), `jq` and `git`. The rest (bash, base64, test) is the machine's own.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./temp.js";

/** One `dagger` invocation: its arguments, and what each env://NAME secret among them held. */
export interface RecordedCall {
  argv: string[];
  secrets: Record<string, string>;
}

export interface ScriptRun {
  status: number | null;
  output: string;
  calls: RecordedCall[];
}

/** What the stand-in `az` prints: an access token, or with `--file -` a kubeconfig. */
export const STAND_IN_TOKEN = "stand-in-access-token";

/**
 * Runs `script` with `bash -c` in a fresh working directory holding `files` (path -> content),
 * with `env` and the stand-ins first on PATH.
 */
export function runCiScript(script: string, env: Record<string, string>, files: Record<string, string> = {}): ScriptRun {
  const dir = tempDir("ci-script-");
  const bin = join(dir, "bin");
  const calls = join(dir, "calls");
  const work = join(dir, "work");
  for (const d of [bin, calls, work]) mkdirSync(d, { recursive: true });
  for (const [path, content] of Object.entries(files)) writeFileSync(join(work, path), content);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/usr/bin/env bash\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub("az", `for a in "$@"; do if [ "$a" = --file ]; then echo "apiVersion: v1"; exit 0; fi; done\necho ${STAND_IN_TOKEN}`);
  stub(
    "dagger",
    [
      `n="$(ls "${calls}" | wc -l)"`,
      `printf '%s\\0' "$@" > "${calls}/$n.argv"`,
      // the secrets it names, NAME NUL value NUL, read from its environment as Dagger would
      `: > "${calls}/$n.env"`,
      `for a in "$@"; do case "$a" in env://*) v="\${a#env://}"; printf '%s\\0%s\\0' "$v" "\${!v-}" >> "${calls}/$n.env";; esac; done`,
      `echo '{"image":"stand-in.azurecr.io/ai-app@sha256:${"0".repeat(64)}","releaseId":"stand-in-release","summary":"stand-in"}'`,
    ].join("\n"),
  );
  stub("jq", "echo stand-in-jq");
  stub("git", "echo 2026-01-01T00:00:00+00:00");
  const r = spawnSync("bash", ["-c", script], {
    cwd: work,
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, ...env },
    timeout: 30_000,
  });
  const split = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").split("\0").slice(0, -1) : []);
  const recorded = readdirSync(calls)
    .filter((f) => f.endsWith(".argv"))
    .sort((a, b) => parseInt(a) - parseInt(b))
    .map((f): RecordedCall => {
      const pairs = split(join(calls, f.replace(/\.argv$/, ".env")));
      const secrets: Record<string, string> = {};
      for (let i = 0; i + 1 < pairs.length; i += 2) secrets[pairs[i]!] = pairs[i + 1]!;
      return { argv: split(join(calls, f)), secrets };
    });
  return { status: r.status, output: (r.stdout ?? "") + (r.stderr ?? ""), calls: recorded };
}

/** A recorded argv as a command line for the dagger-call checker (words with spaces or quotes quoted). */
export function commandLine(argv: string[]): string {
  const quote = (w: string) => (w.includes("'") ? `"${w}"` : `'${w}'`);
  return ["dagger", ...argv].map((w) => (w === "" || /[\s'"$()\\]/.test(w) ? quote(w) : w)).join(" ");
}
