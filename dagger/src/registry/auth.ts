/**
 * Registry auth modes, chosen from the function's arguments: exactly one complete mode or a
 * clear error naming what is missing or conflicting. Generic over the secret type, so the
 * Dagger layer passes Dagger `Secret`s and tests pass plain strings; no secret is read here.
 */
import { AccessTokenSource } from "./acr.js";

export class RegistryAuthError extends Error {
  override name = "RegistryAuthError";
}

export interface RegistryAuthArgs<S> {
  /** ACR admin user name, or a service principal's application (client) id. */
  username?: string;
  /** The admin password or the service principal's client secret. */
  password?: S;
  /** A Microsoft Entra ID access token, exchanged for an ACR refresh token. */
  entraToken?: S;
  /** Tenant for the exchange (defaults to the token's `tid` claim). */
  tenant?: string;
}

export type RegistryAuth<S> =
  /** An open registry (or one that grants anonymous pulls). */
  | { kind: "anonymous" }
  /** Username + password: ACR admin user, service principal id/secret, any htpasswd registry. */
  | { kind: "basic"; username: string; password: S }
  /** Entra ID: a token given directly, or a TokenCredential-like source asked for one. */
  | { kind: "entra"; token: S | AccessTokenSource; tenant?: string };

const nonEmpty = (s?: string): s is string => s !== undefined && s.trim() !== "";

/** Picks the auth mode the arguments describe; throws when they are incomplete or mixed. */
export function selectRegistryAuth<S>(args: RegistryAuthArgs<S>): RegistryAuth<S> {
  const hasUser = nonEmpty(args.username);
  const hasPassword = args.password !== undefined && args.password !== null;
  const hasEntra = args.entraToken !== undefined && args.entraToken !== null;
  if ((hasUser || hasPassword) && hasEntra) {
    throw new RegistryAuthError(
      "registry auth: --username/--password and --entra-token are two different ways to log in; pass one of them",
    );
  }
  if (hasUser && !hasPassword) {
    throw new RegistryAuthError(
      "registry auth: --username needs --password (a secret such as env://ACR_PASSWORD: the admin password or the service principal's client secret)",
    );
  }
  if (hasPassword && !hasUser) {
    throw new RegistryAuthError(
      "registry auth: --password needs --username (the ACR admin user name or the service principal's application id)",
    );
  }
  if (nonEmpty(args.tenant) && !hasEntra) {
    throw new RegistryAuthError("registry auth: --tenant-id only applies with --entra-token");
  }
  if (nonEmpty(args.tenant) && !/^[0-9a-fA-F-]{36}$|^[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/.test(args.tenant)) {
    throw new RegistryAuthError(
      `registry auth: --tenant-id ${JSON.stringify(args.tenant)} is neither a tenant id (GUID) nor a domain name`,
    );
  }
  if (hasEntra) return { kind: "entra", token: args.entraToken as S, ...(nonEmpty(args.tenant) ? { tenant: args.tenant } : {}) };
  if (hasUser) return { kind: "basic", username: args.username!.trim(), password: args.password as S };
  return { kind: "anonymous" };
}

/** A one-line, secret-free description of the mode, for logs and errors. */
export function describeAuth<S>(auth: RegistryAuth<S>): string {
  switch (auth.kind) {
    case "anonymous":
      return "no credentials";
    case "basic":
      return `user ${auth.username}`;
    case "entra":
      return `Entra ID token${auth.tenant ? ` (tenant ${auth.tenant})` : ""} exchanged for an ACR refresh token`;
  }
}
