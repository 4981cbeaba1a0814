/** The data-science stream in miniature: train the sample digits model in a container. */
import { Directory } from "@dagger.io/dagger";
import { pythonWithPipCache, withRequirements } from "./python.js";

export interface TrainOptions {
  name: string;
  version: string;
  revision: string;
}

export const TRAINED_MODEL_DIR = "/out/model";

/** The version the sample model is trained as, unless told otherwise (and what the embedded default publishes). */
export const SAMPLE_MODEL_VERSION = "1.0.0";

export function trainedSampleModel(source: Directory, opts: TrainOptions): Directory {
  const model = source.directory("model");
  return withRequirements(pythonWithPipCache(), model, ["requirements.txt"])
    .withDirectory("/src/model", model, { exclude: ["out", "tests", "**/__pycache__"] })
    .withWorkdir("/src")
    .withExec([
      "python", "model/train.py",
      "--out", TRAINED_MODEL_DIR,
      "--name", opts.name,
      "--version", opts.version,
      ...(/^[0-9a-f]{7,40}$/.test(opts.revision) ? ["--source-commit", opts.revision] : []),
    ])
    .directory(TRAINED_MODEL_DIR);
}
