/** The app's pytest suite in a container, exactly as CI runs it. */
import { Container, Directory } from "@dagger.io/dagger";
import { execAllowingFailure, tail } from "../shared/exec.js";
import { APP_SCHEMA_PATH, modelSchema, pythonWithPipCache, withRequirements } from "./python.js";

export const APP_TEST_COMMAND = ["python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"];

/** Dependencies first (cached layer), then the app source, ready to run pytest in /src/app. */
export function appTestContainer(source: Directory): Container {
  const app = source.directory("app");
  return withRequirements(pythonWithPipCache(), app, ["requirements.txt", "requirements-dev.txt"])
    .withDirectory("/src/app", app, { exclude: ["**/__pycache__", ".pytest_cache"] })
    .withFile(`/src/app/${APP_SCHEMA_PATH}`, modelSchema()) // where the image has it too
    .withWorkdir("/src/app");
}

/** Runs the suite; resolves to pytest's summary line, rejects with pytest's output on failure. */
export async function runAppTests(source: Directory): Promise<string> {
  const { exitCode, output } = await execAllowingFailure(appTestContainer(source), APP_TEST_COMMAND);
  if (exitCode !== 0) {
    throw new Error(`app tests failed (pytest exit code ${exitCode}):\n${tail(output)}`);
  }
  return pytestSummary(output);
}

/** pytest's closing line, e.g. "42 passed in 1.20s", without its decoration. */
export function pytestSummary(output: string): string {
  const lines = output.trimEnd().split("\n").reverse();
  const line = lines.find((l) => /\b\d+ (passed|failed|errors?|skipped)\b/.test(l));
  return (line ?? lines[0] ?? "").replace(/^=+\s*|\s*=+$/g, "").trim();
}
