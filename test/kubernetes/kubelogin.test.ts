/**
 * An AKS kubeconfig from `az aks get-credentials` on an Entra ID cluster signs in through the
 * kubelogin exec plugin, which the kubectl container does not have. The real kubectl, given such a
 * kubeconfig and no kubelogin on PATH, fails in its own words; our error then says what to do.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readRevisionArgs, TOKEN_USER, tokenUserKubeconfig } from "../../dagger/src/kubernetes/commands.js";
import { kubectlSays, nextStep } from "../../dagger/src/kubernetes/decide.js";
import { credentialPluginHint } from "../../dagger/src/kubernetes/diagnose.js";
import { IMAGE, kubectl } from "../support/kubernetes.js";
import { tempDir } from "../support/temp.js";

/** The user `az aks get-credentials` writes for an Entra ID cluster (kubelogin's install hint included); the server is a closed port. */
function aksKubeconfig(command = "kubelogin"): string {
  const dir = tempDir("aks-kubeconfig-");
  const file = join(dir, "config");
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
  - name: aks-prod
    cluster: {server: "https://127.0.0.1:9", insecure-skip-tls-verify: true}
contexts:
  - name: aks-prod
    context: {cluster: aks-prod, user: clusterUser_rg_aks-prod}
current-context: aks-prod
users:
  - name: clusterUser_rg_aks-prod
    user:
      exec:
        apiVersion: client.authentication.k8s.io/v1beta1
        command: ${command}
        args: [get-token, --environment, AzurePublicCloud, --server-id, 6dae42f8-4368-4678-94ff-3960e28e3630, --login, devicecode]
        env: null
        installHint: |
          kubelogin is not installed which is required to connect to AAD enabled cluster.
          To learn more, please go to https://aka.ms/aks/kubelogin
        interactiveMode: IfAvailable
        provideClusterInfo: false
`,
  );
  writeFileSync(join(dir, "token"), "eyJ0eXAi.fake\n");
  writeFileSync(join(dir, "token-user.yaml"), tokenUserKubeconfig(join(dir, "token")));
  return file;
}

const T = { namespace: "prod" };
const run = (kubeconfig: string, args: string[]) => {
  const r = kubectl(args.slice(1), { kubeconfig });
  return { exitCode: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

test("precondition: no kubelogin on this machine's PATH (as in the kubectl container)", () => {
  assert.is(spawnSync("kubelogin", ["--version"]).error?.message.includes("ENOENT"), true, "uninstall kubelogin to run these tests");
});

test("real kubectl with a kubelogin kubeconfig: our words say kubelogin is missing and how to pass --entra-token", () => {
  const r = run(aksKubeconfig(), readRevisionArgs("ai-app", T));
  assert.is.not(r.exitCode, 0);
  assert.match(r.stderr, "exec: executable kubelogin not found", "kubectl's own words");
  const said = kubectlSays(r);
  assert.match(said, "this kubeconfig signs in with kubelogin, which is not in the kubectl container");
  assert.match(said, "with-cluster --kubeconfig file://./kubeconfig --entra-token env://AKS_TOKEN");
  assert.match(said, "az account get-access-token --resource 6dae42f8-4368-4678-94ff-3960e28e3630 --query accessToken --output tsv");
  // The deploy step's first command is where a release meets it: nothing changed, and the hint.
  const plan = { deployment: "ai-app", selector: {}, namespace: "prod", image: IMAGE, timeout: "5m" };
  const next = nextStep(plan, [{ step: "read-revision", args: readRevisionArgs("ai-app", T), result: r }]);
  assert.ok("done" in next && next.done.status === "unreachable");
  assert.match("done" in next ? next.done.message : "", "--entra-token env://AKS_TOKEN");
});

test("with --entra-token (the token user) kubelogin is never run, and no hint is given", () => {
  const kubeconfig = aksKubeconfig();
  const r = run(`${kubeconfig}:${join(kubeconfig, "..", "token-user.yaml")}`, readRevisionArgs("ai-app", { ...T, token: true }));
  assert.is.not(r.exitCode, 0);
  assert.match(r.stderr, /127\.0\.0\.1:9.*(connection refused|connect)/);
  assert.not.match(r.stderr, "kubelogin");
  assert.is(credentialPluginHint(r.stderr), undefined);
  assert.not.match(kubectlSays(r), "entra-token");
  assert.ok(readRevisionArgs("ai-app", { ...T, token: true }).includes(`--user=${TOKEN_USER}`));
});

test("another missing credential plugin is named, with what works instead", () => {
  assert.ok(spawnSync("aws-iam-authenticator", ["version"]).error, "precondition: no aws-iam-authenticator on PATH");
  const r = run(aksKubeconfig("aws-iam-authenticator"), readRevisionArgs("ai-app", T));
  assert.match(r.stderr, "exec: executable aws-iam-authenticator not found");
  assert.match(
    kubectlSays(r),
    'this kubeconfig signs in with the exec plugin "aws-iam-authenticator", which is not in the kubectl container',
  );
  assert.is(credentialPluginHint("error: You must be logged in to the server (Unauthorized)"), undefined);
});

test.run();
