/**
 * The embedded default's push: the image exported as a tarball and imported by regctl into the
 * plain-HTTP registry service, every tag read back and required to name one digest. (Pushes to
 * ACR keep `Container.publish` + `withRegistryAuth`, see publish.ts.)
 */
import { randomUUID } from "node:crypto";
import { Container, dag, ReturnType, Service } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";
import { checkTag, parseRegistry } from "../registry/names.js";
import { agreedDigest, digestArgs, importArgs, REGCTL_USER, TARBALL_PATH, TarballPush } from "../registry/tarball-push.js";
import { tail } from "./exec.js";
import type { Published } from "./publish.js";

/** Pushes `image` to `registry/repository` under every tag; `registryService` serves that host. */
export async function pushTarballTags(
  image: Container,
  target: { registry: string; repository: string },
  tags: string[],
  registryService: Service,
): Promise<Published> {
  const push: TarballPush = { ...target, tags: tags.map(checkTag) };
  const { host } = parseRegistry(target.registry);
  let ctr = dag
    .container()
    .from(IMAGES.regctl)
    .withServiceBinding(host, registryService)
    .withMountedFile(TARBALL_PATH, image.asTarball(), { owner: REGCTL_USER })
    // The registry service is new in every run while these commands look the same: without a
    // fresh value the engine would answer them from its cache and push nothing.
    .withEnvVariable("AI_APP_PIPELINE_PUSH_RUN", randomUUID());
  const run = async (args: string[], what: string): Promise<string> => {
    ctr = ctr.withExec(args, { expect: ReturnType.Any });
    const code = await ctr.exitCode();
    if (code !== 0) throw new Error(`${what} failed (regctl exit ${code}):\n${tail(await ctr.stderr(), 20)}`);
    return ctr.stdout();
  };
  for (const tag of push.tags) await run(importArgs(push, tag), `pushing ${target.registry}/${target.repository}:${tag}`);
  const outputs: string[] = [];
  for (const tag of push.tags) outputs.push(await run(digestArgs(push, tag), `reading the digest of ${target.registry}/${target.repository}:${tag}`));
  const digest = agreedDigest(push, outputs);
  return { reference: `${target.registry}/${target.repository}@${digest}`, digest, tags: push.tags };
}
