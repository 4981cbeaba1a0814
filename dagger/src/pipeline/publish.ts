/**
 * `publish`: names checked, credentials ready, tests passed, model verified, image built, then
 * pushed under its tags and returned by digest.
 */
import { Container, dag, Directory, File, Secret } from "@dagger.io/dagger";
import { BuildOptions, checkCreated, runtimeImage, verifyModelDirectory } from "../app-image/image.js";
import { runAppTests } from "../app-image/test.js";
import { RegistryAuth } from "../registry/auth.js";
import { HttpOptions } from "../registry/http.js";
import { buildTags, channelTag, checkRepository, parseRegistry, revisionTag } from "../registry/names.js";
import { Published, pushTags, registryAccess } from "../registry/push.js";
import { modelDigest } from "../model-store/manifest.js";
import { RegistryTarget } from "../registry/settings.js";
import { fetchModelDirectory, StoreTarget } from "../model-store/step.js";
import { withVerifiedSignature } from "../model-store/signing.js";
import { DEFAULT_MODEL_NAME } from "../model-store/layout.js";
import { ChannelMoveRefused, channelMoveRefusal, readChannelImage } from "./channel-guard.js";
import { describeSigned, signPublishedImage } from "../supply-chain/sign.js";
import { vulnerabilityGate } from "../supply-chain/vuln-gate.js";
import { SupplyChainOptions } from "../supply-chain/step.js";

export interface PublishTarget {
  /** `host[:port]`, e.g. myacr.azurecr.io. */
  registry: string;
  /** e.g. ai-app. */
  repository: string;
  /** Branch name for the moving channel tag (e.g. main, refs/heads/main). */
  channel: string;
}

export interface ImagePublishOptions extends PublishTarget {
  auth: RegistryAuth<Secret>;
  build: BuildOptions;
  /** HTTP settings for the ACR token exchange and the registry API. */
  http?: HttpOptions;
  /** Move the channel tag even to an image older than the one it points at (channel-guard.ts). */
  force?: boolean;
  supplyChain?: SupplyChainOptions;
}

/** Everything checkable without the engine: registry, repository, the revision and channel tags, created. */
export function checkPublishTarget(target: PublishTarget & { revision: string; created?: string }): void {
  parseRegistry(target.registry);
  checkRepository(target.repository, target.registry);
  revisionTag(target.revision);
  channelTag(target.channel);
  if (target.created !== undefined) checkCreated(target.created);
}

/** A push and what it pushed: the tests' summary and the model inside. */
export interface PublishedImage extends Published {
  /** pytest's summary line. */
  tests: string;
  model: { name: string; version: string; sha256: string; signer?: string };
  /** The signature and attestations on the digest ("" when not signed). */
  signature: string;
  /** The vulnerability gate's verdict ("" when the gate was off). */
  vulnerabilities: string;
}

/**
 * test -> verify model -> build -> push (revision, model version and channel tags).
 * Names and auth are checked, and an Entra token exchanged, before the tests start. Just before
 * the channel tag moves, the image it points at is read: an image of an older commit never
 * replaces a newer one there unless `force` (channel-guard.ts).
 */
export async function publishImage(source: Directory, model: Directory, opts: ImagePublishOptions): Promise<PublishedImage> {
  checkPublishTarget({
    ...opts,
    revision: opts.build.revision,
    ...(opts.build.created !== undefined ? { created: opts.build.created } : {}),
  });
  const startedOn = new Date().toISOString();
  const { login, credentials } = await registryAccess(opts.registry, opts.auth, opts.http);
  const tests = await runAppTests(source);
  const manifest = await verifyModelDirectory(model);
  const tags = buildTags({ revision: opts.build.revision, modelVersion: manifest.version, channel: opts.channel });
  // The full image address (not the bare host): the engine derives the registry host from it the same way for any host form.
  const withLogin = (c: Container) => (login ? c.withRegistryAuth(`${opts.registry}/${opts.repository}`, login.username, login.secret) : c);
  const built = runtimeImage(source, model, manifest, opts.build);
  const gate = opts.supplyChain?.gate;
  const vulnerabilities = gate ? await vulnerabilityGate(built, gate.threshold, gate.database) : "";
  const image = withLogin(built);
  const channel = channelTag(opts.channel);
  const signer = opts.build.modelSigner;
  const modelInfo = { name: manifest.name, version: manifest.version, sha256: modelDigest(manifest), ...(signer ? { signer } : {}) };
  let signature = "";
  const pushed = await pushTags(image, opts, tags, async (tag, digestSoFar) => {
    if (tag !== channel) return;
    const signing = opts.supplyChain?.signing;
    if (signing) {
      // Signed before the channel moves: a failed signing leaves the channel on the image it had.
      if (!digestSoFar) throw new Error(`the channel tag ${tag} is the first tag pushed, so there is no digest to sign before it moves`);
      const signed = await signPublishedImage({
        reference: `${opts.registry}/${opts.repository}@${digestSoFar}`,
        image: built,
        manifest,
        model: modelInfo,
        signing,
        sourceUrl: opts.build.sourceUrl ?? "",
        revision: opts.build.revision,
        channel: tag,
        startedOn,
        ...(login ? { login: { registry: opts.registry, ...login } } : {}),
      });
      signature = describeSigned(signed);
    }
    const now = await readChannelImage({ ...opts, tag }, credentials, withLogin(dag.container()), opts.http);
    const next = { revision: opts.build.revision, ...(opts.build.created ? { created: opts.build.created } : {}) };
    const refusal = channelMoveRefusal(channel, now, next, opts.force ?? false);
    if (refusal) throw new ChannelMoveRefused(refusal);
  });
  return { ...pushed, tests, model: modelInfo, signature, vulnerabilities };
}

