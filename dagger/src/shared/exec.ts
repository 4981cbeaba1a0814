/** Running a command whose failure we want to explain ourselves rather than as a raw exec error. */
import { Container, ReturnType } from "@dagger.io/dagger";

export interface ExecResult {
  exitCode: number;
  output: string;
  container: Container;
}

/** Runs `args` without failing the pipeline on a non-zero exit, so the caller decides. */
export async function execAllowingFailure(ctr: Container, args: string[]): Promise<ExecResult> {
  const ran = ctr.withExec(args, { expect: ReturnType.Any });
  const exitCode = await ran.exitCode();
  const output = await ran.combinedOutput();
  return { exitCode, output, container: ran };
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

/**
 * Runs commands one after another, each on the container the previous one left, so the engine
 * sees them as a sequence (two identical commands, such as the rollout status before and after
 * an undo, stay two executions). Exit codes are read back, never raised: the caller decides.
 */
export class ExecSession {
  constructor(private ctr: Container) {}

  async run(args: string[]): Promise<CommandResult> {
    const ran = this.ctr.withExec(args, { expect: ReturnType.Any });
    const exitCode = await ran.exitCode();
    const stdout = await ran.stdout();
    const stderr = await ran.stderr();
    this.ctr = ran;
    return { exitCode, stdout, stderr };
  }

  /** The container after the last command, e.g. to inspect it with `terminal()`. */
  get container(): Container {
    return this.ctr;
  }
}
