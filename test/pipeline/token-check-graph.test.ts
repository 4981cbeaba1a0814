/**
 * Recorded-graph tests of the token check every function makes before anything runs: an AKS,
 * ACR or storage token that expires within the function's longest step, is not valid yet, has
 * claims of the wrong type or is for another service stops the call with one line per token,
 * before any container, kubectl command or registry request; the fake ACR shows that no request
 * left. Tokens here are unsigned JWTs: only their claims are read, as the module reads them.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { ACR_REFRESH_TOKEN_USER } from "../../dagger/src/registry/client.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import { contextDir, execArgv, queriesOutsideSetSecret, repositoryFiles } from "../support/graph.js";
import { startFakeAcr } from "../support/fake-acr.js";
import { AKS_AUDIENCE, inMinutes, jwt } from "../support/jwt.js";
import { IMAGE, REVISION } from "../support/kubernetes.js";
import { dag } from "../support/sdk.js";
import { recordGraph } from "../support/session.js";

const KUBECONFIG = "apiVersion: v1\nkind: Config\nusers:\n- name: ci\n  user:\n    token: kubeconfig-static-S3CRET\n";
const ARM = "https://management.core.windows.net/";
const STORAGE = "https://storage.azure.com";
const TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47";
/** A signature part holding a marker, to find the token in anything recorded or said. */
const MARK = "tokenplaintextS3CRET";

const pipeline = () => new AiAppPipeline(contextDir("/"), REVISION, "", "");
const aks = (token: string) => dag.setSecret("aks-token", token);
const cluster = (token?: string, kubeconfig = KUBECONFIG) =>
  pipeline().withCluster(dag.setSecret("kubeconfig", kubeconfig), "prod", undefined, token === undefined ? undefined : aks(token));
/** with-store's arguments for account acct01 and an Entra token (its 16th argument). */
const storeWithToken = (token: string): Parameters<AiAppPipeline["withStore"]> => {
  const args: unknown[] = ["models", "acct01"];
  args[13] = false;
  args[15] = dag.setSecret("store-token", token);
  return args as Parameters<AiAppPipeline["withStore"]>;
};
const signed = (claims: Record<string, unknown>) => jwt(claims, MARK);
const aksToken = (minutes: number, extra: Record<string, unknown> = {}) =>
  signed({ aud: AKS_AUDIENCE, tid: TENANT, nbf: inMinutes(-5), exp: inMinutes(minutes), ...extra });

/** Nothing ran: no container, no command, no push; only Secret plaintexts were read. */
function nothingRan(engine: FakeEngine): void {
  const ops = engine.allOps().map((o) => o.op.field);
  for (const field of ["from", "withExec", "publish", "sync", "export"]) assert.not.ok(ops.includes(field), `${field} was sent`);
  assert.equal(
    queriesOutsideSetSecret(engine).filter((q) => q.includes(MARK)),
    [],
  );
}

function refused(outcome: { engine: FakeEngine; error?: Error }, expected: RegExp): void {
  assert.ok(outcome.error, "the call was not refused");
  assert.match(outcome.error!.message, expected);
  assert.not.match(outcome.error!.message, MARK);
  nothingRan(outcome.engine);
}

test("deploy with an AKS token expiring in 2 minutes: refused before anything runs, saying how long it has left and how to get another", async () => {
  const outcome = await recordGraph(() => cluster(aksToken(2)).deploy(IMAGE));
  refused(outcome, /with-cluster --entra-token: .*expires at \d{4}-\d\d-\d\dT[^ ]* \(in 2 min\)/);
  assert.match(outcome.error!.message, /deploy .* up to 20 min/);
  assert.match(outcome.error!.message, `az account get-access-token --resource ${AKS_AUDIENCE} --query accessToken -o tsv`);
});

