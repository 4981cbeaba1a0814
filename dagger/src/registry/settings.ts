/** The registry the pipeline publishes to and releases from, as `with-registry` configures it. */
import { object, Secret } from "@dagger.io/dagger";
import { restoredSecret } from "../shared/object-state.js";
import { RegistryAuth, selectRegistryAuth } from "./auth.js";
import { checkRepository, ImageNameError, parseRegistry } from "./names.js";

/** The registry with-registry configured: its address, repository and one sign-in (kept for the functions after it in the chain). */
@object()
export class RegistrySettings {
  address?: string;
  repository?: string;
  username?: string;
  password?: Secret;
  entraToken?: Secret;
  tenantId?: string;
}

/** What the push and the digest lookup need: where, and one auth mode. */
export interface RegistryTarget {
  registry: string;
  repository: string;
  auth: RegistryAuth<Secret>;
}

/** `with-registry`'s arguments, each optional one possibly given as undefined. */
export interface RegistryArgs {
  address: string;
  repository: string;
  username?: string | undefined;
  password?: Secret | undefined;
  entraToken?: Secret | undefined;
  tenantId?: string | undefined;
}

/** Checks address, repository and the auth flags now, where the user typed them. */
export function registrySettings(args: RegistryArgs): RegistrySettings {
  const host = parseRegistry(args.address);
  if (host.port === undefined && !host.host.includes(".") && !host.host.startsWith("[") && host.host !== "localhost") {
    throw new ImageNameError(
      `registry ${JSON.stringify(args.address)} is a bare name, which no registry answers to: give the login server, e.g. --address ${args.address}.azurecr.io`,
    );
  }
  checkRepository(args.repository, args.address);
  const settings = Object.assign(new RegistrySettings(), args);
  registryTarget(settings);
  return settings;
}

/** The settings as a push target, Secrets typed again after a chained call. */
export function registryTarget(saved: RegistrySettings): RegistryTarget {
  const password = restoredSecret(saved.password);
  const entraToken = restoredSecret(saved.entraToken);
  const auth = selectRegistryAuth({
    ...(saved.username ? { username: saved.username } : {}),
    ...(password ? { password } : {}),
    ...(entraToken ? { entraToken } : {}),
    ...(saved.tenantId ? { tenant: saved.tenantId } : {}),
  });
  return { registry: saved.address ?? "", repository: saved.repository ?? "", auth };
}
