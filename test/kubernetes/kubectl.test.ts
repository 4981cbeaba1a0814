/**
 * The real kubectl binary, offline (no API server anywhere): it decodes the rendered manifests
 * into its own typed Kubernetes objects and keeps every field we wrote; it parses every command
 * line the deploy step builds; and the Entra token user we merge into the kubeconfig makes it send
 * `Authorization: Bearer <token>` (checked against a local TLS server standing in for AKS).
 */
import { IncomingHttpHeaders } from "node:http";
import { createServer } from "node:https";
import { AddressInfo } from "node:net";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import { parseAllDocuments } from "yaml";
import * as assert from "uvu/assert";
import {
  applyArgs,
  diffArgs,
  eventsArgs,
  PATHS,
  podsArgs,
  readRevisionArgs,
  rolloutStatusArgs,
  Target,
  TOKEN_USER,
  tokenUserKubeconfig,
  undoArgs,
} from "../../dagger/src/kubernetes/commands.js";
import { IMAGES } from "../../dagger/src/images.js";
import { IMAGE, kubeconfigText, kubectl, renderShipped, writeTemp } from "../support/kubernetes.js";
import { tempDir } from "../support/temp.js";
import { selfSignedCert } from "../support/tls.js";
import { closePatient, patient } from "../support/patient-server.js";

type Obj = Record<string, unknown>;

/** Paths where `ours` has a value that `theirs` lacks or changed (kubectl drops unknown fields). */
function lostFields(ours: unknown, theirs: unknown, path = ""): string[] {
  if (Array.isArray(ours)) {
    if (!Array.isArray(theirs)) return [path];
    return ours.flatMap((x, i) => lostFields(x, theirs[i], `${path}[${i}]`));
  }
  if (ours && typeof ours === "object") {
    if (!theirs || typeof theirs !== "object") return [path];
    return Object.entries(ours as Obj).flatMap(([k, v]) => lostFields(v, (theirs as Obj)[k], path ? `${path}.${k}` : k));
  }
  return ours === theirs ? [] : [`${path} (${JSON.stringify(ours)} became ${JSON.stringify(theirs)})`];
}

const toJS = (text: string): Obj[] => (parseAllDocuments(text) as { toJS(): Obj }[]).map((d) => d.toJS());

