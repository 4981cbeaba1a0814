/**
 * `dagger call ci` on the real engine. With no arguments (the embedded default) it must get through
 * test, the model's publish/fetch/verify in Azurite, the build and the push to its registry service,
 * and stop at k3s, for which no image exists here. The embedded registry is a service that is gone
 * when the call ends, so the pushed image is read back from a `ci` that pushes to a TLS registry
 * of the test's own instead (with-registry ... ci --model): its tags, labels and model files.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { both, callLine, dagger, engineCert, tail } from "../support/dagger-cli.js";
import { copiedLayerKind, ImageManifest, OciReader } from "../support/oci-read.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { tempDir } from "../support/temp.js";
import { ROOT } from "../support/session.js";
import { IMAGE_LABELS } from "../../dagger/src/app-image/labels.js";
import { APP_DIR, IMAGES, MODEL_DIR } from "../../dagger/src/images.js";
import { modelDigest, parseManifest } from "../../dagger/src/model-store/manifest.js";
import { buildTags } from "../../dagger/src/registry/names.js";

/** What the configured ci pushed, for the repeat below. */
let pushed: { args: string[]; digest: string } | undefined;

/**
 * Whether a span of the plain progress output whose opening line matches `label` ended well: its
 * lines carry the span's number ("27  : ┆ withExec ..."), and its last says DONE or CACHED.
 */
function spanSucceeded(progress: string, label: RegExp): boolean {
  const lines = progress.split("\n");
  const ids = new Set(lines.filter((l) => label.test(l)).map((l) => /^(\d+)\s+:/.exec(l)?.[1]));
  return lines.some((l) => {
    const id = /^(\d+)\s+:/.exec(l)?.[1];
    return id !== undefined && ids.has(id) && /\s(DONE|CACHED) \[[^\]]*\]\s*$/.test(l);
  });
}

/** `ci` pushing to `registry` under `channel`, built with `model`, reading `field` of its result. */
function configuredCi(revision: string, registry: string, repository: string, channel: string, model: string, field: string): string[] {
  return [
    "call",
    "--revision",
    revision,
    "with-registry",
    "--address",
    registry,
    "--repository",
    repository,
    "ci",
    "--channel",
    channel,
    "--model",
    model,
    field,
  ];
}

test(`dagger call ci (no arguments) passes test, model publish/fetch/verify, build and push, then fails at k3s: no ${IMAGES.k3s} image here`, async () => {
  const r = await dagger(["call", "ci"], { label: "ci-embedded" });
  console.log(`    ${callLine(r)}`);
  const out = both(r);
  assert.is.not(r.code, 0, `ci succeeded: was a k3s image made available? Then this check must change.\n${tail(out)}`);
  assert.ok(!r.timedOut, "ci hung");
  // what failed: the k3s image, and nothing before it
  const error = /^Error: (.*)$/m.exec(r.stderr)?.[1] ?? "(no Error line)";
  console.log(`    ci stopped with: ${error}`);
  assert.ok(error.includes(IMAGES.k3s), `ci failed, but not at the k3s image: ${error}\n${tail(out, 60)}`);
  // how far it got, read in the progress output: each step's exec span ended DONE or CACHED (a
  // warm engine answers the tests and the build from its cache, so their output may not show)
  const steps: [string, RegExp][] = [
    ["pytest", /withExec python -m pytest\b/],
    ["the sample model's training", /withExec python [^\n]*train\.py\b/],
    ["the model's publish to Azurite", /withExec node dist\/model-store\/cli\.js publish\b/],
    ["its fetch (verified)", /withExec node dist\/model-store\/cli\.js fetch\b/],
    ["regctl's push of dev", /withExec \/regctl [^\n]*image import registry:5000\/ai-app:dev\b/],
    ["regctl's push of model-1.0.0", /withExec \/regctl [^\n]*image import registry:5000\/ai-app:model-1\.0\.0\b/],
    ["regctl's push of main", /withExec \/regctl [^\n]*image import registry:5000\/ai-app:main\b/],
    ["regctl's read of main's digest", /withExec \/regctl [^\n]*image digest registry:5000\/ai-app:main\b/],
  ];
  const missing = steps.filter(([, label]) => !spanSucceeded(r.stderr, label)).map(([what]) => what);
  assert.equal(missing, [], `not seen in ci's output (log ${r.log})`);
});

/**
 * A TLS registry of its own on the veth's host end, its certificate from the harness's test CA
 * (which the engine trusts): before moving the channel tag, ci asks the registry where it points
 * with the module's own client, which speaks plain HTTP to loopback only.
 */
let tlsRegistry: RunningRegistry | undefined;
let reading: { ca: string } | undefined;
test.before(async () => {
  const tls = engineCert();
  tlsRegistry = await startRegistry({ host: tls.hostIp, tls });
  reading = { ca: tls.ca };
});
test.after(async () => {
  await tlsRegistry?.stop();
});

