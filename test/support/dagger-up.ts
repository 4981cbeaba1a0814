/**
 * A long-running `dagger call ... up --ports` in a network namespace of its own. The CLI's host
 * tunnel binds 0.0.0.0 (Dagger's core/service.go, `bindHost`), which must not reach this machine's
 * network: in a fresh namespace the only interface is loopback, and the CLI still reaches the engine
 * through its unix socket (a path, not an address). Requests go in with `nsenter --net`.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineEnv, LOG_DIR } from "./dagger-cli.js";
import { ROOT } from "./session.js";

export interface UpProcess {
  pid: number;
  output(): string;
  /** An HTTP request from inside the namespace (curl): status and body. */
  http(path: string, opts?: { port?: number; json?: string; timeoutSeconds?: number }): Promise<{ status: number; body: string }>;
  /** SIGINT (the CLI's Ctrl-C), then SIGKILL after a grace period; resolves with the exit code. */
  stop(): Promise<number | null>;
  exited(): boolean;
  /** Full output in a log file, written on stop. */
  log: string;
}

/** Starts `dagger --progress=plain ARGS...` with loopback only; the namespace lives as long as the process. */
export function daggerUp(args: string[], opts: { cwd?: string; label?: string } = {}): UpProcess {
  const { env } = engineEnv();
  mkdirSync(LOG_DIR, { recursive: true });
  const log = join(LOG_DIR, `up-${process.pid}-${(opts.label ?? args.join("_")).replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 60)}.log`);
  // unshare execs bash, which brings loopback up and execs dagger: one PID throughout
  const child: ChildProcess = spawn(
    "unshare",
    ["--net", "--", "bash", "-c", 'ip link set lo up && exec "$@"', "dagger-up", "dagger", "--progress=plain", ...args],
    { cwd: opts.cwd ?? ROOT, env, stdio: ["ignore", "pipe", "pipe"], detached: true },
  );
  let out = "";
  let code: number | null | undefined;
  child.stdout!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString("utf8")));
  const closed = new Promise<number | null>((resolve) =>
    child.on("close", (c) => {
      code = c;
      resolve(c);
    }),
  );
  const pid = child.pid!;
  return {
    pid,
    log,
    output: () => out,
    exited: () => code !== undefined,
    http(path, o = {}) {
      const url = `http://127.0.0.1:${o.port ?? 8000}${path}`;
      const curl = ["curl", "-s", "-m", String(o.timeoutSeconds ?? 10), "-o", "-", "-w", "\n%{http_code}", url];
      if (o.json !== undefined) curl.push("-H", "Content-Type: application/json", "--data-binary", "@-");
      return new Promise((resolve) => {
        const p = execFile("nsenter", [`--net=/proc/${pid}/ns/net`, "--", ...curl], { maxBuffer: 16 << 20 }, (_err, stdout) => {
          const i = stdout.lastIndexOf("\n");
          resolve({ status: Number(stdout.slice(i + 1)) || 0, body: stdout.slice(0, Math.max(i, 0)) });
        });
        if (o.json !== undefined) p.stdin!.end(o.json);
        else p.stdin!.end();
      });
    },
    async stop() {
      if (code === undefined) {
        try {
          process.kill(-pid, "SIGINT");
        } catch {
          /* already gone */
        }
        const guard = setTimeout(() => {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            /* already gone */
          }
        }, 30_000);
        await closed;
        clearTimeout(guard);
      }
      writeFileSync(log, `$ dagger --progress=plain ${args.join(" ")}\n# exit ${code}\n${out}`);
      return code ?? null;
    },
  };
}

/** Polls `check` every `everyMs` until it returns true or `timeoutMs` passes (or `abort` says stop). */
export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  abort: () => boolean = () => false,
  everyMs = 2000,
): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return true;
    if (abort()) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return false;
}
