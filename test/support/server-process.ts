/**
 * A server process a test file starts (Azurite, docker-registry) lives only as long as the test
 * process, and never keeps it alive: a failed `before` hook skips uvu's `after`, which would have
 * stopped it, and a forgotten child with open pipes held the whole suite open after its summary.
 * It is killed when the test process exits.
 */
import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";

export interface TiedProcess {
  /** For a clean stop: keeps the test process alive again until the child has exited. */
  release(): void;
}

export function tiedToTestProcess(child: ChildProcess): TiedProcess {
  const pipes = [child.stdin, child.stdout, child.stderr] as (Socket | null)[];
  child.unref();
  for (const pipe of pipes) pipe?.unref();
  const kill = () => child.kill("SIGKILL");
  process.once("exit", kill);
  return {
    release() {
      process.off("exit", kill);
      child.ref();
      for (const pipe of pipes) pipe?.ref();
    },
  };
}
