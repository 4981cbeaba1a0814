/**
 * The image's SBOM: Trivy reads the built image (its OCI tarball, nothing pulled) and lists the OS
 * packages (dpkg) and Python packages (site-packages metadata) actually in it, as CycloneDX JSON.
 * The model files are not packages, so they are added here as components with their sha256 from
 * the verified model.json (the files the image holds are exactly those: app-image/image.ts).
 */
import { Container, dag, File } from "@dagger.io/dagger";
import { IMAGES, MODEL_DIR } from "../images.js";
import { ModelManifest } from "../model-store/manifest.js";

export const SBOM_IMAGE_TAR = "/work/image.tar";
/** The tarball unpacked: an OCI image layout directory, which trivy reads layer by layer by media type. */
export const SBOM_IMAGE_DIR = "/work/image";
export const SBOM_OUTPUT = "/work/sbom.cdx.json";
/** Trivy's cache: the SBOM needs no vulnerability database, so nothing is downloaded into it. */
export const TRIVY_CACHE = "/work/trivy-cache";

/** No call home from trivy: no check for a newer release, no usage report. */
export const TRIVY_QUIET = ["--skip-version-check", "--disable-telemetry", "--quiet"];

/**
 * trivy's argv for a CycloneDX SBOM of an image tarball. `--format cyclonedx` turns scanning off
 * unless `--scanners vuln` asks for it, and with scanning off no database is needed, so
 * `--skip-db-update` is allowed on an empty cache (with scanning on, trivy refuses it there).
 */
export function sbomArgs(): string[] {
  return [
    "trivy",
    "image",
    "--input",
    SBOM_IMAGE_DIR,
    "--format",
    "cyclonedx",
    "--output",
    SBOM_OUTPUT,
    "--skip-db-update",
    "--offline-scan",
    "--cache-dir",
    TRIVY_CACHE,
    ...TRIVY_QUIET,
  ];
}

/**
 * Unpacks the tarball. Trivy reads a tar through its Docker `manifest.json`, and that reader
 * (go-containerregistry's tarball) takes the first layer's compression for every layer; asTarball
 * keeps each layer as it is, so a base image pulled with uncompressed layers under gzip layers of
 * our own fails ("failed to extract the archive: unexpected EOF"). The OCI layout in the same
 * tar gives each layer's media type.
 */
export function unpackImageArgs(): string[] {
  return ["tar", "-xf", SBOM_IMAGE_TAR, "-C", SBOM_IMAGE_DIR];
}

/** The trivy container with `image` unpacked from Dagger's OCI tarball export. */
export function trivyWithImage(image: Container): Container {
  return dag
    .container()
    .from(IMAGES.trivy)
    .withUser("0:0")
    .withMountedFile(SBOM_IMAGE_TAR, image.asTarball())
    .withDirectory(SBOM_IMAGE_DIR, dag.directory())
    .withExec(unpackImageArgs())
    .withDirectory(TRIVY_CACHE, dag.directory())
    .withWorkdir("/work");
}

interface CycloneDx {
  bomFormat?: unknown;
  components?: unknown[];
  [k: string]: unknown;
}

/**
 * `sbom` (CycloneDX JSON) with the model as one machine-learning-model component and each of its
 * files as a file component with its SHA-256, at the path the image holds it. Throws when the
 * input is not a CycloneDX document.
 */
export function withModelComponents(sbom: string, manifest: Pick<ModelManifest, "name" | "version" | "files">): string {
  const doc = JSON.parse(sbom) as CycloneDx;
  if (doc.bomFormat !== "CycloneDX") throw new Error("trivy's output is not a CycloneDX document");
  const modelRef = `ai-app-model:${manifest.name}@${manifest.version}`;
  const files = manifest.files.map((f) => ({
    "bom-ref": `${modelRef}:${f.path}`,
    type: "file",
    name: `${MODEL_DIR}/${f.path}`,
    hashes: [{ alg: "SHA-256", content: f.sha256 }],
    properties: [{ name: "ai-app-pipeline:size", value: String(f.size) }],
  }));
  const model = {
    "bom-ref": modelRef,
    type: "machine-learning-model",
    name: manifest.name,
    version: manifest.version,
    properties: [{ name: "ai-app-pipeline:path", value: MODEL_DIR }],
    components: files,
  };
  return JSON.stringify({ ...doc, components: [...(doc.components ?? []), model] });
}

/** What the SBOM lists, for the report and the tests: packages by type and the model files. */
export function sbomSummary(sbom: string): { os: number; python: number; modelFiles: number } {
  const doc = JSON.parse(sbom) as CycloneDx;
  type Component = { type?: string; name?: string; purl?: string; components?: unknown[] };
  const all: Component[] = [];
  const walk = (cs: unknown[] | undefined) => {
    for (const c of cs ?? []) {
      const comp = c as Component;
      all.push(comp);
      walk(comp.components);
    }
  };
  walk(doc.components);
  return {
    os: all.filter((c) => c.purl?.startsWith("pkg:deb/")).length,
    python: all.filter((c) => c.purl?.startsWith("pkg:pypi/")).length,
    modelFiles: all.filter((c) => c.type === "file" && c.name?.startsWith(`${MODEL_DIR}/`)).length,
  };
}

/** The SBOM of `image` with the model added: its text, and a file for `cosign attest --type cyclonedx`. */
export async function imageSbom(
  image: Container,
  manifest: Pick<ModelManifest, "name" | "version" | "files">,
): Promise<{ file: File; text: string }> {
  const ran = trivyWithImage(image).withExec(sbomArgs());
  const text = withModelComponents(await ran.file(SBOM_OUTPUT).contents(), manifest);
  return { file: dag.directory().withNewFile("sbom.cdx.json", text).file("sbom.cdx.json"), text };
}
