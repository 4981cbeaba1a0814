/** The data-science stream in miniature: train the sample digits model in a container. */
import { Directory } from "@dagger.io/dagger";
import { APP_SCHEMA_PATH, modelSchema } from "./model-schema.js";
import { pythonWithPipCache, withRequirements } from "../shared/python.js";

/** The app's model.json checker (inside app/), which model/train.py loads by path. */
const CONTRACT_PATH = "scoring/contract.py";

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
  return (
    withRequirements(pythonWithPipCache(), model, ["requirements.txt"])
      .withDirectory("/src/model", model, { exclude: ["out", "tests", "**/__pycache__"] })
      // train.py checks the model.json it writes with the app's checker, which reads the schema beside it.
      .withFile(`/src/app/${CONTRACT_PATH}`, source.file(`app/${CONTRACT_PATH}`))
      .withFile(`/src/app/${APP_SCHEMA_PATH}`, modelSchema())
      .withWorkdir("/src")
      .withExec([
        "python",
        "model/train.py",
        "--out",
        TRAINED_MODEL_DIR,
        "--name",
        opts.name,
        "--version",
        opts.version,
        ...(/^[0-9a-f]{7,40}$/.test(opts.revision) ? ["--source-commit", opts.revision] : []),
      ])
      .directory(TRAINED_MODEL_DIR)
  );
}
