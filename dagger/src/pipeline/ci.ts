/**
 * `ci`: test -> model -> build -> publish, one step in any CI. With no Azure arguments it runs
 * the embedded default instead: the sample model published into an Azurite service, the image
 * pushed to a registry service and deployed to a k3s service, then smoke-tested.
 */
import { randomUUID } from "node:crypto";
import { Directory, File, Service } from "@dagger.io/dagger";
import { deployImage, readImageMetadata } from "../kubernetes/deploy.js";
import { azuriteService } from "../model-store/azurite-service.js";
import { LOCAL_REGISTRY, pushTarballTags, registryService } from "../registry/embedded-registry.js";
import { modelDigest } from "../model-store/manifest.js";
import { RegistryTarget } from "../registry/settings.js";
import { buildTags } from "../registry/names.js";
import { BuildOptions, runtimeImage, verifyModelDirectory } from "../app-image/image.js";
import { azuriteTarget, fetchModelDirectory, publishModelDirectory, StoreTarget } from "../model-store/step.js";
import { checkPushTo, modelToBuild, publishImage } from "./publish.js";
import { SupplyChainOptions } from "../supply-chain/step.js";
import { vulnerabilityGate } from "../supply-chain/vuln-gate.js";
import { kubectlContainer } from "../kubernetes/kubectl.js";
import { kubectlOptions } from "../kubernetes/settings.js";
import { ExecSession } from "../shared/exec.js";
import { DEFAULT_CLUSTER_WAIT, waitForCluster, WaitOptions } from "../kubernetes/cluster-ready.js";
import { runAppTests } from "../app-image/test.js";
import { SAMPLE_MODEL_VERSION, trainedSampleModel } from "../app-image/train.js";
import { localCluster } from "../kubernetes/k3s.js";
import { CiReport } from "./report.js";
import { appServiceUrl } from "../kubernetes/smoke.js";

/** The repository the embedded default pushes to in its registry service. */
export const EMBEDDED_REPOSITORY = "ai-app";
/** The channel the embedded default moves when none is given. */
export const EMBEDDED_CHANNEL = "main";

export interface CiInputs {
  source: Directory;
  build: BuildOptions;
  modelName: string;
  modelVersion: string;
  prerelease: boolean;
  /** A model directory to use instead of the store's. */
  model?: Directory;
  /** The signer's public key: the model's signature is then checked before anything is built from it. */
  publicKey?: File;
  /** The Azure model store, when one was configured. */
  store?: StoreTarget;
  /** Where to publish, when a registry was configured. */
  registry?: RegistryTarget;
  /** The branch whose tag moves; required to publish to a configured registry, "main" in the embedded default. */
  channel?: string;
  /** Move the channel tag even to an image older than the one it points at. */
  force?: boolean;
  /** Vulnerability gate before the push, signing and attestations after it (configured mode). */
  supplyChain?: SupplyChainOptions;
  /** How long the embedded default waits for its k3s to take work (tests shorten it). */
  clusterWait?: WaitOptions;
}

export type CiMode = "embedded" | "configured";

/** No store, no registry and no model given: nothing is configured, so run everything locally. */
export function ciMode(i: Pick<CiInputs, "store" | "registry" | "model">): CiMode {
  return i.store || i.registry || i.model ? "configured" : "embedded";
}

export async function runCi(i: CiInputs): Promise<CiReport> {
  if (ciMode(i) === "embedded") {
    // The embedded default trains and publishes its own sample model: these would be silently ignored.
    const ignored = [
      ...(i.modelVersion !== "latest" ? ["--model-version"] : []),
      ...(i.prerelease ? ["--prerelease"] : []),
      ...(i.publicKey ? ["--public-key"] : []),
      ...(i.supplyChain?.signing ? ["with-image-signing"] : []),
      ...(i.supplyChain?.gate ? ["--fail-on-severity"] : []),
    ];
    if (ignored.length) {
      throw new Error(
        `ci: ${ignored.join(" and ")} ${ignored.length > 1 ? "apply" : "applies"} only to a model from with-store; with nothing configured, ci runs the embedded default on its freshly trained sample model. ` +
          "Configure the store (dagger call with-store ... ci ...) or drop the flag.",
      );
    }
    return embeddedCi(i);
  }
  return configuredCi(i);
}