test("every function that reaches the cluster checks the AKS token first: expired, exp as a string, aud a list without AKS", async () => {
  const calls: [string, (p: AiAppPipeline) => Promise<unknown>][] = [
    ["deploy", (p) => p.deploy(IMAGE)],
    ["diff", (p) => p.diff(IMAGE)],
    ["status", (p) => p.status()],
    ["releases", (p) => p.releases()],
    // The token is checked before promote's and abort's own arguments are: none are needed here.
    ["promote", (p) => (p.promote as () => Promise<unknown>).call(p)],
    ["abort", (p) => p.abort()],
    ["rollback", (p) => p.rollback()],
  ];
  const tokens: [string, RegExp][] = [
    [aksToken(-10), /expired at .* \(10 min ago\)/],
    [signed({ aud: AKS_AUDIENCE, exp: String(inMinutes(60)) }), /exp claim is a string, not a number/],
    [signed({ aud: [ARM, STORAGE], exp: inMinutes(60) }), new RegExp(`is for ${ARM}, ${STORAGE}, not AKS \\(${AKS_AUDIENCE}\\)`)],
  ];
  for (const [name, call] of calls) {
    for (const [token, expected] of tokens) {
      const outcome = await recordGraph(() => call(cluster(token)));
      assert.ok(outcome.error, `${name} was not refused (${expected})`);
      refused(outcome, new RegExp(`with-cluster --entra-token: .*${expected.source}`));
    }
  }
});

test("an AKS token whose aud is a list naming the AKS server application is accepted: kubectl runs", async () => {
  const token = signed({ aud: ["https://management.core.windows.net/", AKS_AUDIENCE], exp: inMinutes(60) });
  const { engine, error } = await recordGraph(() => cluster(token).status(), { respond: repositoryFiles });
  assert.not.match(String(error ?? ""), /entra-token/);
  assert.ok(
    engine.find("withExec").some((e) => execArgv(e.op)[0] === "kubectl"),
    "kubectl ran",
  );
});

test("a read-only function asks for a few minutes of validity, a release for its longest step", async () => {
  const tenMinutes = aksToken(10);
  const read = await recordGraph(() => cluster(tenMinutes).status(), { respond: repositoryFiles });
  assert.not.match(String(read.error ?? ""), /entra-token/);
  const changing = await recordGraph(() => cluster(tenMinutes).rollback());
  refused(changing, /with-cluster --entra-token: .*\(in 10 min\).*rollback .* up to 20 min/);
  // A longer --timeout makes the longest step longer: two rollouts (the rollout and its undo) of 30m each.
  const long = await recordGraph(() => cluster(aksToken(50)).deploy(IMAGE, "30m"));
  refused(long, /\(in 50 min\).*deploy .* up to 65 min/);
});

