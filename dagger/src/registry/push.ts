/**
 * Pushing to a registry over HTTPS (ACR): the login for `withRegistryAuth`, every tag pushed with
 * `Container.publish` and required to land on one digest, and tag -> digest for the nightly
 * release. Credentials enter the engine only as Secrets.
 */
import { Container, dag, Secret } from "@dagger.io/dagger";
import { AccessTokenSource, entraTokenFor, exchangeEntraToken } from "./acr.js";
import { RegistryAuth } from "./auth.js";
import { ACR_REFRESH_TOKEN_USER, RegistryCredentials, resolveDigest } from "./client.js";
import { HttpOptions } from "./http.js";
import { checkRepository, checkTag, parseRegistry } from "./names.js";

export interface Published {
  /** `registry/repository@sha256:...` */
  reference: string;
  digest: string;
  /** Every tag pushed, all pointing at `digest`. */
  tags: string[];
}

/** The user name and Secret for `withRegistryAuth`, or undefined for an open registry. */
export async function registryLogin(
  registry: string,
  auth: RegistryAuth<Secret>,
  http?: HttpOptions,
): Promise<{ username: string; secret: Secret } | undefined> {
  switch (auth.kind) {
    case "anonymous":
      return undefined;
    case "basic":
      return { username: auth.username, secret: auth.password };
    case "entra": {
      const refresh = await exchangeEntraToken(registry, await entraToken(auth.token), {
        ...(auth.tenant ? { tenant: auth.tenant } : {}),
        ...(http ? { http } : {}),
      });
      // The refresh token is minted here, in module code; it enters the engine once, as a Secret.
      return { username: ACR_REFRESH_TOKEN_USER, secret: dag.setSecret(`acr-refresh-token-${registry}`, refresh) };
    }
  }
}

/**
 * Both sides of one sign-in: the engine's login (`withRegistryAuth`) and the OCI API client's
 * credentials, from one exchange when the sign-in is an Entra token.
 */
export async function registryAccess(
  registry: string,
  auth: RegistryAuth<Secret>,
  http?: HttpOptions,
): Promise<{ login?: { username: string; secret: Secret }; credentials: RegistryCredentials }> {
  if (auth.kind !== "entra") {
    const login = await registryLogin(registry, auth, http);
    return { ...(login ? { login } : {}), credentials: await apiCredentials(registry, auth, http) };
  }
  const refreshToken = await exchangeEntraToken(registry, await entraToken(auth.token), {
    ...(auth.tenant ? { tenant: auth.tenant } : {}),
    ...(http ? { http } : {}),
  });
  return {
    login: { username: ACR_REFRESH_TOKEN_USER, secret: dag.setSecret(`acr-refresh-token-${registry}`, refreshToken) },
    credentials: { kind: "acr-refresh-token", refreshToken },
  };
}

/** Credentials for the OCI distribution API (plain values, used only in HTTP headers/forms). */
export async function apiCredentials(registry: string, auth: RegistryAuth<Secret>, http?: HttpOptions): Promise<RegistryCredentials> {
  switch (auth.kind) {
    case "anonymous":
      return { kind: "anonymous" };
    case "basic":
      return { kind: "basic", username: auth.username, password: await auth.password.plaintext() };
    case "entra": {
      const refreshToken = await exchangeEntraToken(registry, await entraToken(auth.token), {
        ...(auth.tenant ? { tenant: auth.tenant } : {}),
        ...(http ? { http } : {}),
      });
      return { kind: "acr-refresh-token", refreshToken };
    }
  }
}

async function entraToken(token: Secret | AccessTokenSource): Promise<string> {
  return isTokenSource(token) ? entraTokenFor(token) : (await token.plaintext()).trim();
}

function isTokenSource(t: Secret | AccessTokenSource): t is AccessTokenSource {
  return typeof (t as Partial<AccessTokenSource>).getToken === "function";
}

const DIGEST_SUFFIX = /@(sha256:[0-9a-f]{64})$/;

/**
 * Pushes `image` (over HTTPS: see push-tarball.ts for a plain-HTTP registry service) under every
 * tag, in order; all must land on one digest. `before` runs just before each tag is pushed, with
 * the digest the earlier tags landed on (undefined for the first), and may refuse it by throwing
 * (the tags pushed until then stay).
 */
export async function pushTags(
  image: Container,
  target: { registry: string; repository: string },
  tags: string[],
  before: (tag: string, digestSoFar: string | undefined) => Promise<void> = async () => undefined,
): Promise<Published> {
  const digests = new Set<string>();
  for (const tag of tags) {
    await before(tag, [...digests][0]);
    const address = `${target.registry}/${target.repository}:${checkTag(tag)}`;
    const pushed = await image.publish(address);
    const digest = DIGEST_SUFFIX.exec(pushed)?.[1];
    if (!digest) throw new Error(`publishing ${address} returned ${JSON.stringify(pushed)}, which has no sha256 digest`);
    digests.add(digest);
  }
  if (digests.size !== 1) {
    throw new Error(
      `the tags ${tags.join(", ")} of ${target.registry}/${target.repository} were pushed with different digests: ${[...digests].join(", ")}`,
    );
  }
  const [digest] = [...digests] as [string];
  return { reference: `${target.registry}/${target.repository}@${digest}`, digest, tags };
}

/** `registry/repository@sha256:...` for a tag, through the OCI API (never cached: tags move). */
export async function resolveTagDigest(
  target: { registry: string; repository: string; tag: string },
  auth: RegistryAuth<Secret>,
  http?: HttpOptions,
): Promise<string> {
  parseRegistry(target.registry);
  checkRepository(target.repository, target.registry);
  checkTag(target.tag);
  const credentials = await apiCredentials(target.registry, auth, http);
  return (await resolveDigest(target, credentials, http)).reference;
}