/** The constructor's revision when none is given: fine for local builds, never pushed to a remote registry. */
export const UNSET_REVISION = "dev";

export interface RemotePublish {
  /** registry/repository, for the message. */
  where: string;
  revision: string;
  channel?: string | undefined;
  /** Where the model comes from: the configured store, or a directory given with --model. */
  model?: "store" | "directory" | undefined;
}

/**
 * A push to a remote registry moves tags that releases deploy, so it must say what it ships: a
 * model from the store or --model (never the sample model), the channel it moves, and the git
 * revision it builds. Everything missing is named at once.
 */
export function checkRemotePublish(p: RemotePublish): void {
  const missing: string[] = [];
  if (!p.revision.trim() || p.revision === UNSET_REVISION)
    missing.push('the git revision it builds: start the call with dagger call --revision "$(git rev-parse HEAD)" ...');
  if (!p.channel?.trim()) missing.push('the channel tag it moves: --channel main (in Azure DevOps, --channel "$(Build.SourceBranch)")');
  if (!p.model)
    missing.push(
      "a model: configure the store (with-store ..., its latest release) or pass --model ./model/out; the sample model only goes to the embedded default (dagger call ci with nothing configured)",
    );
  if (missing.length) throw new Error(`publishing to ${p.where} needs:\n${missing.map((m) => `  - ${m}`).join("\n")}`);
}

/** Where the model to build with comes from, and the key its signature must verify with. */
export interface ModelSource {
  source: Directory;
  build: BuildOptions;
  /** A model directory given with --model; otherwise `selector` of the store. */
  model?: Directory | undefined;
  store?: StoreTarget | undefined;
  selector: { name: string; version: string; prerelease: boolean };
  /** The signer's public key: the model's signature is then checked before anything is built from it. */
  publicKey?: File | undefined;
}

/**
 * The model a build uses (the --model directory, or the store's selected version) and the build
 * options that record its signer. With a public key, the directory is the verify step's output,
 * so a refused signature stops everything built from it.
 */
export async function modelToBuild(m: ModelSource): Promise<{ model: Directory; build: BuildOptions; signer?: string }> {
  const { name, version, prerelease } = m.selector;
  const given = m.model ?? (await fetchModelDirectory(m.store!, name, version, prerelease));
  const what = m.model ? "the --model directory" : `${name} ${version}`;
  const { directory, signer } = await withVerifiedSignature(m.source, given, m.publicKey, what);
  return signer ? { model: directory, build: { ...m.build, modelSigner: signer }, signer } : { model: directory, build: m.build };
}

/** checkRemotePublish for a configured registry, with the model's origin as the build will take it. */
export function checkPushTo(
  registry: RegistryTarget,
  m: Pick<ModelSource, "build" | "model" | "store">,
  channel: string | undefined,
): void {
  checkRemotePublish({
    where: `${registry.registry}/${registry.repository}`,
    revision: m.build.revision,
    channel,
    model: m.model ? "directory" : m.store ? "store" : undefined,
  });
}

export interface PublishSources extends Omit<ModelSource, "selector"> {
  registry: RegistryTarget;
  channel?: string | undefined;
  /** Move the channel tag even to an older commit's image. */
  force?: boolean;
  supplyChain?: SupplyChainOptions | undefined;
}

/** `publish`: refuse an incomplete push before anything runs, then take the store's latest (or --model) and push. */
export async function publishFromSources(p: PublishSources): Promise<PublishedImage> {
  checkPushTo(p.registry, p, p.channel);
  const { model, build } = await modelToBuild({ ...p, selector: { name: DEFAULT_MODEL_NAME, version: "latest", prerelease: false } });
  return publishImage(p.source, model, {
    ...p.registry,
    channel: p.channel!,
    build,
    ...(p.force ? { force: true } : {}),
    ...(p.supplyChain ? { supplyChain: p.supplyChain } : {}),
  });
}