test("with-registry (a TLS registry) ... ci --model: the pushed tags name one digest; labels hold the revision and the model's sha256; /models holds the model's files", async () => {
  const registry = tlsRegistry!.address;
  const model = join(tempDir("e2e-model-"), "model");
  const trained = await dagger(["call", "train-sample-model", "export", "--path", model], { label: "train-sample-model-export" });
  console.log(`    ${callLine(trained)}`);
  assert.is(trained.code, 0, tail(both(trained)));
  const manifestText = readFileSync(join(model, "model.json"), "utf8");
  const manifest = parseManifest(manifestText);

  const revision = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
  const repository = "e2e/ai-app";
  const channel = `e2e-${randomUUID().slice(0, 8)}`;
  const r = await dagger(configuredCi(revision, registry, repository, channel, model, "json"), { label: "ci-with-registry" });
  console.log(`    ${callLine(r)}`);
  assert.is(r.code, 0, tail(both(r), 60));
  const result = JSON.parse(r.stdout.trim()) as { mode: string; image: string; tags: string[]; modelSha256: string; modelVersion: string };
  assert.is(result.mode, "configured");
  assert.equal(result.tags, buildTags({ revision, modelVersion: manifest.version, channel }));
  const m = /^([^/]+)\/(.+)@(sha256:[0-9a-f]{64})$/.exec(result.image);
  assert.ok(m, `ci image is not a digest reference: ${result.image}`);
  assert.is(m![1], registry);
  assert.is(m![2], repository);
  const digest = m![3]!;
  pushed = { args: [revision, registry, repository, model], digest };

  const reader = new OciReader(registry, reading);
  const listed = await reader.tags(repository);
  for (const tag of result.tags) {
    assert.ok(listed.includes(tag), `tag ${tag} not listed by the registry (${listed.length} tags)`);
    assert.is(await reader.tagDigest(repository, tag), digest, `tag ${tag} names another digest`);
  }

  const image = await reader.image(repository, digest);
  assert.is(image.digest, digest);
  const labels = image.config.config?.Labels ?? {};
  assert.is(labels[IMAGE_LABELS.revision], revision);
  assert.is(labels[IMAGE_LABELS.modelName], manifest.name);
  assert.is(labels[IMAGE_LABELS.modelVersion], manifest.version);
  assert.is(labels[IMAGE_LABELS.modelSha256], modelDigest(manifest));
  assert.is(result.modelSha256, modelDigest(manifest));
  assert.ok((image.config.config?.Env ?? []).includes(`MODEL_DIR=${MODEL_DIR}`), `MODEL_DIR not set: ${image.config.config?.Env}`);

  const prefix = `${MODEL_DIR.slice(1)}/`;
  const files = await reader.files(repository, image.manifest, (p) => p.startsWith(prefix));
  const inImage = files.get(`${prefix}model.json`)?.toString("utf8");
  assert.ok(inImage !== undefined, `no ${MODEL_DIR}/model.json in the image's layers (files: ${[...files.keys()].join(", ")})`);
  assert.is(inImage, manifestText, "the image's model.json differs from the model given to ci");
  for (const f of manifest.files) {
    const data = files.get(`${prefix}${f.path}`);
    assert.ok(data, `${MODEL_DIR}/${f.path} missing from the image`);
    assert.is(createHash("sha256").update(data!).digest("hex"), f.sha256, `${MODEL_DIR}/${f.path}: sha256 differs from model.json`);
  }
});

/** The digests of an image's model layer and app layer (copiedLayerKind). */
async function copiedLayers(reader: OciReader, repository: string, manifest: ImageManifest): Promise<{ model?: string; app?: string }> {
  const found: { model?: string; app?: string } = {};
  for (const layer of manifest.layers) {
    const kind = copiedLayerKind(await reader.layerPaths(repository, layer));
    if (kind !== "other") found[kind] = layer.digest;
  }
  return found;
}

// What must hold across sessions is that the same model and app give byte-identical model and app
// layers (so a code-only commit uploads no model layer). Whether the whole digest repeats is an
// engine matter (docs/engine-notes.md sections 7 and 22): this check prints it, with the layers
// that differ, rather than asserting it.
test("the same ci again on this engine state, under a new channel tag: the same model and app layers (digest reported)", async () => {
  assert.ok(pushed, "the configured ci above did not push");
  const [revision, registry, repository, model] = pushed!.args as [string, string, string, string];
  const channel = `e2e-${randomUUID().slice(0, 8)}`;
  const r = await dagger(configuredCi(revision, registry, repository, channel, model, "image"), { label: "ci-with-registry-again" });
  console.log(`    ${callLine(r)}`);
  assert.is(r.code, 0, tail(both(r), 40));
  const again = /@(sha256:[0-9a-f]{64})$/.exec(r.stdout.trim())?.[1];
  assert.ok(again, `ci printed no digest reference: ${r.stdout.trim()}`);
  const reader = new OciReader(registry, reading);
  assert.is(await reader.tagDigest(repository, channel), again, "the new channel tag names another digest than ci printed");

  const [first, second] = [await reader.image(repository, pushed!.digest), await reader.image(repository, again!)];
  const [a, b] = [first.manifest.layers, second.manifest.layers];
  const differing = b.flatMap((l, i) => (a[i]?.digest === l.digest ? [] : [`#${i} (${a[i]?.size ?? "-"} -> ${l.size} bytes)`]));
  console.log(`    digest: first ${pushed!.digest}, again ${again} (${again === pushed!.digest ? "the same" : "another"})`);
  console.log(
    `    layers: ${b.length - differing.length} of ${b.length} identical${differing.length ? `; differing: ${differing.join(", ")}` : ""}`,
  );

  const [x, y] = [await copiedLayers(reader, repository, first.manifest), await copiedLayers(reader, repository, second.manifest)];
  assert.ok(x.model && x.app, `no layer holding only ${MODEL_DIR} or only ${APP_DIR} in the first image`);
  assert.is(y.model, x.model, "the same model gave another model layer: a code-only commit would upload the model again");
  assert.is(y.app, x.app, "the same source gave another app layer");
  assert.is(a.length, b.length, "the two images have a different number of layers");
});

test.run();
