/** The app's pytest suite in a container, exactly as CI runs it. */
import { Container, Directory } from "@dagger.io/dagger";
import { exitOfFailedExec, joinedOutput, tail } from "../shared/exec.js";
import { APP_SCHEMA_PATH, modelSchema } from "./model-schema.js";
import { pythonWithPipCache, withRequirements } from "../shared/python.js";

export const APP_TEST_COMMAND = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"];

/** Dependencies first (cached layer), then the app source, ready to run pytest in /src/app. */
export function appTestContainer(source: Directory): Container {
  const app = source.directory("app");
  return withRequirements(pythonWithPipCache(), app, ["requirements.txt", "requirements-dev.txt"])
    .withDirectory("/src/app", app, { exclude: ["**/__pycache__", ".pytest_cache"] })
    .withFile(`/src/app/${APP_SCHEMA_PATH}`, modelSchema()) // where the image has it too
    .withWorkdir("/src/app");
}

/**
 * Runs the suite; resolves to pytest's summary line, rejects with pytest's output on failure.
 * pytest must exit 0 (the default `expect`), so a failing run is an exec error, not a result: a
 * failed exec stays unevaluated (core/lazy_state.go, dagql/cache.go `evaluateOne` in v0.21.8)
 * and the next run runs pytest again. Under `expect: ANY` a failing run was a cached, persisted
 * result that every later run with the same source replayed, flaky failures included.
 */
export async function runAppTests(source: Directory): Promise<string> {
  try {
    return pytestSummary(await appTestContainer(source).withExec(APP_TEST_COMMAND).combinedOutput());
  } catch (e) {
    const failed = exitOfFailedExec(e, APP_TEST_COMMAND);
    if (!failed) throw e; // not pytest's own exit (e.g. pip install failed): the engine's error says what
    throw new Error(`app tests failed (pytest exit code ${failed.exitCode}):\n${tail(joinedOutput(failed))}`, { cause: e });
  }
}

/** pytest's closing line, e.g. "42 passed in 1.20s", without its decoration. */
export function pytestSummary(output: string): string {
  const lines = output.trimEnd().split("\n").reverse();
  const line = lines.find((l) => /\b\d+ (passed|failed|errors?|skipped)\b/.test(l));
  return (line ?? lines[0] ?? "").replace(/^=+\s*|\s*=+$/g, "").trim();
}
