/**
 * The cluster functions on the real engine, through the kubectl stand-in image, against the
 * project's stand-in API server (test/support/fake-apiserver.ts) listening on the host end of the
 * engine's veth: `diff`, `release` (rolling), `release --strategy canary --pause` then `promote --release-id`,
 * `releases`, `status`, `rollback` and `deploy`. The images come from a TLS registry on the same
 * address (the module reads their labels through its own client). The stand-in is not Kubernetes:
 * it stores what kubectl applies and reports rollouts complete; what this shows is the module's
 * kubectl calls, files and decisions running in the engine's containers, not a cluster.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, DaggerResult, engineCert, tail } from "../support/dagger-cli.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { tempDir } from "../support/temp.js";
import { ROOT } from "../support/session.js";

const NS = "e2e";
const REPOSITORY = "e2e/cluster";
const OLD = `myacr.azurecr.io/ai-app@sha256:${"0".repeat(64)}`;
const dir = tempDir("e2e-cluster-");
let api: FakeApiServer | undefined;
let registry: RunningRegistry | undefined;
let kubeconfig = "";
let ca = "";
const images: Record<string, string> = {};

async function ok(args: string[], label: string): Promise<DaggerResult> {
  const r = await dagger(["call", ...args], { label });
  console.log(`    ${callLine(r)}`);
  assert.is(r.code, 0, `${label} failed:\n${tail(both(r), 60)}`);
  return r;
}

const withBoth = (revision = "e2e-cluster"): string[] => [
  "--revision",
  revision,
  "with-registry",
  "--address",
  registry!.address,
  "--repository",
  REPOSITORY,
  "with-cluster",
  "--kubeconfig",
  `file://${kubeconfig}`,
  "--namespace",
  NS,
];

/** The stable Deployment's image as the stand-in holds it. */
const stable = (): string | undefined => api!.state.deployment?.image;
const canaries = (): string[] => Object.keys(api!.state.tracked ?? {});

test.before(async () => {
  const tls = engineCert();
  const hostIp = tls.hostIp;
  ca = tls.ca;
  registry = await startRegistry({ host: hostIp, tls });
  api = await new FakeApiServer({
    namespace: NS,
    deployment: { name: "ai-app", revision: "1", image: OLD, rollout: "complete" },
    replicaSets: { "1": OLD },
    pods: [],
    events: [],
    podRun: { exitCode: 0, log: '{"ok": true, "problems": [], "seen": {"model": {"name": "digits-classifier", "version": "1.0.0"}}}\n' },
  }).start(hostIp);
  kubeconfig = api.kubeconfig;
  console.log(`    stand-in API server at ${api.url}, TLS registry at ${registry.url}`);
  const model = join(dir, "model");
  await ok(["train-sample-model", "export", "--path", model], "train-sample-model-export");
  // two images that differ only in their revision label, pushed as main in turn by the tests
  for (const rev of ["e2e-a", "e2e-b"]) {
    const r = await ok([...withBoth(rev).slice(0, 7), "publish", "--channel", rev, "--model", model, "image"], `publish-${rev}`);
    images[rev] = r.stdout.trim();
  }
  assert.is.not(images["e2e-a"], images["e2e-b"], "the two revisions gave one image");
});

test.after(async () => {
  await api?.stop();
  await registry?.stop();
});

test("diff against the running Deployment names the new image, and changes nothing", async () => {
  const r = await ok([...withBoth(), "diff", "--image", images["e2e-a"]!], "diff");
  assert.ok(r.stdout.includes(images["e2e-a"]!.split("@")[1]!), `the diff does not show the new digest:\n${tail(r.stdout, 30)}`);
  assert.is(stable(), OLD, "diff changed the Deployment");
});

test("release (rolling) of channel e2e-a: the Deployment runs that digest, the attempt is in the ledger", async () => {
  const r = await ok([...withBoth(), "release", "--channel", "e2e-a", "--timeout", "2m", "json"], "release-rolling");
  const result = JSON.parse(r.stdout.trim()) as { action: string; image: string; strategy: string; smoke: string; ledger: string };
  assert.is(result.image, images["e2e-a"]);
  assert.is(result.strategy, "rolling");
  assert.is(stable(), images["e2e-a"]);
  assert.ok(api!.state.configMaps?.["ai-app-releases"], "no release ledger ConfigMap after the release");
});

