/**
 * The commands a store message tells its reader to run, in the words of the interface they use:
 * the CLI (`alias set champion --model-version X.Y.Z`) or the Dagger module, which runs this same
 * CLI in a container with MODEL_STORE_CALLER=dagger (`set-alias --alias champion ...`).
 */
export const CALLER_ENV = "MODEL_STORE_CALLER";

export interface Hints {
  /** Point `alias` at a version. */
  setAlias(alias: string): string;
  /** Remove `alias`. */
  removeAlias(alias: string): string;
}

export const CLI_HINTS: Hints = {
  setAlias: (alias) => `alias set ${alias} --model-version X.Y.Z`,
  removeAlias: (alias) => `alias rm ${alias}`,
};

export const DAGGER_HINTS: Hints = {
  setAlias: (alias) => `set-alias --alias ${alias} --model-version X.Y.Z`,
  removeAlias: (alias) => `remove-alias --alias ${alias}`,
};

/** The caller's words: the module's when the Dagger step runs the CLI, the CLI's otherwise. */
export function hintsFor(env: NodeJS.ProcessEnv): Hints {
  return env[CALLER_ENV] === "dagger" ? DAGGER_HINTS : CLI_HINTS;
}
