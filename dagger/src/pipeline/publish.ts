/**
 * `publish`: names checked, credentials ready, tests passed, model verified, image built, then
 * pushed under its tags and returned by digest.
 */
import { Directory, Secret } from "@dagger.io/dagger";
import { BuildOptions, checkCreated, runtimeImage, verifyModelDirectory } from "../build/image.js";
import { runAppTests } from "../build/test.js";
import { RegistryAuth } from "../registry/auth.js";
import { HttpOptions } from "../registry/http.js";
import { buildTags, channelTag, checkRepository, parseRegistry, revisionTag } from "../registry/names.js";
import { Published, pushTags, registryLogin } from "../registry/push.js";

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
