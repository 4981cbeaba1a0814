/**
 * Exec failures as the engine reports them, for recorded-graph tests. The engine answers a failed
 * exec with a GraphQL error whose extensions say `_type: "EXEC_ERROR"` with the command, exit code
 * and streams (core/exec_error.go `Extensions` in v0.21.8); the SDK turns that into its ExecError
 * (`dist/src/common/graphql/compute_query.js`). A responder throws `execFailure(...)` and the fake
 * engine sends it in that shape.
 */

export interface ExecFailure {
  cmd: string[];
  exitCode: number;
  stdout?: string;
  stderr?: string;
}

/** Throw this from a responder to answer the query as the engine answers a failed exec. */
export function execFailure(f: ExecFailure): Error {
  const { cmd, exitCode, stdout = "", stderr = "" } = f;
  return Object.assign(new Error(`process "${cmd.join(" ")}" did not complete successfully: exit code: ${exitCode}`), {
    extensions: { _type: "EXEC_ERROR", cmd, exitCode, stdout, stderr },
  });
}
