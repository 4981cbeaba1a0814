/** Which kubeconfig token kubectl would send, and the checks made on the cluster's tokens (kubernetes/cluster-token.ts). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AKS_TOKEN, kubeconfigTokenProblems, kubeconfigUserToken } from "../../dagger/src/kubernetes/cluster-token.js";
import { AKS_SERVER_APP_ID } from "../../dagger/src/kubernetes/diagnose.js";
import { tokenProblem } from "../../dagger/src/credentials/jwt-claims.js";
import { AKS_AUDIENCE, inMinutes, jwt } from "../support/jwt.js";

const KUBECONFIG = `apiVersion: v1
kind: Config
current-context: prod
contexts:
  - name: prod
    context: {cluster: aks, user: deployer}
  - name: admin
    context: {cluster: aks, user: clusterAdmin}
  - name: entra
    context: {cluster: aks, user: kubelogin}
users:
  - name: deployer
    user: {token: "  TOKEN-A\\n"}
  - name: clusterAdmin
    user: {token: 0123456789abcdef0123456789abcdef}
  - name: kubelogin
    user:
      exec: {apiVersion: client.authentication.k8s.io/v1beta1, command: kubelogin, args: [get-token]}
`;

test("the user of the current context, or of --context; none for an exec plugin, an unknown context, or no context at all", () => {
  assert.equal(kubeconfigUserToken(KUBECONFIG), { user: "deployer", token: "TOKEN-A" });
  assert.equal(kubeconfigUserToken(KUBECONFIG, "admin"), { user: "clusterAdmin", token: "0123456789abcdef0123456789abcdef" });
  assert.is(kubeconfigUserToken(KUBECONFIG, "entra"), undefined);
  assert.is(kubeconfigUserToken(KUBECONFIG, "missing"), undefined);
  assert.is(kubeconfigUserToken("apiVersion: v1\nkind: Config\nusers: [{name: u, user: {token: T}}]\n"), undefined);
  for (const broken of ["", "::: not yaml [", "- a list", "null", "contexts: 3\nusers: {a: 1}\ncurrent-context: prod"]) {
    assert.is(kubeconfigUserToken(broken), undefined, broken);
  }
});

test("a JWT in the kubeconfig (a service account token) is checked for its times; a static token is left to the cluster", () => {
  const timing = { marginMs: 20 * 60_000, why: "deploy can take up to 20 min" };
  const expiring = KUBECONFIG.replace("TOKEN-A", jwt({ aud: ["https://kubernetes.default.svc"], exp: inMinutes(3) }));
  const [problem, ...more] = kubeconfigTokenProblems(expiring, undefined, timing);
  assert.match(
    problem ?? "",
    /^with-cluster --kubeconfig \(user deployer\): the token expires at .* \(in 3 min\), but deploy can take up to 20 min; get a fresh one with the command that made it/,
  );
  assert.equal(more, []);
  assert.equal(kubeconfigTokenProblems(expiring, "admin", timing), [], "another context's user");
  assert.equal(kubeconfigTokenProblems(KUBECONFIG, undefined, timing), [], "not a JWT");
  const lasting = KUBECONFIG.replace("TOKEN-A", jwt({ aud: "https://anything", exp: inMinutes(120) }));
  assert.equal(kubeconfigTokenProblems(lasting, undefined, timing), [], "any audience: the cluster's issuer");
});

test("an AKS token must be for the AKS server application", () => {
  assert.is(AKS_SERVER_APP_ID, AKS_AUDIENCE);
  assert.is(tokenProblem(jwt({ aud: AKS_AUDIENCE, exp: inMinutes(60) }), AKS_TOKEN), undefined);
  assert.is(tokenProblem(jwt({ aud: AKS_AUDIENCE.toUpperCase(), exp: inMinutes(60) }), AKS_TOKEN), undefined, "a GUID in any case");
  assert.match(
    tokenProblem(jwt({ aud: "https://management.core.windows.net/", exp: inMinutes(60) }), AKS_TOKEN)!,
    `the access token is for https://management.core.windows.net/, not AKS (${AKS_AUDIENCE}); get one with az account get-access-token --resource ${AKS_AUDIENCE} --query accessToken -o tsv`,
  );
});

test.run();