test("release --strategy canary --pause of e2e-b (another release meanwhile refused), then promote: the stable runs e2e-b, no canary left", async () => {
  const r = await ok(
    [
      ...withBoth(),
      "release",
      "--channel",
      "e2e-b",
      "--strategy",
      "canary",
      "--pause",
      "--analysis-window",
      "2s",
      "--analysis-interval",
      "1s",
      "json",
    ],
    "release-canary-pause",
  );
  const paused = JSON.parse(r.stdout.trim()) as { strategy: string; canary: string; releaseId: string };
  assert.is(paused.strategy, "canary");
  assert.match(paused.releaseId, /^[0-9a-f]{8}$/);
  assert.is(stable(), images["e2e-a"], "a paused canary changed the stable");
  assert.equal(canaries(), ["ai-app-canary"], "no canary Deployment while paused");
  // the paused canary holds the cluster: another release (the nightly one, say) is refused
  const refused = await dagger(["call", ...withBoth(), "release", "--channel", "e2e-a", "--timeout", "2m"], {
    label: "release-while-paused",
  });
  console.log(`    ${callLine(refused)}`);
  assert.is.not(refused.code, 0, "a release went ahead over a paused canary");
  assert.match(both(refused), "paused canary waiting for promote or abort");
  assert.is(stable(), images["e2e-a"], "the refused release changed the stable");
  assert.equal(canaries(), ["ai-app-canary"], "the refused release removed the paused canary");
  // promote is tied to the release that was approved: another id is refused, nothing changes
  const other = await dagger(["call", ...withBoth(), "promote", "--release-id", "0badc0de", "--timeout", "2m"], { label: "promote-other" });
  console.log(`    ${callLine(other)}`);
  assert.is.not(other.code, 0, "promote went ahead for another release id");
  assert.match(both(other), `the canary in the cluster is release ${paused.releaseId}`);
  assert.is(stable(), images["e2e-a"], "the refused promote changed the stable");
  assert.equal(canaries(), ["ai-app-canary"], "the refused promote removed the canary");
  const p = await ok([...withBoth(), "promote", "--release-id", paused.releaseId, "--timeout", "2m", "json"], "promote");
  assert.is((JSON.parse(p.stdout.trim()) as { action: string }).action, "promote");
  assert.is(stable(), images["e2e-b"]);
  assert.equal(canaries(), [], "the canary is still there after promote");
});

test("releases and status: the ledger holds both, status reports the running digest", async () => {
  const h = await ok([...withBoth(), "releases", "json"], "releases");
  const entries = JSON.parse(h.stdout.trim()) as { image: string }[];
  const seen = new Set(entries.map((e) => e.image));
  assert.ok(seen.has(images["e2e-a"]!) && seen.has(images["e2e-b"]!), `the ledger lacks a release: ${h.stdout.trim()}`);
  const s = await ok([...withBoth(), "status", "json"], "status");
  assert.is((JSON.parse(s.stdout.trim()) as { image: string }).image, images["e2e-b"]);
});

test("status with with-image-policy reports the running digest unsigned, then signed once the host's cosign signed it with a provenance naming the repository", async () => {
  // The host's cosign (the image's version) against the same TLS registry, with a key made here.
  const cosign = (args: string[]) => {
    const r = spawnSync(join(ROOT, ".tools/bin/cosign"), args, {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, COSIGN_PASSWORD: "", SSL_CERT_FILE: ca, HOME: dir },
      timeout: 120_000,
    });
    assert.is(r.status, 0, `cosign ${args[0]}: ${r.stderr}`);
  };
  cosign(["generate-key-pair"]);
  const repo = "https://github.com/contoso/ai-app";
  const policy = ["with-image-policy", "--public-key", join(dir, "cosign.pub"), "--source-repository", repo];
  const signature = async (label: string) =>
    (JSON.parse((await ok([...withBoth(), ...policy, "status", "json"], label)).stdout.trim()) as { signature: string }).signature;

  assert.match(
    await signature("status-policy-unsigned"),
    /^NOT verified: refusing \S+@sha256:[0-9a-f]{64}: no signature by key sha256:[0-9a-f]{64} verifies/,
  );
  const running = images["e2e-b"]!;
  const predicate = join(dir, "provenance.json");
  writeFileSync(
    predicate,
    JSON.stringify({
      buildDefinition: { buildType: "urn:e2e", externalParameters: { source: { uri: repo, revision: "e2e-b" } } },
      runDetails: { builder: { id: "urn:e2e:host-cosign" } },
    }),
  );
  cosign(["sign", "--yes", "--key", "cosign.key", "--tlog-upload=false", running]);
  cosign(["attest", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", predicate, running]);
  assert.match(
    await signature("status-policy-signed"),
    new RegExp(`^verified: signed by key sha256:[0-9a-f]{64}; provenance: built from ${repo} at e2e-b`),
  );
});

test("rollback goes back to e2e-a (the newest good release not running; its labels read from the registry, smoke-tested); deploy puts e2e-b back", async () => {
  const r = await ok([...withBoth(), "rollback", "--timeout", "2m", "json"], "rollback");
  const back = JSON.parse(r.stdout.trim()) as { image: string; smoke: string; revision: string };
  assert.is(back.image, images["e2e-a"]);
  assert.is(back.revision, "e2e-a", "the revision label as the registry holds it");
  assert.match(back.smoke, "passed", "rollback smoke-tests what it went back to");
  assert.is(stable(), images["e2e-a"]);
  await ok([...withBoth(), "deploy", "--image", images["e2e-b"]!, "--timeout", "2m"], "deploy");
  assert.is(stable(), images["e2e-b"]);
});

test.run();
