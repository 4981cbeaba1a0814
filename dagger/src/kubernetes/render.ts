/**
 * Rendering k8s/ for one image: the image by digest, the namespace, and annotations that say
 * which git revision and which model are running. Pure: strings in, strings out, comments kept.
 */
import { Document, isMap, isScalar, isSeq, Pair, Scalar, YAMLMap } from "yaml";
import { documentText, ManifestFile, parseManifests, stringScalar, formatViolation } from "./documents.js";
import { AZURE_DNS_LABEL_ANNOTATION, checkDnsLabel } from "./dns-label.js";

/** Where an image came from: read from its labels (see `imageMetadataFromLabels`). */
export interface ImageMetadata {
  /** Git revision the image was built from. */
  revision?: string;
  model?: { name: string; version: string; sha256: string };
  /** Who signed the model, when its signature was verified at build time ("key sha256:<fingerprint>"). */
  signer?: string;
}

export interface RenderOptions {
  /** The image as a digest reference, `registry/repo@sha256:<64 hex>` (validation refuses anything else). */
  image: string;
  /** Namespace set on every object. */
  namespace: string;
  metadata?: ImageMetadata;
  /** Overrides the Deployment's replica count. */
  replicas?: number;
  /** Name of the app container whose image is set (default `app`). */
  container?: string;
  /** An Azure DNS label for the Service's public IP (AKS: <label>.<region>.cloudapp.azure.com). */
  dnsLabel?: string;
}

/** The container in k8s/deployment.yaml that runs the app. */
export const APP_CONTAINER = "app";

/** Annotations the renderer writes on the Deployment and on its pod template. */
export const ANNOTATIONS = {
  revision: "ai-app-pipeline/git-revision",
  modelName: "ai-app-pipeline/model-name",
  modelVersion: "ai-app-pipeline/model-version",
  modelSha256: "ai-app-pipeline/model-sha256",
  modelSigner: "ai-app-pipeline/model-signer",
  image: "ai-app-pipeline/image",
  /** Shown by `kubectl rollout history`. */
  changeCause: "kubernetes.io/change-cause",
} as const;

export class RenderError extends Error {
  override name = "RenderError";
}

/** Metadata from image labels; empty labels (absent) are left out. */
export function imageMetadataFromLabels(
  labels: Partial<Record<"revision" | "modelName" | "modelVersion" | "modelSha256" | "modelSigner", string | undefined>>,
): ImageMetadata {
  const clean = (s?: string) => (s && s.trim() ? s.trim() : undefined);
  const [name, version, sha256] = [clean(labels.modelName), clean(labels.modelVersion), clean(labels.modelSha256)];
  const [revision, signer] = [clean(labels.revision), clean(labels.modelSigner)];
  return {
    ...(revision ? { revision } : {}),
    ...(name && version && sha256 ? { model: { name, version, sha256 } } : {}),
    ...(name && version && sha256 && signer ? { signer } : {}),
  };
}

/** The annotations for an image and its metadata, in a stable order. */
export function renderAnnotations(image: string, metadata: ImageMetadata = {}): Record<string, string> {
  const a: Record<string, string> = { [ANNOTATIONS.image]: image };
  if (metadata.revision) a[ANNOTATIONS.revision] = metadata.revision;
  if (metadata.model) {
    a[ANNOTATIONS.modelName] = metadata.model.name;
    a[ANNOTATIONS.modelVersion] = metadata.model.version;
    a[ANNOTATIONS.modelSha256] = metadata.model.sha256;
    if (metadata.signer) a[ANNOTATIONS.modelSigner] = metadata.signer;
  }
  return a;
}

/** One line for `kubectl rollout history`: what this revision runs. */
export function changeCause(image: string, metadata: ImageMetadata = {}): string {
  const parts = [`ai-app-pipeline deployed ${image}`];
  if (metadata.model) parts.push(`model ${metadata.model.name} ${metadata.model.version}`);
  if (metadata.revision) parts.push(`revision ${metadata.revision}`);
  return parts.join(", ");
}

/**
 * Renders every file. Throws `RenderError` when a file is not YAML, when there is no Deployment
 * or no container named `app` to put the image in, or when `replicas` is not a whole number.
 * Whether the result is acceptable is `validateManifests`'s job.
 */
