/** Sources of a federated (workload identity) token, read when a sign-in needs one. */
import { readFile } from "node:fs/promises";
import { CredentialError } from "./auth-mode.js";

/** Reads a federated token from `path` on every call, since the file is rotated under us. */
export function tokenFromFile(path: string): () => Promise<string> {
  return async () => {
    let token: string;
    try {
      token = (await readFile(path, "utf8")).trim();
    } catch (e) {
      throw new CredentialError(
        `cannot read the federated token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    if (!token) throw new CredentialError(`the federated token file ${path} is empty`);
    return token;
  };
}

/** A fixed federated token (e.g. Azure DevOps' short-lived `idToken`). */
export function fixedToken(token: string): () => Promise<string> {
  return () => Promise.resolve(token);
}