test("a JWT in the kubeconfig's user (kubectl create token) is checked too; a static token is not a JWT and is left to the cluster", async () => {
  const kubeconfig = (token: string) =>
    [
      "apiVersion: v1",
      "kind: Config",
      "current-context: prod",
      "contexts: [{name: prod, context: {cluster: c, user: deployer}}, {name: other, context: {cluster: c, user: static}}]",
      `users: [{name: deployer, user: {token: "${token}"}}, {name: static, user: {token: "0123456789abcdef"}}]`,
      "",
    ].join("\n");
  const soon = signed({ aud: ["https://kubernetes.default.svc"], exp: inMinutes(3) });
  const outcome = await recordGraph(() => cluster(undefined, kubeconfig(soon)).deploy(IMAGE));
  refused(outcome, /with-cluster --kubeconfig \(user deployer\): .*\(in 3 min\)/);
  const other = await recordGraph(() =>
    pipeline()
      .withCluster(dag.setSecret("kubeconfig", kubeconfig(soon)), "prod", "other")
      .status(),
  );
  assert.not.match(String(other.error ?? ""), /kubeconfig \(user/);
});

test("release with an ACR token not valid for another 30 minutes (nbf): refused, and the registry is never asked", async () => {
  const acr = await startFakeAcr({ entraToken: "unused", tenant: TENANT });
  acr.setRegistryService(acr.address);
  try {
    const acrToken = signed({ aud: ARM, tid: TENANT, nbf: inMinutes(30), exp: inMinutes(90) });
    const outcome = await recordGraph(() =>
      pipeline()
        .withRegistry(acr.address, "ai-app", undefined, undefined, dag.setSecret("acr-token", acrToken))
        .withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod", undefined, aks(aksToken(60)))
        .release(),
    );
    refused(outcome, /with-registry --entra-token: .*not valid before .* \(in 30 min\)/);
    assert.equal(acr.requests, []);
  } finally {
    await acr.stop();
  }
});

test("every bad token is named at once, one line each", async () => {
  const outcome = await recordGraph(() =>
    pipeline()
      .withRegistry(
        "myacr.azurecr.io",
        "ai-app",
        undefined,
        undefined,
        dag.setSecret("acr-token", signed({ aud: STORAGE, exp: inMinutes(60) })),
      )
      .withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod", undefined, aks(aksToken(3)))
      .release(),
  );
  refused(outcome, /with-registry --entra-token: .*is for https:\/\/storage.azure.com, not Azure Container Registry/);
  const lines = outcome.error!.message.split("\n");
  assert.ok(
    lines.some((l) => /^with-cluster --entra-token: .*\(in 3 min\)/.test(l)),
    outcome.error!.message,
  );
});

test("publish with an ACR refresh token as the password of user 0000...: checked (aud is the registry); a client secret is not a JWT and is not", async () => {
  const refreshToken = signed({ aud: "myacr.azurecr.io", iss: "Azure Container Registry", grant_type: "refresh_token", exp: inMinutes(5) });
  const publish = (user: string, password: string) =>
    recordGraph(() =>
      pipeline()
        .withRegistry("myacr.azurecr.io", "ai-app", user, dag.setSecret("acr-password", password))
        .publish("main", contextDir("/model/out")),
    );
  refused(
    await publish(ACR_REFRESH_TOKEN_USER, refreshToken),
    /with-registry --password \(an ACR refresh token\): .*\(in 5 min\).*az acr login/,
  );
  const otherRegistry = signed({ aud: "other.azurecr.io", exp: inMinutes(120) });
  refused(await publish(ACR_REFRESH_TOKEN_USER, otherRegistry), /is for other.azurecr.io, not myacr.azurecr.io/);
  // A service principal's client secret: no claims to read, so the registry decides.
  const secret = await publish("00000000-1111-2222-3333-444444444444", "sp-client-secret-Zq8~example");
  assert.not.match(String(secret.error ?? ""), /with-registry --password/);
});

test("release --mark-alias with a storage token that expires within the release: refused before the registry or cluster is asked", async () => {
  const storeToken = signed({ aud: STORAGE, exp: inMinutes(5) });
  const outcome = await recordGraph(() =>
    pipeline()
      .withStore(...storeWithToken(storeToken))
      .withRegistry("myacr.azurecr.io")
      .withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod")
      .release("main", "5m", false, "rolling", 10, "2m", "30s", 0, 0, false, undefined, undefined, "production"),
  );
  refused(outcome, /with-store --entra-token: .*\(in 5 min\).*az account get-access-token --resource https:\/\/storage.azure.com\//);
});

test("a storage token is not checked by release without --mark-alias (release does not use the store then)", async () => {
  const storeToken = signed({ aud: STORAGE, exp: inMinutes(-5) });
  const outcome = await recordGraph(
    () =>
      pipeline()
        .withStore(...storeWithToken(storeToken))
        .withRegistry("127.0.0.1:9")
        .withCluster(dag.setSecret("kubeconfig", KUBECONFIG), "prod")
        .release(),
    { respond: (c: Op[]) => repositoryFiles(c) },
  );
  assert.not.match(String(outcome.error ?? ""), /with-store/);
});

test.run();
