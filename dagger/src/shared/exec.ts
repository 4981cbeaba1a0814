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
