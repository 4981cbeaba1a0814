/** Running a command whose failure we want to explain ourselves rather than as a raw exec error. */
import { Container, ReturnType } from "@dagger.io/dagger";

export interface ExecResult {
  exitCode: number;
  output: string;
  /** The container after the command; the one before it when the engine refused the exit (see `exitOfFailedExec`). */
  container: Container;
}

/** Runs `args` without failing the pipeline on a non-zero exit, so the caller decides. */
export async function execAllowingFailure(ctr: Container, args: string[]): Promise<ExecResult> {
  const ran = ctr.withExec(args, { expect: ReturnType.Any });
  try {
    const exitCode = await ran.exitCode();
    const output = await ran.combinedOutput();
    return { exitCode, output, container: ran };
  } catch (e) {
    const failed = exitOfFailedExec(e, args);
    if (!failed) throw e;
    return { exitCode: failed.exitCode, output: joinedOutput(failed), container: ctr };
  }
}

/** The last `max` lines of a long command output, for error messages that stay readable. */
export function tail(output: string, max = 60): string {
  const lines = output.trimEnd().split("\n");
  return lines.length <= max ? lines.join("\n") : ["...", ...lines.slice(-max)].join("\n");
}

/** One command's exit code and output streams. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** stdout then stderr, for a message: an exec error carries the two streams, not their interleaving. */
export function joinedOutput(r: CommandResult): string {
  return [r.stdout, r.stderr].filter((s) => s.trim() !== "").join("\n");
}

/**
 * The exit of `args` when `e` is the engine's exec error for that very command (the SDK's
 * ExecError, recognised by its name: the runtime's SDK copy does not export the class). Under
 * `expect: ANY` the engine still fails exits 128-191, i.e. a process killed by a signal (137 after
 * SIGKILL, 143 after SIGTERM): core/container.go `ReturnCodes` in v0.21.8. Reading such an exit
 * back lets the caller decide (roll back, explain) as for any other failure. The streams are the
 * engine's trimmed last 100 KiB (core/exec_error.go). Undefined for anything else, including an
 * exec error of an earlier command in the chain, which the caller must not take for this one.
 */
export function exitOfFailedExec(e: unknown, args: string[]): CommandResult | undefined {
  if (!(e instanceof Error) || e.name !== "ExecError") return undefined;
  const { cmd, exitCode, stdout, stderr } = e as Error & { cmd?: unknown; exitCode?: unknown; stdout?: unknown; stderr?: unknown };
  if (!Array.isArray(cmd) || !endsWith(cmd, args) || typeof exitCode !== "number" || exitCode < 0) return undefined;
  return { exitCode, stdout: typeof stdout === "string" ? stdout : "", stderr: typeof stderr === "string" ? stderr : "" };
}

/** `cmd` ends with `args`: under emulation the engine puts its emulator in front of the argv (core/container_exec.go). */
function endsWith(cmd: unknown[], args: string[]): boolean {
  const offset = cmd.length - args.length;
  return offset >= 0 && args.every((a, i) => cmd[offset + i] === a);
}

/**
 * Runs commands one after another, each on the container the previous one left, so the engine
 * sees them as a sequence (two identical commands, such as the rollout status before and after
 * an undo, stay two executions). Exit codes are read back, never raised: the caller decides.
 */
export class ExecSession {
  constructor(private ctr: Container) {}

  async run(args: string[]): Promise<CommandResult> {
    const ran = this.ctr.withExec(args, { expect: ReturnType.Any });
    try {
      const exitCode = await ran.exitCode();
      const stdout = await ran.stdout();
      const stderr = await ran.stderr();
      this.ctr = ran;
      return { exitCode, stdout, stderr };
    } catch (e) {
      // A refused exit leaves no container to chain on (every later exec on it would fail the
      // same way), so the next command runs on the one before; a failed exec is never cached,
      // so a repeat of the same command runs again.
      const failed = exitOfFailedExec(e, args);
      if (!failed) throw e;
      return failed;
    }
  }

  /** The container after the last command that the engine accepted, e.g. to inspect it with `terminal()`. */
  get container(): Container {
    return this.ctr;
  }
}
