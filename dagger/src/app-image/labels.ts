/**
 * The image labels the build writes and the deploy reads back: one list of keys for both, so the
 * image and the manifests rendered for it always agree on where the model and revision live.
 */
export const IMAGE_LABELS = {
  title: "org.opencontainers.image.title",
  revision: "org.opencontainers.image.revision",
  version: "org.opencontainers.image.version",
  baseName: "org.opencontainers.image.base.name",
  source: "org.opencontainers.image.source",
  created: "org.opencontainers.image.created",
  modelName: "ai-app-pipeline.model.name",
  modelVersion: "ai-app-pipeline.model.version",
  modelSha256: "ai-app-pipeline.model.sha256",
  /** Who signed the model ("key sha256:<public key fingerprint>"); only on images whose model signature was verified. */
  modelSigner: "ai-app-pipeline.model.signer",
} as const;