test("the kubectl here is close to the one in the pipeline's image (these checks are written against it)", () => {
  const r = kubectl(["version", "--client", "--output=json"]);
  assert.is(r.status, 0, r.stderr);
  const v = (JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion;
  const image = IMAGES.kubectl.split(":").at(-1)!;
  const minor = (s: string) => Number(/^v1\.(\d+)\./.exec(s)?.[1]);
  assert.ok(
    Math.abs(minor(v) - minor(image)) <= 2,
    `kubectl ${v} is too far from the image's ${image}: install kubectl 1.${minor(image) - 2}..1.${minor(image) + 2}`,
  );
});

/**
 * `kubectl set image --local` decodes the file into apps/v1 Deployment (Go structs: unknown fields
 * are dropped, wrong types fail), sets the image and prints the object back. (It prints nothing
 * when the image is already that one, hence a second image, swapped back before comparing.)
 */
function throughKubectl(text: string): { ours: Obj; theirs: Obj } {
  const dir = writeTemp([{ path: "deployment.yaml", text }]);
  const r = kubectl(["set", "image", "--local", `--filename=${join(dir, "deployment.yaml")}`, `app=${OTHER_IMAGE}`, "--output=json"]);
  assert.is(r.status, 0, r.stderr);
  assert.ok(r.stdout.trim(), "kubectl printed nothing");
  const theirs = JSON.parse(r.stdout.replaceAll(OTHER_IMAGE, IMAGE)) as Obj;
  return { ours: toJS(text)[0]!, theirs };
}
const OTHER_IMAGE = `myacr.azurecr.io/ai-app@sha256:${"e".repeat(64)}`;

test("kubectl decodes the rendered Deployment into its typed object and keeps every field we wrote", () => {
  const { ours, theirs } = throughKubectl(renderShipped().find((f) => f.path === "deployment.yaml")!.text);
  assert.equal(lostFields(ours, theirs), []);
});

test("...and a field kubectl does not know is caught by that comparison (the check can fail)", () => {
  const files = renderShipped();
  const deployment = files.find((f) => f.path === "deployment.yaml")!;
  const { ours, theirs } = throughKubectl(deployment.text.replace("readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true"));
  assert.equal(lostFields(ours, theirs), [
    "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem (true became undefined)",
  ]);
});

test("kubectl decodes the rendered Service into its typed object and keeps every field we wrote", () => {
  const files = renderShipped();
  const dir = writeTemp(files);
  const r = kubectl([
    "set",
    "selector",
    "--local",
    `--filename=${join(dir, "service.yaml")}`,
    "app.kubernetes.io/name=ai-app",
    "--output=json",
  ]);
  assert.is(r.status, 0, r.stderr);
  const ours = toJS(files.find((f) => f.path === "service.yaml")!.text)[0]!;
  assert.equal(lostFields(ours, JSON.parse(r.stdout)), []);
});

test("kubectl decodes the rendered PodDisruptionBudget (typed), and refuses a mistyped one", () => {
  // No offline kubectl command prints a PodDisruptionBudget back; `set image --local` decodes it
  // into policy/v1 types first and only then says it has no pod template.
  const files = renderShipped();
  const dir = writeTemp(files);
  const good = kubectl(["set", "image", "--local", `--filename=${join(dir, "pdb.yaml")}`, `*=${IMAGE}`, "--output=json"]);
  assert.match(good.stderr, "the object is not a pod or does not have a pod template: *v1.PodDisruptionBudget");
  const pdb = files.find((f) => f.path === "pdb.yaml")!;
  const badDir = writeTemp([{ path: "pdb.yaml", text: pdb.text.replace("maxUnavailable: 1", "maxUnavailable: true") }]);
  const bad = kubectl(["set", "image", "--local", `--filename=${join(badDir, "pdb.yaml")}`, `*=${IMAGE}`, "--output=json"]);
  assert.match(bad.stderr, /unable to decode .*PodDisruptionBudgetSpec\.spec\.maxUnavailable/);
});

test("the revision query's jsonpath reads the Deployment's revision annotation", () => {
  const files = renderShipped();
  const deployment = files.find((f) => f.path === "deployment.yaml")!;
  const text = deployment.text.replace("  annotations:\n", '  annotations:\n    deployment.kubernetes.io/revision: "7"\n');
  const dir = writeTemp([{ path: "deployment.yaml", text }]);
  const output = readRevisionArgs("ai-app", { namespace: "x" }).find((a) => a.startsWith("--output="))!;
  const r = kubectl(["set", "image", "--local", `--filename=${join(dir, "deployment.yaml")}`, `app=${OTHER_IMAGE}`, output]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, "7");
});

test("every command the deploy step builds is accepted by kubectl's parser (it gets as far as dialling the cluster)", () => {
  const manifests = writeTemp(renderShipped());
  const targets: Target[] = [{ namespace: "prod" }, { namespace: "prod", context: "aks-prod", token: true }];
  const dir = tempDir("kubeconfig-token-");
  writeFileSync(join(dir, "token"), "not-a-real-token\n");
  writeFileSync(join(dir, "token-user.yaml"), tokenUserKubeconfig(join(dir, "token")));
  writeFileSync(join(dir, "config"), kubeconfigText("https://127.0.0.1:9", { insecure: true }));
  for (const t of targets) {
    const commands = [
      readRevisionArgs("ai-app", t),
      applyArgs(t, { dryRun: true }),
      applyArgs(t, { fieldManager: "nightly", forceConflicts: true }),
      diffArgs(t, {}),
      rolloutStatusArgs("ai-app", "2s", t),
      podsArgs({ "app.kubernetes.io/name": "ai-app", tier: "api" }, t),
      eventsArgs(t),
      undoArgs("ai-app", "3", t),
    ];
    for (const argv of commands) {
      assert.is(argv[0], "kubectl");
      const args = argv.slice(1).map((a) => a.replace(PATHS.manifests, manifests));
      const r = kubectl(args, { kubeconfig: `${join(dir, "config")}:${join(dir, "token-user.yaml")}` });
      const said = `${argv.join(" ")}\n${r.stderr}`;
      assert.is.not(r.status, 0, said);
      assert.not.match(
        r.stderr,
        /unknown (flag|command|shorthand)|invalid argument|flag needs an argument|error: (the path|context|user)|must specify|required flag/i,
        said,
      );
      assert.match(r.stderr, /127\.0\.0\.1:9.*(connection refused|connect)/, said);
    }
  }
  // The same check does fail on a command kubectl would refuse.
  const bogus = kubectl(["rollout", "status", "deployment/ai-app", "--time-out=5m"]);
  assert.match(bogus.stderr, /unknown flag/);
});

/** A local HTTPS server standing in for the AKS API server: records request headers. */
async function withTlsServer<T>(fn: (url: string, caData: string, seen: IncomingHttpHeaders[]) => Promise<T>): Promise<T> {
  const tls = selfSignedCert();
  const cert = readFileSync(tls.cert);
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer({ key: readFileSync(tls.key), cert }, (req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { "content-type": "application/json" });
    res.end(req.url?.startsWith("/version") ? '{"major":"1","minor":"32","gitVersion":"v1.32.4"}' : '{"ok":true}');
  });
  patient(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    return await fn(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, cert.toString("base64"), seen);
  } finally {
    await closePatient(server);
  }
}

