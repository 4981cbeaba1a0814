import { argument, check, Container, Directory, func, object, Service, up } from "@dagger.io/dagger";
import { buildImage } from "./steps/build.js";
import { runAppTests } from "./steps/test.js";
import { trainSampleModel } from "./steps/train.js";

/** Paths never sent to the engine with the source directory. */
const SOURCE_IGNORE = [
  "**/node_modules",
  ".venv",
  "**/__pycache__",
  "**/.pytest_cache",
  "model/out",
  "**/*.onnx",
  "dagger/sdk",
  ".tmp",
  "bench-out",
  ".git",
];

/**
 * The CI/CD pipeline of the AI web app: test the Flask service, take a verified model,
 * build one image holding both, and run it. Every function works the same on a laptop
 * and in any CI.
 */
@object()
export class AiAppPipeline {
  source: Directory;
  revision: string;

  /**
   * @param source The repository: the app, the model code and the Kubernetes manifests (defaults to this repository).
   * @param revision The git revision being built, recorded in image labels and the model manifest (e.g. $(git rev-parse HEAD)).
   */
  constructor(
    @argument({ defaultPath: "/", ignore: SOURCE_IGNORE }) source: Directory,
    revision = "dev",
  ) {
    this.source = source;
    this.revision = revision;
  }

  /**
   * Run the app's pytest suite in a container; returns pytest's summary and fails with its output when a test fails.
   */
  @func()
  @check()
  async test(): Promise<string> {
    return runAppTests(this.source);
  }

  /**
   * Train the sample digits model (model/train.py) in a container; returns the model directory with its model.json.
   *
   * @param name Model name written to model.json.
   * @param version Semantic version written to model.json.
   */
  @func()
  trainSampleModel(name = "digits-classifier", version = "1.0.0"): Directory {
    return trainSampleModel(this.source, { name, version, revision: this.revision });
  }

  /**
   * Build the runtime image: the app plus a verified model at /models, non-root, labelled with revision and model.
   *
   * @param model Model directory holding model.json and the files it lists (defaults to a freshly trained sample model).
   */
  @func()
  async build(model?: Directory): Promise<Container> {
    return buildImage(this.source, model ?? this.trainSampleModel(), { revision: this.revision });
  }

  /**
   * Run the image the pipeline would ship as a service on port 8000 (dagger call serve up --ports 8000:8000).
   *
   * @param model Model directory holding model.json and the files it lists (defaults to a freshly trained sample model).
   */
  @func()
  @up()
  async serve(model?: Directory): Promise<Service> {
    return (await this.build(model)).asService({ useEntrypoint: true });
  }
}
