/**
 * Issue 24 on the real engine: `ci` with with-image-signing pushes to a TLS registry with Basic
 * auth (certificate from the harness's test CA), signs the digest and attaches signed SLSA
 * provenance and a CycloneDX SBOM in cosign's layout; the host's own cosign reads them back.
 * verify-image and deploy (with with-image-policy) then refuse the tampered cases: another key,
 * an unsigned image, a signature copied from another digest, a provenance naming another
 * repository. The vulnerability gate fails ci on a database built here from a fixture. Also
 * measured: the SBOM + signing time as a share of the warm ci run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, DaggerResult, engineCert, tail } from "../support/dagger-cli.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { tempDir } from "../support/temp.js";
import { ROOT } from "../support/session.js";
import { modelDigest, parseManifest } from "../../dagger/src/model-store/manifest.js";
import { SLSA_PROVENANCE_V1 } from "../../dagger/src/supply-chain/provenance.js";

const COSIGN = join(ROOT, ".tools/bin/cosign");

/** The parts of the two predicates this file reads (SLSA provenance v1, CycloneDX). */
interface Predicate {
  buildDefinition: {
    externalParameters: { source: unknown };
    resolvedDependencies: { name?: string; digest: Record<string, string> }[];
  };
  runDetails: { builder: { id: string } };
  components?: unknown[];
}
const REGCTL = join(ROOT, ".tools/bin/regctl");
const USER = "e2e-signer";
const PASSWORD = randomBytes(18).toString("base64url");
const KEY_PASSWORD = randomBytes(12).toString("base64url");
const ENV = { E2E_REGISTRY_PASSWORD: PASSWORD, E2E_COSIGN_KEY: "", E2E_COSIGN_PASSWORD: KEY_PASSWORD };
const SOURCE_URL = "https://github.com/contoso/ai-app";
const REPOSITORY = "e2e/signed";
const dir = tempDir("e2e-supply-");

let registry: RunningRegistry | undefined;
let ca = "";
let model = "";
let revision = "";
const state: { signed?: string; unsigned?: string; foreign?: string; baselineMs?: number; signedMs?: number } = {};

/** Every call: neither the registry password nor the key (or its password) in any output or log. */
async function call(args: string[], label: string): Promise<DaggerResult> {
  const r = await dagger(["call", ...args], { label, env: ENV });
  console.log(`    ${callLine(r)}`);
  const log = readFileSync(r.log, "utf8");
  for (const [what, secret] of [
    ["registry password", PASSWORD],
    ["key password", KEY_PASSWORD],
    ["private key", ENV.E2E_COSIGN_KEY.split("\n")[1] ?? "-"],
  ] as const) {
    assert.not.ok(both(r).includes(secret) || log.includes(secret), `${label}: the ${what} appears in the call's output or log`);
  }
  return r;
}

