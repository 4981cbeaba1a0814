/**
 * `publish`: names checked, credentials ready, tests passed, model verified, image built, then
 * pushed under its tags and returned by digest.
 */
import { Directory, File, Secret } from "@dagger.io/dagger";
import { BuildOptions, checkCreated, runtimeImage, verifyModelDirectory } from "../build/image.js";
import { runAppTests } from "../build/test.js";
import { RegistryAuth } from "../registry/auth.js";
import { HttpOptions } from "../registry/http.js";
import { buildTags, channelTag, checkRepository, parseRegistry, revisionTag } from "../registry/names.js";
import { Published, pushTags, registryLogin } from "../registry/push.js";
import { RegistryTarget } from "../registry/settings.js";
import { fetchModelDirectory, StoreTarget } from "../model-store/step.js";
import { withVerifiedSignature } from "../model-store/signing.js";
import { DEFAULT_MODEL_NAME } from "../model-store/layout.js";

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
  /** HTTP settings for the ACR token exchange. */
  http?: HttpOptions;
}

/** Everything checkable without the engine: registry, repository, the revision and channel tags, created. */
export function checkPublishTarget(target: PublishTarget & { revision: string; created?: string }): void {
  parseRegistry(target.registry);
  checkRepository(target.repository, target.registry);
  revisionTag(target.revision);
  channelTag(target.channel);
  if (target.created !== undefined) checkCreated(target.created);
}

/**
 * test -> verify model -> build -> push (revision, model version and channel tags).
 * Names and auth are checked, and an Entra token exchanged, before the tests start.
 */
export async function publishImage(source: Directory, model: Directory, opts: ImagePublishOptions): Promise<Published> {
  checkPublishTarget({
    ...opts,
    revision: opts.build.revision,
    ...(opts.build.created !== undefined ? { created: opts.build.created } : {}),
  });
  const login = await registryLogin(opts.registry, opts.auth, opts.http);
  await runAppTests(source);
  const manifest = await verifyModelDirectory(model);
  const tags = buildTags({ revision: opts.build.revision, modelVersion: manifest.version, channel: opts.channel });
  let image = runtimeImage(source, model, manifest, opts.build);
  // The full image address (not the bare host): the engine derives the registry host from it the same way for any host form.
  if (login) image = image.withRegistryAuth(`${opts.registry}/${opts.repository}`, login.username, login.secret);
  return pushTags(image, opts, tags);
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

export interface PublishSources {
  source: Directory;
  build: BuildOptions;
  registry: RegistryTarget;
  channel?: string | undefined;
  /** A model directory given with --model; otherwise the store's latest release. */
  model?: Directory;
  store?: StoreTarget;
  /** The signer's public key: the model's signature is then checked before anything is built from it. */
  publicKey?: File | undefined;
}

/** `publish`: refuse an incomplete push before anything runs, then take the model and push. */
export async function publishFromSources(p: PublishSources): Promise<Published> {
  checkRemotePublish({
    where: `${p.registry.registry}/${p.registry.repository}`,
    revision: p.build.revision,
    channel: p.channel,
    model: p.model ? "directory" : p.store ? "store" : undefined,
  });
  const given = p.model ?? (await fetchModelDirectory(p.store!, DEFAULT_MODEL_NAME, "latest"));
  const what = p.model ? "the --model directory" : `${DEFAULT_MODEL_NAME} latest`;
  const { directory: model, signer } = await withVerifiedSignature(p.source, given, p.publicKey, what);
  const build = signer ? { ...p.build, modelSigner: signer } : p.build;
  return publishImage(p.source, model, { ...p.registry, channel: p.channel!, build });
}