test("Entra token path: KUBECONFIG=kubeconfig:token-user + --user sends the mounted token as a bearer token", async () => {
  await withTlsServer(async (url, caData, seen) => {
    const dir = tempDir("entra-");
    writeFileSync(join(dir, "config"), kubeconfigText(url, { caData }, "exec"));
    writeFileSync(join(dir, "token"), "eyJ0eXAiOiJKV1Qi.fake.token\n"); // as `az ... -o tsv` writes it, newline included
    const fragment = tokenUserKubeconfig(join(dir, "token"));
    assert.not.match(fragment, "eyJ0", "the fragment names the token file, never the token");
    writeFileSync(join(dir, "token-user.yaml"), fragment);
    const kubeconfig = `${join(dir, "config")}:${join(dir, "token-user.yaml")}`;

    // `kubectl get --raw` (spawned, a real request): with --user the token is sent...
    const r = spawnKubectlAsync(["get", "--raw", "/readyz", `--user=${TOKEN_USER}`], kubeconfig);
    assert.is((await r).status, 0, (await r).stderr);
    const authed = seen.filter((h) => h["kubectl-command"] === "kubectl get");
    assert.ok(authed.length > 0, "kubectl reached the server");
    for (const h of authed) assert.is(h.authorization, "Bearer eyJ0eXAiOiJKV1Qi.fake.token");

    // ...without it, the kubeconfig's own user (the kubelogin exec plugin) would be used.
    seen.length = 0;
    const without = await spawnKubectlAsync(["get", "--raw", "/readyz"], kubeconfig);
    assert.is.not(without.status, 0);
    assert.match(without.stderr, /kubelogin/);
  });
});

/** kubectl must not block the event loop here: the TLS server answers it from this process. */
function spawnKubectlAsync(args: string[], kubeconfig: string): Promise<{ status: number | null; stderr: string }> {
  return import("node:child_process").then(
    ({ spawn }) =>
      new Promise((resolve) => {
        const home = tempDir("home-");
        const env = {
          ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("KUBE"))),
          KUBECONFIG: kubeconfig,
          HOME: home,
        };
        const child = spawn("kubectl", args, { env, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
        child.on("close", (status) => resolve({ status, stderr }));
      }),
  );
}

test.run();
