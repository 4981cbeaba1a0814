/** The runtime image: app + verified model, non-root, labelled with where both came from. */
import { Container, dag, Directory } from "@dagger.io/dagger";
import { APP_DIR, APP_PORT, APP_UID, IMAGES, MODEL_DIR } from "../images.js";
import { checksumList, MANIFEST_NAME, ModelManifest, modelDigest, parseManifest } from "../model-store/manifest.js";
import { execAllowingFailure, tail } from "../shared/exec.js";
import { IMAGE_LABELS } from "./labels.js";
import { APP_SCHEMA_PATH, modelSchema } from "./model-schema.js";
import { pythonWithPipCache, withoutPipCache, withRequirements } from "../shared/python.js";

export const GUNICORN_COMMAND = ["gunicorn", "-c", "gunicorn.conf.py", "scoring:create_app()"];

export interface BuildOptions {
  revision: string;
  /** Where the source lives (repository URL), for the OCI source label. */
  sourceUrl?: string;
  /**
   * The OCI `created` label (RFC 3339). Pass the commit time (`git log -1 --format=%cI`), not
   * the wall clock, so the label names the commit. It does not fix the image digest: the engine
   * writes snapshot creation times into the config (docs/engine-notes.md section 7).
   * Omitted from the labels when not given.
   */
  created?: string;
  /** The model's signer, set only when its signature was verified (model-store/signing.ts) before this build. */
  modelSigner?: string;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks an RFC 3339 timestamp such as 2025-01-31T12:00:00Z or 2025-01-31T13:00:00+01:00. */
export function checkCreated(value: string): string {
  if (!RFC3339.test(value) || Number.isNaN(Date.parse(value))) {
    throw new Error(
      `created ${JSON.stringify(value)} is not an RFC 3339 time such as 2025-01-31T12:00:00Z (git log -1 --format=%cI prints one)`,
    );
  }
  return value;
}

/** OCI and model labels for an image built from `revision` with `manifest`. */
export function imageLabels(manifest: ModelManifest, opts: BuildOptions): Record<string, string> {
  const labels: Record<string, string> = {
    [IMAGE_LABELS.title]: "ai-app",
    [IMAGE_LABELS.revision]: opts.revision,
    [IMAGE_LABELS.version]: `${opts.revision}+model.${manifest.version}`,
    [IMAGE_LABELS.baseName]: IMAGES.python,
    [IMAGE_LABELS.modelName]: manifest.name,
    [IMAGE_LABELS.modelVersion]: manifest.version,
    [IMAGE_LABELS.modelSha256]: modelDigest(manifest),
  };
  if (opts.sourceUrl) labels[IMAGE_LABELS.source] = opts.sourceUrl;
  if (opts.created) labels[IMAGE_LABELS.created] = checkCreated(opts.created);
  if (opts.modelSigner) labels[IMAGE_LABELS.modelSigner] = opts.modelSigner;
  return labels;
}

/**
 * Read-only for everyone (directories traversable): the app user can read the model, nobody can
 * change it. Applied on a Directory, since `Container.withDirectory` ignores `permissions` in
 * Dagger 0.21 (docs/engine-notes.md section 6); also makes the model readable whatever modes its
 * files arrived with.
 */
export const MODEL_PERMISSIONS = 0o555;

/**
 * Every file and directory of the model and app layers gets this mtime (1980-01-01, the earliest
 * a zip entry can hold): a re-fetched model or a fresh checkout then gives byte-identical layer
 * blobs, so a code-only commit uploads no model layer. The image digest is another matter: Dagger
 * 0.21 records each layer's snapshot creation time in the image config, with no source-date epoch,
 * so the digest repeats only while the engine reuses the same snapshots (docs/engine-notes.md
 * section 7).
 */
export const LAYER_MTIME = 315532800;

/** The app's code: readable and traversable by the app user, writable by nobody. */
export const APP_PERMISSIONS = 0o555;

/** Files the runtime image never needs from app/. */
const APP_EXCLUDE = ["tests", "examples", "**/__pycache__", ".pytest_cache", "requirements-dev.txt"];

/**
 * The tree copied to `/` for one layer: `path` (e.g. models) holding `dir`, with fixed mtimes on
 * every entry including `path` itself. Copying the whole new path (rather than into a directory
 * the copy creates) keeps that directory's own mtime fixed too.
 */
export function layerTree(
  path: string,
  dir: Directory,
  opts: { include?: string[]; exclude?: string[]; permissions?: number } = {},
): Directory {
  return dag.directory().withDirectory(path, dir, opts).withTimestamps(LAYER_MTIME);
}

/** Glob-escapes a manifest path so `include` matches exactly that file. */
function literalPattern(path: string): string {
  return path.replace(/[\\*?[\]]/g, "\\$&");
}

/**
 * Reads `model.json` from the model directory and checks every listed file's sha256 in a
 * throwaway container, so a bad model fails here, before anything is built.
 */
export async function verifyModelDirectory(model: Directory): Promise<ModelManifest> {
  if (!(await model.exists(MANIFEST_NAME))) {
    throw new Error(
      `the model directory has no ${MANIFEST_NAME}: pass a directory produced by model/train.py ` +
        `or fetched from the model store (it holds the model files plus ${MANIFEST_NAME})`,
    );
  }
  const manifest = parseManifest(await model.file(MANIFEST_NAME).contents(), `model directory ${MANIFEST_NAME}`);
  const check = dag
    .container()
    .from(IMAGES.python)
    .withDirectory("/check", model)
    .withNewFile("/tmp/SHA256SUMS", checksumList(manifest))
    .withWorkdir("/check");
  const { exitCode, output } = await execAllowingFailure(check, ["sha256sum", "--check", "--strict", "--quiet", "/tmp/SHA256SUMS"]);
  if (exitCode !== 0) {
    throw new Error(
      `model ${manifest.name} ${manifest.version} does not match its ${MANIFEST_NAME} ` +
        `(a file is missing or altered; re-fetch or re-train it):\n${tail(output, 20)}`,
    );
  }
  return manifest;
}

/**
 * Dependency layer, then the model, then the code with model.json's schema (a code-only commit
 * reuses the model layer and uploads nothing for it); runs as an unprivileged numeric user.
 */
export function runtimeImage(source: Directory, model: Directory, manifest: ModelManifest, opts: BuildOptions): Container {
  const app = source.directory("app");
  const code = app.withFile(APP_SCHEMA_PATH, modelSchema()); // the app refuses to start without it
  const base = withRequirements(
    pythonWithPipCache().withExec(["useradd", "--uid", String(APP_UID), "--no-create-home", "--shell", "/usr/sbin/nologin", "app"]),
    app,
    ["requirements.txt"],
  );
  // Exactly the verified files (manifest + what it lists), root-owned and read-only.
  const modelLayer = layerTree(MODEL_DIR.slice(1), model, {
    include: [MANIFEST_NAME, ...manifest.files.map((f) => literalPattern(f.path))],
    permissions: MODEL_PERMISSIONS,
  });
  const image = withoutPipCache(base)
    .withDirectory("/", modelLayer, { owner: "0:0" })
    // Fixed modes too: a checkout's modes follow the umask of the machine it was made on.
    .withDirectory("/", layerTree(APP_DIR.slice(1), code, { exclude: APP_EXCLUDE, permissions: APP_PERMISSIONS }))
    .withEnvVariable("MODEL_DIR", MODEL_DIR)
    .withEnvVariable("PORT", String(APP_PORT))
    .withEnvVariable("GIT_REVISION", opts.revision)
    .withWorkdir(APP_DIR)
    .withUser(`${APP_UID}:${APP_UID}`)
    .withExposedPort(APP_PORT)
    .withEntrypoint(GUNICORN_COMMAND);
  return Object.entries(imageLabels(manifest, opts)).reduce((c, [k, v]) => c.withLabel(k, v), image);
}

/** Verifies the model, then assembles the image. */
export async function buildImage(source: Directory, model: Directory, opts: BuildOptions): Promise<Container> {
  const manifest = await verifyModelDirectory(model);
  return runtimeImage(source, model, manifest, opts);
}
