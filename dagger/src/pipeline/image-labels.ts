/** Reading a published image's model labels from its registry with the pipeline's own credentials. */
import { dag } from "@dagger.io/dagger";
import { registryImageMetadata } from "../kubernetes/deploy.js";
import { ImageMetadata } from "../kubernetes/render.js";
import { RegistryTarget } from "../registry/settings.js";
import { registryLogin } from "../registry/push.js";

/** The engine reads the labels with the same credentials as the digest lookup (withRegistryAuth when there is a login). */
export async function registryLabelReader(r: RegistryTarget): Promise<(image: string) => Promise<ImageMetadata>> {
  const login = await registryLogin(r.registry, r.auth);
  const base = login ? dag.container().withRegistryAuth(`${r.registry}/${r.repository}`, login.username, login.secret) : dag.container();
  return (image) => registryImageMetadata(image, base);
}