async function configuredCi(i: CiInputs): Promise<CiReport> {
  if (!i.model && !i.store) {
    throw new Error(
      "ci: a registry was configured but no model: configure the model store first (dagger call with-store ... with-registry ... ci) or pass --model DIR",
    );
  }
  if (i.registry) checkPushTo(i.registry, i, i.channel);
  // The model first: a federated token (Azure DevOps' idToken lives 10 minutes) is used while
  // fresh. Fetching publishes nothing; the tests still run before anything is built or pushed.
  const { model, build, signer } = await modelToBuild({
    ...i,
    selector: { name: i.modelName, version: i.modelVersion, prerelease: i.prerelease },
  });
  const tests = await runAppTests(i.source);
  const manifest = await verifyModelDirectory(model);
  const modelInfo = { name: manifest.name, version: manifest.version, sha256: modelDigest(manifest), ...(signer ? { signer } : {}) };
  if (!i.registry) {
    const built = runtimeImage(i.source, model, manifest, build);
    await built.sync(); // build only (pull requests)
    const gate = i.supplyChain?.gate;
    const vulnerabilities = gate ? await vulnerabilityGate(built, gate.threshold, gate.database) : "";
    return { mode: "configured", tests, model: modelInfo, ...(vulnerabilities ? { vulnerabilities } : {}) };
  }
  const published = await publishImage(i.source, model, {
    ...i.registry,
    channel: i.channel!,
    build,
    ...(i.force ? { force: true } : {}),
    ...(i.supplyChain ? { supplyChain: i.supplyChain } : {}),
  });
  return {
    mode: "configured",
    tests,
    model: modelInfo,
    image: published.reference,
    tags: published.tags,
    ...(published.signature ? { signature: published.signature } : {}),
    ...(published.vulnerabilities ? { vulnerabilities: published.vulnerabilities } : {}),
  };
}

async function embeddedCi(i: CiInputs): Promise<CiReport> {
  const tests = await runAppTests(i.source);
  // Started explicitly so that one instance of each lives through every step of this run.
  const azurite = await azuriteService().start();
  const registry = await registryService().start();
  const started: Service[] = [azurite, registry];
  try {
    const store = azuriteTarget(azurite);
    const sample = trainedSampleModel(i.source, { name: i.modelName, version: SAMPLE_MODEL_VERSION, revision: i.build.revision });
    await publishModelDirectory(store, sample);
    const model = await fetchModelDirectory(store, i.modelName, "latest");
    const manifest = await verifyModelDirectory(model);
    const image = runtimeImage(i.source, model, manifest, i.build);
    const tags = buildTags({ revision: i.build.revision, modelVersion: manifest.version, channel: i.channel ?? EMBEDDED_CHANNEL });
    const published = await pushTarballTags(image, { registry: LOCAL_REGISTRY, repository: EMBEDDED_REPOSITORY }, tags, registry);

    const cluster = localCluster(registry);
    started.push(await cluster.service.start());
    const namespace = "default";
    // "Started" only means k3s's port accepts TCP: wait until it can take a Deployment.
    const probe = new ExecSession(kubectlContainer(cluster.access));
    await waitForCluster({ namespace, token: true }, (args) => probe.run(args), i.clusterWait ?? DEFAULT_CLUSTER_WAIT);
    const model256 = modelDigest(manifest);
    const deployed = await deployImage(cluster.access.kubeconfig, published.reference, i.source.directory("k8s"), {
      ...kubectlOptions({ access: cluster.access, namespace }),
      metadata: await readImageMetadata(image),
      smoke: { url: appServiceUrl(namespace), modelSha256: model256, runId: randomUUID().slice(0, 8) },
    });
    return {
      mode: "embedded",
      tests,
      model: { name: manifest.name, version: manifest.version, sha256: model256 },
      image: published.reference,
      tags: published.tags,
      deployed: deployed.outcome.message,
      smoke: deployed.outcome.smoke ?? "not run",
    };
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}
