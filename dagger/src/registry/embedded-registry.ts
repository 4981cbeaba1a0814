/**
 * The embedded default's registry: a plain OCI registry started as a Dagger service, and the push
 * into it (the image exported as a tarball and imported by regctl, every tag read back and
 * required to name one digest). Pushes to ACR keep `Container.publish` + `withRegistryAuth`
 * (push.ts).
 */
import { randomUUID } from "node:crypto";
import { Container, dag, Service } from "@dagger.io/dagger";
import { IMAGES } from "../images.js";
import { checkTag, parseRegistry } from "./names.js";
import { agreedDigest, digestArgs, importArgs, REGCTL_USER, TARBALL_PATH, TarballPush } from "./regctl.js";
import { ExecSession, tail } from "../shared/exec.js";
import type { Published } from "./push.js";

export const REGISTRY_ALIAS = "registry";
export const REGISTRY_PORT = 5000;

/** Where the embedded registry is addressed, by the push and by k3s's pulls alike. */
export const LOCAL_REGISTRY = `${REGISTRY_ALIAS}:${REGISTRY_PORT}`;

/** A plain OCI registry (HTTP, no auth): reachable only inside this Dagger session. */
export function registryService(): Service {
  return dag.container().from(IMAGES.registry).withExposedPort(REGISTRY_PORT).asService({ useEntrypoint: true });
}

/** Pushes `image` to `registry/repository` under every tag; `registryService` serves that host. */
export async function pushTarballTags(
  image: Container,
  target: { registry: string; repository: string },
  tags: string[],
  registryService: Service,
): Promise<Published> {
  const push: TarballPush = { ...target, tags: tags.map(checkTag) };
  const { host } = parseRegistry(target.registry);
  const session = new ExecSession(
    dag
      .container()
      .from(IMAGES.regctl)
      .withServiceBinding(host, registryService)
      .withMountedFile(TARBALL_PATH, image.asTarball(), { owner: REGCTL_USER })
      // The registry service is new in every run while these commands look the same: without a
      // fresh value the engine would answer them from its cache and push nothing.
      .withEnvVariable("AI_APP_PIPELINE_PUSH_RUN", randomUUID()),
  );
  const run = async (args: string[], what: string): Promise<string> => {
    const r = await session.run(args);
    if (r.exitCode !== 0) throw new Error(`${what} failed (regctl exit ${r.exitCode}):\n${tail(r.stderr, 20)}`);
    return r.stdout;
  };
  for (const tag of push.tags) await run(importArgs(push, tag), `pushing ${target.registry}/${target.repository}:${tag}`);
  const outputs: string[] = [];
  for (const tag of push.tags)
    outputs.push(await run(digestArgs(push, tag), `reading the digest of ${target.registry}/${target.repository}:${tag}`));
  const digest = agreedDigest(push, outputs);
  return { reference: `${target.registry}/${target.repository}@${digest}`, digest, tags: push.tags };
}
