/**
 * The pinned Python toolbox shared by the app's test, training and build steps and the model
 * store's signing step (a shared helper, so that neither capability imports the other for it).
 */
import { Container, dag, Directory } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";

const PIP_CACHE = "/root/.cache/pip";

/** A Python container with the pip download cache mounted (never part of any image layer). */
export function pythonWithPipCache(): Container {
  return dag
    .container()
    .from(IMAGES.python)
    .withEnvVariable("PYTHONDONTWRITEBYTECODE", "1")
    .withEnvVariable("PYTHONUNBUFFERED", "1")
    .withEnvVariable("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    .withMountedCache(PIP_CACHE, dag.cacheVolume(`pip-${IMAGES.python}`));
}

/**
 * Installs requirement files in their own layer before any source is copied, so that
 * a code change does not reinstall dependencies. `files` are paths inside `dir`.
 */
export function withRequirements(ctr: Container, dir: Directory, files: string[], into = "/tmp/req"): Container {
  const withFiles = files.reduce((c, f) => c.withFile(`${into}/${f}`, dir.file(f)), ctr);
  return withFiles.withExec(["pip", "install", "--no-compile", ...files.flatMap((f) => ["-r", `${into}/${f}`])]).withoutDirectory(into);
}

/** Drops the pip cache mount, for containers that become images. */
export function withoutPipCache(ctr: Container): Container {
  return ctr.withoutMount(PIP_CACHE);
}