/** The host's cosign against the test registry: its CA, a docker config with the login. */
function cosign(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(COSIGN, args, {
    encoding: "utf8",
    env: { ...process.env, SSL_CERT_FILE: ca, DOCKER_CONFIG: join(dir, "docker"), COSIGN_PASSWORD: KEY_PASSWORD, HOME: dir },
    timeout: 120_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function regctl(args: string[]): string {
  return execFileSync(REGCTL, args, { encoding: "utf8", env: { ...process.env, HOME: dir, SSL_CERT_FILE: ca } }).trim();
}

const withRegistry = (): string[] => [
  "with-registry",
  "--address",
  registry!.address,
  "--repository",
  REPOSITORY,
  "--username",
  USER,
  "--password",
  "env://E2E_REGISTRY_PASSWORD",
];
const head = (rev = revision): string[] => ["--revision", rev, "--source-url", SOURCE_URL];
const signing = [
  "with-image-signing",
  "--signing-key",
  "env://E2E_COSIGN_KEY",
  "--signing-password",
  "env://E2E_COSIGN_PASSWORD",
  "--builder-id",
  "urn:e2e:ai-app-pipeline",
];
const policy = (publicKey = join(dir, "cosign.pub"), repo = SOURCE_URL): string[] => [
  "with-image-policy",
  "--public-key",
  publicKey,
  "--source-repository",
  repo,
];

test.before(async () => {
  const tls = engineCert();
  ca = tls.ca;
  registry = await startRegistry({ host: tls.hostIp, tls, users: { [USER]: PASSWORD } });
  mkdirSync(join(dir, "docker"), { recursive: true });
  const auth = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
  writeFileSync(join(dir, "docker/config.json"), JSON.stringify({ auths: { [registry.address]: { auth } } }));
  execFileSync(REGCTL, ["registry", "login", registry.address, "-u", USER, "--pass-stdin"], {
    input: PASSWORD,
    env: { ...process.env, HOME: dir, SSL_CERT_FILE: ca },
  });
  // The pipeline's key pair, and another one for the wrong-key case.
  for (const sub of ["", "other"]) {
    mkdirSync(join(dir, sub), { recursive: true });
    const r = spawnSync(COSIGN, ["generate-key-pair"], {
      cwd: join(dir, sub),
      env: { ...process.env, COSIGN_PASSWORD: KEY_PASSWORD },
      encoding: "utf8",
    });
    assert.is(r.status, 0, r.stderr);
  }
  ENV.E2E_COSIGN_KEY = readFileSync(join(dir, "cosign.key"), "utf8");
  revision = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  model = join(dir, "model");
  const trained = await dagger(["call", "train-sample-model", "export", "--path", model], { label: "supply-train-sample-model" });
  assert.is(trained.code, 0, tail(both(trained)));
});
test.after(async () => {
  await registry?.stop();
});

test("warm ci without signing, then with with-image-signing: signed before the channel moves; SBOM + signing time reported as a share", async () => {
  const base = await call(
    [...head(), ...withRegistry(), "ci", "--channel", `base-${randomUUID().slice(0, 6)}`, "--model", model, "json"],
    "supply-ci-unsigned",
  );
  assert.is(base.code, 0, tail(both(base), 60));
  // the same again: warm (everything the build needs is in the engine's cache now)
  const warm = await call(
    [...head(), ...withRegistry(), "ci", "--channel", `warm-${randomUUID().slice(0, 6)}`, "--model", model, "json"],
    "supply-ci-unsigned-warm",
  );
  assert.is(warm.code, 0, tail(both(warm), 60));
  state.baselineMs = warm.ms;

  const channel = `signed-${randomUUID().slice(0, 6)}`;
  const r = await call(
    [...head(), ...withRegistry(), ...signing, "ci", "--channel", channel, "--model", model, "json"],
    "supply-ci-signed",
  );
  assert.is(r.code, 0, tail(both(r), 60));
  state.signedMs = r.ms;
  const result = JSON.parse(r.stdout.trim()) as { image: string; signature: string; tags: string[] };
  assert.match(
    result.signature,
    /^signed by key sha256:[0-9a-f]{64}; attested: SLSA provenance, CycloneDX SBOM \(\d+ OS packages, \d+ Python packages, \d+ model files\)/,
  );
  state.signed = result.image;
  const seconds = /SBOM ([\d.]+) s, signing ([\d.]+) s/.exec(result.signature);
  assert.ok(seconds, result.signature);
  const added = Number(seconds![1]) + Number(seconds![2]);
  console.log(
    `    warm ci: ${(state.baselineMs / 1000).toFixed(1)} s unsigned, ${(r.ms / 1000).toFixed(1)} s signed; SBOM ${seconds![1]} s + sign/attest ${seconds![2]} s = ${added.toFixed(1)} s, ${((100 * added) / (r.ms / 1000)).toFixed(0)}% of the signed run`,
  );
  // the channel names the signed digest
  assert.is(regctl(["image", "digest", `${registry!.address}/${REPOSITORY}:${channel}`]), result.image.split("@")[1]);
});

test("the host's cosign reads it back: signature by the key, provenance naming the repository, revision, model and base image, SBOM with OS and Python packages and the model's files", () => {
  assert.ok(state.signed, "the signed ci above did not run");
  const ref = state.signed!;
  const digest = ref.split("@")[1]!;
  const v = cosign(["verify", "--key", join(dir, "cosign.pub"), "--insecure-ignore-tlog=true", ref]);
  assert.is(v.code, 0, v.stderr);
  const statement = (type: string) => {
    const a = cosign(["verify-attestation", "--key", join(dir, "cosign.pub"), "--insecure-ignore-tlog=true", "--type", type, ref]);
    assert.is(a.code, 0, a.stderr);
    const env = JSON.parse(a.stdout.trim().split("\n")[0]!) as { payload: string };
    return JSON.parse(Buffer.from(env.payload, "base64").toString()) as {
      predicateType: string;
      subject: { digest: { sha256: string } }[];
      predicate: Predicate;
    };
  };
  const manifest = parseManifest(readFileSync(join(model, "model.json"), "utf8"));
  const prov = statement("slsaprovenance1");
  assert.is(prov.predicateType, SLSA_PROVENANCE_V1);
  assert.is(prov.subject[0]!.digest.sha256, digest.slice(7));
  const def = prov.predicate.buildDefinition;
  assert.equal(def.externalParameters.source, { uri: SOURCE_URL, revision });
  assert.is(prov.predicate.runDetails.builder.id, "urn:e2e:ai-app-pipeline");
  const deps = def.resolvedDependencies;
  assert.ok(
    deps.some((d) => d.digest.sha256 === modelDigest(manifest)),
    "the model's sha256 is not among the resolved dependencies",
  );
  assert.ok(
    deps.some((d) => d.name?.includes("python") && /^[0-9a-f]{64}$/.test(d.digest.sha256 ?? "")),
    "no python base image by digest",
  );

  const sbom = statement("cyclonedx");
  const components: { purl?: string; type?: string; name?: string; hashes?: { content: string }[]; components?: unknown[] }[] = [];
  const walk = (cs: unknown[] = []) => cs.forEach((c) => (components.push(c as never), walk((c as { components?: unknown[] }).components)));
  walk(sbom.predicate.components);
  const debs = components.filter((c) => c.purl?.startsWith("pkg:deb/"));
  const pips = components.filter((c) => c.purl?.startsWith("pkg:pypi/"));
  console.log(`    SBOM: ${debs.length} Debian packages, ${pips.length} Python packages, ${components.length} components in all`);
  assert.ok(
    debs.some((c) => c.purl!.includes("/zlib1g@") || c.name === "zlib1g"),
    "zlib1g (Debian) not in the SBOM",
  );
  assert.ok(
    pips.some((c) => c.purl!.startsWith("pkg:pypi/flask@")),
    "flask (Python) not in the SBOM",
  );
  for (const f of manifest.files) {
    const file = components.find((c) => c.type === "file" && c.name === `/models/${f.path}`);
    assert.equal(file?.hashes?.[0]?.content, f.sha256, `model file ${f.path} not in the SBOM with its sha256`);
  }
});

test("verify-image on the engine: the signed image passes; another key, an unsigned image, a signature copied from another digest, and a provenance naming another repository are each refused in one line", async () => {
  assert.ok(state.signed, "the signed ci above did not run");
  const ok = await call([...head(), ...withRegistry(), ...policy(), "verify-image", "--image", state.signed!], "supply-verify-signed");
  assert.is(ok.code, 0, tail(both(ok)));
  assert.match(ok.stdout, new RegExp(`signed by key sha256:[0-9a-f]{64}; provenance: built from ${SOURCE_URL} at ${revision}`));

  // An unsigned image: the signed one with one more label (another digest), pushed by the host.
  const [repoRef] = state.signed!.split("@");
  const tag = `unsigned-${randomUUID().slice(0, 6)}`;
  regctl(["image", "mod", state.signed!, "--label", "e2e.tampered=yes", "--create", tag]);
  state.unsigned = `${repoRef}@${regctl(["image", "digest", `${repoRef}:${tag}`])}`;

  const refused = async (label: string, args: string[], why: RegExp) => {
    const r = await call(args, label);
    assert.is.not(r.code, 0, `${label}: verify-image accepted it\n${r.stdout}`);
    const line = /refusing \S+: [^\n]*/.exec(both(r))?.[0] ?? "";
    console.log(`    ${label}: ${line.slice(0, 200)}`);
    assert.match(line, why);
  };
  await refused(
    "supply-verify-other-key",
    [...head(), ...withRegistry(), ...policy(join(dir, "other/cosign.pub")), "verify-image", "--image", state.signed!],
    /no signature by key sha256:[0-9a-f]{64} verifies/,
  );
  await refused(
    "supply-verify-unsigned",
    [...head(), ...withRegistry(), ...policy(), "verify-image", "--image", state.unsigned],
    /no signature .*no signatures found/,
  );

  // The signed digest's signature manifest copied to the unsigned digest's signature tag.
  const sigOf = (ref: string) => `${repoRef}:sha256-${ref.split("@sha256:")[1]}.sig`;
  regctl(["image", "copy", sigOf(state.signed!), sigOf(state.unsigned)]);
  await refused(
    "supply-verify-copied-signature",
    [...head(), ...withRegistry(), ...policy(), "verify-image", "--image", state.unsigned],
    /no signature .*digest/,
  );

  // Signed with the right key, but its provenance names another repository.
  const foreignTag = `foreign-${randomUUID().slice(0, 6)}`;
  regctl(["image", "mod", state.signed!, "--label", "e2e.foreign=yes", "--create", foreignTag]);
  state.foreign = `${repoRef}@${regctl(["image", "digest", `${repoRef}:${foreignTag}`])}`;
  const predicate = join(dir, "foreign-provenance.json");
  writeFileSync(
    predicate,
    JSON.stringify({
      buildDefinition: { buildType: "x", externalParameters: { source: { uri: "https://github.com/mallory/ai-app", revision } } },
      runDetails: { builder: { id: "urn:mallory" } },
    }),
  );
  const key = join(dir, "cosign.key");
  for (const args of [
    ["sign", "--yes", "--key", key, "--tlog-upload=false", state.foreign],
    ["attest", "--yes", "--key", key, "--tlog-upload=false", "--type", "slsaprovenance1", "--predicate", predicate, state.foreign],
  ]) {
    const r = cosign(args);
    assert.is(r.code, 0, r.stderr);
  }
  await refused(
    "supply-verify-foreign-provenance",
    [...head(), ...withRegistry(), ...policy(), "verify-image", "--image", state.foreign],
    /provenance names source repository "https:\/\/github.com\/mallory\/ai-app", not https:\/\/github.com\/contoso\/ai-app/,
  );
});

test("deploy with with-image-policy refuses the unsigned image before any kubectl runs", async () => {
  assert.ok(state.unsigned, "the verify-image case above did not run");
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
  );
  const r = await call(
    [
      ...head(),
      ...withRegistry(),
      "with-cluster",
      "--kubeconfig",
      `file://${kubeconfig}`,
      ...policy(),
      "deploy",
      "--image",
      state.unsigned!,
    ],
    "supply-deploy-unsigned",
  );
  assert.is.not(r.code, 0, "deploy went ahead with an unsigned image");
  assert.match(both(r), /refusing \S+@sha256:[0-9a-f]{64}: no signature by key sha256:[0-9a-f]{64} verifies/);
  assert.not.match(r.stderr, /withExec kubectl (apply|--kubeconfig|.*apply)/, "a kubectl apply ran");
});

test("the vulnerability gate: ci --fail-on-severity high with a database built from the fixture fails, naming the fixture advisories, and pushes nothing", async () => {
  const db = join(dir, "vulndb");
  execFileSync("bash", [join(ROOT, "scripts/build-trivy-fixture-db.sh"), db], { stdio: "inherit" });
  const channel = `gated-${randomUUID().slice(0, 6)}`;
  const gated = (severity: string, database: string, label: string) =>
    call(
      [
        ...head(),
        ...withRegistry(),
        "ci",
        "--channel",
        channel,
        "--model",
        model,
        "--fail-on-severity",
        severity,
        "--vulnerability-db",
        database,
        "summary",
      ],
      label,
    );
  const r = await gated("high", db, "supply-ci-gate");
  assert.is.not(r.code, 0, `the gate passed: ${r.stdout}`);
  const out = both(r);
  assert.match(out, /vulnerability gate: \d+ vulnerabilit(y|ies) at HIGH or above in the image; nothing was pushed/);
  assert.match(out, /CRITICAL CVE-0000-0001 in zlib/);
  assert.match(out, /HIGH CVE-0000-0002 in flask /i); // trivy names it as its metadata does (Flask)
  assert.not.match(out, /CVE-0000-0004/, "the advisory for a gunicorn version the image does not have matched");
  assert.not.match(out, /MEDIUM CVE-0000-0003/, "a MEDIUM finding was listed under a HIGH threshold");
  const tags = regctl(["tag", "ls", `${registry!.address}/${REPOSITORY}`]).split("\n");
  assert.not.ok(tags.includes(channel), "the gated ci moved its channel tag");

  mkdirSync(join(dir, "vulndb-none"), { recursive: true });
  const pass = await gated("critical", join(dir, "vulndb-none"), "supply-ci-gate-missing-db");
  assert.is.not(pass.code, 0, "a scan without a database passed");
  assert.match(both(pass), /the vulnerability scan could not run/);
});

test.run();