export function renderManifests(files: ManifestFile[], opts: RenderOptions): ManifestFile[] {
  const container = opts.container ?? APP_CONTAINER;
  if (opts.replicas != null && (!Number.isInteger(opts.replicas) || opts.replicas < 0)) {
    throw new RenderError(`replicas must be a whole number, got ${opts.replicas}`);
  }
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(opts.namespace) || opts.namespace.length > 63) {
    throw new RenderError(`namespace "${opts.namespace}" is not a valid namespace name (lowercase letters, digits and '-', at most 63)`);
  }
  if (opts.dnsLabel !== undefined) checkDnsLabel(opts.dnsLabel);
  const { docs, violations } = parseManifests(files);
  if (violations.length) throw new RenderError(`cannot render the manifests:\n${violations.map(formatViolation).join("\n")}`);

  let imagesSet = 0;
  let labelled = 0;
  const byFile = new Map<string, Document[]>();
  for (const { file, doc, object } of docs) {
    const kind = (object as { kind?: unknown }).kind;
    if (!isMap(doc.contents)) throw new RenderError(`${file}: a document is not a mapping (a Kubernetes object)`);
    setNamespace(doc, opts.namespace);
    if (kind === "Service" && opts.dnsLabel && (object as { spec?: { type?: unknown } }).spec?.type === "LoadBalancer") {
      setStringEntries(doc, ["metadata", "annotations"], { [AZURE_DNS_LABEL_ANNOTATION]: opts.dnsLabel });
      labelled++;
    }
    if (kind === "Deployment") {
      if (opts.replicas != null) doc.setIn(["spec", "replicas"], opts.replicas);
      imagesSet += setContainerImage(doc, container, opts.image);
      const annotations = renderAnnotations(opts.image, opts.metadata);
      setStringEntries(doc, ["metadata", "annotations"], {
        ...annotations,
        [ANNOTATIONS.changeCause]: changeCause(opts.image, opts.metadata),
      });
      // On the pod template too: a different model or revision changes the template, so the
      // pods roll, and each pod says what it runs.
      setStringEntries(doc, ["spec", "template", "metadata", "annotations"], annotations);
    }
    byFile.set(file, [...(byFile.get(file) ?? []), doc]);
  }
  if (imagesSet === 0) {
    throw new RenderError(
      `no Deployment with a container named "${container}" to set the image in (looked in ${files.map((f) => f.path).join(", ")})`,
    );
  }
  if (opts.dnsLabel && !labelled) {
    throw new RenderError(
      `--dns-label needs a Service of type LoadBalancer to label (its public IP gets the name); none in ${files.map((f) => f.path).join(", ")}`,
    );
  }
  return files.map((f) => {
    const rendered = byFile.get(f.path);
    return { path: f.path, text: rendered ? joinRendered(rendered) : f.text };
  });
}

/** Sets metadata.namespace, right after metadata.name where a reader looks for it. */
function setNamespace(doc: Document, namespace: string): void {
  const meta = doc.get("metadata", true);
  if (!isMap(meta)) {
    doc.setIn(["metadata", "namespace"], stringScalar(namespace));
    return;
  }
  if (meta.has("namespace")) {
    meta.set("namespace", stringScalar(namespace));
    return;
  }
  const at = meta.items.findIndex((p) => isScalar(p.key) && p.key.value === "name");
  meta.items.splice(at + 1, 0, new Pair(new Scalar("namespace"), stringScalar(namespace)));
}

function setContainerImage(doc: Document, container: string, image: string): number {
  const containers = doc.getIn(["spec", "template", "spec", "containers"], true);
  if (!isSeq(containers)) return 0;
  let n = 0;
  for (const c of containers.items) {
    if (isMap(c) && c.get("name") === container) {
      c.set("image", stringScalar(image));
      n++;
    }
  }
  return n;
}

/** Sets string entries (labels, annotations) in the map at `path`, creating the map when it is missing. */
export function setStringEntries(doc: Document, path: string[], values: Record<string, string>): void {
  let map = doc.getIn(path, true);
  if (!isMap(map)) {
    map = new YAMLMap();
    doc.setIn(path, map);
  }
  for (const [k, v] of Object.entries(values)) (map as YAMLMap).set(k, stringScalar(v));
}

function joinRendered(docs: Document[]): string {
  return docs
    .map((d, i) => {
      const text = documentText(d);
      return i === 0 || text.startsWith("---") ? text : `---\n${text}`;
    })
    .join("");
}
