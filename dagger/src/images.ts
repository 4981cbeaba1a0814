/**
 * Every container image the pipeline runs, in one place, each at an exact version tag.
 * Digests are not pinned here because none could be verified from where this was written;
 * pin them (`name:tag@sha256:...`) once resolved against the real registries.
 */
export const IMAGES = {
  /** App runtime, test runner and model training (same Python minor as the app's wheels). */
  python: "python:3.11.11-slim-bookworm",
  /** Runs the model-store command (Azure SDK needs Node >= 22). */
  node: "node:24.11.1-bookworm-slim",
  /** kubectl: distroless, no shell. Same version as the binary the tests drive (scripts/setup-kubectl.sh). */
  kubectl: "registry.k8s.io/kubectl:v1.32.3",
  /** Embedded default: Blob Storage emulator. */
  azurite: "mcr.microsoft.com/azure-storage/azurite:3.35.0",
  /** Embedded default: OCI registry. */
  registry: "registry:2.8.3",
  /**
   * Embedded default: pushes the image tarball to the plain-HTTP registry service (scratch image,
   * binary at /regctl). Same version as the binary the tests drive (scripts/setup-regctl.sh).
   */
  regctl: "ghcr.io/regclient/regctl:v0.11.7",
  /**
   * Signs images and their attestations by digest, and verifies them before a deploy (cosign v2;
   * the stand-in is built from the Go module proxy at this version).
   */
  cosign: "ghcr.io/sigstore/cosign/cosign:v2.6.5",
  /** The image's SBOM (CycloneDX) and the optional vulnerability gate. */
  trivy: "aquasec/trivy:0.74.0",
  /** Embedded default: single-node Kubernetes. */
  k3s: "rancher/k3s:v1.32.4-k3s1",
} as const;

/** Where the app lives in the runtime image, and where it reads the model from. */
export const APP_DIR = "/app";
export const MODEL_DIR = "/models";
/** Unprivileged user the runtime image runs as (numeric so `runAsNonRoot` can verify it). */
export const APP_UID = 10001;
export const APP_PORT = 8000;
