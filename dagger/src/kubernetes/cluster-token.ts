/**
 * The cluster's tokens, checked before kubectl runs (credentials/jwt-claims.ts): the Entra ID
 * access token for AKS given with `with-cluster --entra-token` (audience: the AKS server
 * application), or, without one, a JWT in the kubeconfig's user for the context in use (a
 * service account token from `kubectl create token`; its audience is the cluster's own issuer, so
 * only its times and claim types are checked). A kubeconfig user with a static token (not a JWT),
 * a token file, a client certificate or an exec plugin is left to kubectl. The plaintexts are
 * read here, in module code, only to read their claims; nothing quotes them.
 */
import { parse } from "yaml";
import { jwtClaims, TokenRule, TokenTiming, tokenProblem } from "../credentials/jwt-claims.js";
import { AKS_SERVER_APP_ID } from "./diagnose.js";
import { ClusterTarget } from "./settings.js";

/** An Entra ID access token for AKS: its audience is the AKS server application. */
export const AKS_TOKEN: TokenRule = {
  audience: { name: `AKS (${AKS_SERVER_APP_ID})`, accepts: (aud) => aud.toLowerCase() === AKS_SERVER_APP_ID },
  getOne: `az account get-access-token --resource ${AKS_SERVER_APP_ID} --query accessToken -o tsv`,
  noun: "the access token",
};

/** A token in the kubeconfig: any audience (the cluster's issuer); a new one comes from where this one came from. */
const KUBECONFIG_TOKEN: TokenRule = {
  getOne: "the command that made it (e.g. kubectl create token <service-account> --duration 2h), then write it into the kubeconfig",
};

type Named = { name?: unknown; user?: unknown; context?: unknown };
const list = (v: unknown): Named[] => (Array.isArray(v) ? v.filter((e): e is Named => e !== null && typeof e === "object") : []);

/**
 * The bearer token of the kubeconfig's user for `context` (default: current-context) and that
 * user's name; undefined when the kubeconfig does not parse, names no such context or user, or
 * the user has no inline `token`.
 */
export function kubeconfigUserToken(kubeconfig: string, context?: string): { user: string; token: string } | undefined {
  let doc: unknown;
  try {
    doc = parse(kubeconfig);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== "object") return undefined;
  const config = doc as Record<string, unknown>;
  const name = context ?? config["current-context"];
  const ctx = list(config.contexts).find((c) => c.name === name)?.context as { user?: unknown } | undefined;
  const userName = ctx?.user;
  if (typeof userName !== "string") return undefined;
  const user = list(config.users).find((u) => u.name === userName)?.user as { token?: unknown } | undefined;
  return typeof user?.token === "string" && user.token.trim() ? { user: userName, token: user.token.trim() } : undefined;
}

/**
 * What is wrong with the cluster's token for `timing`, as lines naming the flag it came with;
 * empty when nothing is. With --entra-token, kubectl uses that token and never the kubeconfig's user.
 */
export async function clusterTokenProblems(target: ClusterTarget, timing: TokenTiming): Promise<string[]> {
  const { token, kubeconfig } = target.access;
  if (token) {
    const problem = tokenProblem((await token.plaintext()).trim(), AKS_TOKEN, timing);
    return problem ? [`with-cluster --entra-token: ${problem}`] : [];
  }
  return kubeconfigTokenProblems(await kubeconfig.plaintext(), target.context, timing);
}

/** The kubeconfig user's token, when it is a JWT, checked for its times and claim types. */
export function kubeconfigTokenProblems(kubeconfig: string, context: string | undefined, timing: TokenTiming): string[] {
  const found = kubeconfigUserToken(kubeconfig, context);
  if (!found || !jwtClaims(found.token)) return [];
  const problem = tokenProblem(found.token, KUBECONFIG_TOKEN, timing);
  return problem ? [`with-cluster --kubeconfig (user ${JSON.stringify(found.user).slice(1, -1)}): ${problem}`] : [];
}
