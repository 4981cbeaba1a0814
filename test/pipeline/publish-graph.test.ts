/**
 * Recorded-graph tests of `publish` and `image-digest`: the graph the module would send to a
 * Dagger engine, captured by the fake engine. Nothing here runs a container or pushes to a
 * registry through Dagger; the HTTP parts (ACR exchange, tag -> digest) do run for real
 * against local servers.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { UNSET_REVISION } from "../../dagger/src/pipeline/publish.js";
import { PublishResult } from "../../dagger/src/pipeline/publish-result.js";
import { APP_UID, IMAGES, MODEL_DIR } from "../../dagger/src/images.js";
import { ACR_REFRESH_TOKEN_USER } from "../../dagger/src/registry/client.js";
import { APP_PERMISSIONS, LAYER_MTIME, MODEL_PERMISSIONS } from "../../dagger/src/app-image/image.js";
import { FakeEngine, Op } from "../support/fake-engine.js";
import {
  contextDir,
  execsStartingWith,
  queriesOutsideSetSecret,
  modelJsonReads,
  publishReads,
  RootLayerCopy,
  rootLayerCopies,
} from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";
import { callWithSecrets } from "../support/entrypoint-secrets.js";
import { fakeEntraToken, signRegistryToken, startFakeAcr } from "../support/fake-acr.js";
import { basicAuth, pushImage } from "../support/oci-push.js";
import { RunningRegistry, startRegistry } from "../support/registry.js";
import { dag } from "../support/sdk.js";
import { contextDirectoryId, recordGraph } from "../support/session.js";
import { execFailure } from "../support/exec-errors.js";
import { APP_TEST_COMMAND } from "../../dagger/src/app-image/test.js";

const REVISION = "0123456789abcdef0123456789abcdef01234567";
const CREATED = "2025-01-31T12:00:00Z";
const SOURCE_URL = "https://dev.azure.com/contoso/ai/_git/ai-app";
const MODEL_SHA = "b".repeat(64);
const MANIFEST = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: MODEL_SHA, size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MANIFEST);
const DIGEST = `sha256:${"d".repeat(64)}`;
const publishAnswer = publishReads(DIGEST);
const PASSWORD = "sp-client-secret-Zq8~example";
const REGISTRY = "myacr.azurecr.io";

type Overrides = (chain: Op[]) => unknown;

/** A read of pytest's run (its output: pytest must exit 0, so the exit code is not read). */
const pytestRan = (chain: Op[]) => (chain.at(-2)?.args.args as string[] | undefined)?.slice(0, 3).join(" ") === "python -m pytest";

/** model.json reads, pytest output, publish answers (`<address>@DIGEST`) and setSecret plaintexts. */
function responder(overrides: Overrides = () => undefined) {
  return (chain: Op[]) => {
    const o = overrides(chain);
    if (o !== undefined) return o;
    const manifest = modelJson(chain);
    if (manifest !== undefined) return manifest;
    return publishAnswer(chain);
  };
}

const pipeline = (revision = REVISION, created = CREATED) => new AiAppPipeline(contextDir("/"), revision, created, SOURCE_URL);

/**
 * A real registry (Debian's docker-registry on 127.0.0.1) for the calls that reach the push:
 * just before the channel tag moves, publish asks the registry what it points at now.
 */
let local: RunningRegistry | undefined;
const localRegistry = async () => (local ??= await startRegistry());
test.after(async () => {
  await local?.stop();
});

/** Index in the recorded query order of the first query whose chain satisfies `pred`. */
const firstRecorded = (engine: FakeEngine, pred: (chain: Op[]) => boolean) => engine.recorded.findIndex((r) => pred(r.chain));

const leafIs = (field: string) => (chain: Op[]) => chain.at(-1)?.field === field;

function secretOf(engine: FakeEngine, auth: Op): Op[] {
  return engine.chainOf(String(auth.args.secret));
}

test("publish with --username/--password: tests first, three tags, one digest reference, password only as a Secret", async () => {
  const { address } = await localRegistry();
  const { engine, error, result } = await recordGraph(
    () =>
      pipeline()
        .withRegistry(address, "ai-app", "acr-push-sp", dag.setSecret("acr-password", PASSWORD))
        .publish("refs/heads/main", contextDir("/model/out")),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.ok(result instanceof PublishResult, "publish returns a PublishResult");
  const r = result as PublishResult;
  const facts = {
    image: `${address}/ai-app@${DIGEST}`,
    digest: DIGEST,
    channel: "main",
    tags: [REVISION, "model-1.4.0", "main"],
    revision: REVISION,
    tests: r.tests,
    modelName: "digits-classifier",
    modelVersion: "1.4.0",
    modelSha256: MODEL_SHA,
    modelSigner: "",
    signature: "",
  };
  assert.equal({ ...r, summary: "", json: "" }, { ...facts, summary: "", json: "" }, "every field, as the image's labels and tags say");
  assert.equal(JSON.parse(r.json), facts, "json: the same facts for the next CI step");
  assert.match(r.summary, `image: ${address}/ai-app@${DIGEST}`);
  assert.match(r.summary, `model: digits-classifier 1.4.0 sha256:${MODEL_SHA}`);
  assert.match(r.summary, `tags: ${REVISION}, model-1.4.0, main`);

  const publishes = engine.find("publish");
  assert.equal(
    publishes.map((p) => p.op.args.address),
    [`${address}/ai-app:${REVISION}`, `${address}/ai-app:model-1.4.0`, `${address}/ai-app:main`],
  );

  const pytest = firstRecorded(engine, pytestRan);
  const firstPublish = firstRecorded(engine, leafIs("publish"));
  assert.ok(pytest >= 0, "pytest ran");
  assert.ok(pytest < firstPublish, "pytest finished before the first publish");
  assert.ok(
    pytest < firstRecorded(engine, (c) => c.at(-2)?.field === "withExec" && (c.at(-2)!.args.args as string[])[0] === "sha256sum"),
    "tests before the model check",
  );

  for (const p of publishes) {
    const auths = p.prefix.filter((o) => o.field === "withRegistryAuth");
    assert.is(auths.length, 1, "one registry login per push");
    assert.equal(
      { address: auths[0]!.args.address, username: auths[0]!.args.username },
      { address: `${address}/ai-app`, username: "acr-push-sp" },
    );
    assert.equal(secretOf(engine, auths[0]!), [{ field: "setSecret", args: { name: "acr-password", plaintext: PASSWORD } }]);

    const labels = Object.fromEntries(p.prefix.filter((o) => o.field === "withLabel").map((o) => [o.args.name, o.args.value]));
    assert.equal(labels, {
      "org.opencontainers.image.title": "ai-app",
      "org.opencontainers.image.revision": REVISION,
      "org.opencontainers.image.version": `${REVISION}+model.1.4.0`,
      "org.opencontainers.image.base.name": IMAGES.python,
      "org.opencontainers.image.source": SOURCE_URL,
      "org.opencontainers.image.created": CREATED,
      "ai-app-pipeline.model.name": "digits-classifier",
      "ai-app-pipeline.model.version": "1.4.0",
      "ai-app-pipeline.model.sha256": MODEL_SHA,
    });
    // The model and the app each arrive as one whole new path copied to "/", from a Directory
    // whose modes and mtimes are fixed there (Container.withDirectory ignores permissions, and a
    // directory the copy creates gets the copy's time: docs/engine-notes.md sections 6 and 7).
    const layers = rootLayerCopies(engine, p.prefix);
    assert.equal(
      layers.map((l) => l.path),
      [MODEL_DIR.slice(1), "app"],
      "model layer before the code layer",
    );
    const [model, app] = layers as [RootLayerCopy, RootLayerCopy];
    assert.is(model.owner, "0:0");
    assert.equal(
      { permissions: model.copy.args.permissions, include: model.copy.args.include },
      { permissions: MODEL_PERMISSIONS, include: ["model.json", "model.onnx"] },
    );
    assert.is(MODEL_PERMISSIONS & 0o222, 0, "no write bit for anyone");
    assert.is(MODEL_PERMISSIONS & 0o111, 0o111, "directories stay traversable");
    for (const l of layers) assert.is(l.timestamps, LAYER_MTIME, `${l.path}: fixed mtimes`);
    assert.is(app.copy.args.permissions, APP_PERMISSIONS, "app modes fixed, whatever the checkout's umask");
    assert.ok((app.copy.args.exclude as string[]).includes("tests"), "no tests in the image");
    const schema = engine.chainOf(String(app.copy.args.source)).at(-1);
    assert.equal(
      schema?.field === "withFile" && schema.args.path,
      "scoring/model.schema.json",
      "model.json's schema in the code layer, where the app reads it",
    );
    assert.equal(engine.chainOf(String(schema!.args.source)).at(-1), {
      field: "file",
      args: { path: "src/model-store/model.schema.json" },
    });
    assert.ok(
      !p.prefix.some((o) => o.field === "withDirectory" && (o.args.path === MODEL_DIR || o.args.path === "/app")),
      "nothing copied into a directory the copy would create",
    );
    assert.is(p.prefix.filter((o) => o.field === "withUser").at(-1)?.args.name, `${APP_UID}:${APP_UID}`);
    assert.ok(
      p.prefix.some((o) => o.field === "withoutMount" && o.args.path === "/root/.cache/pip"),
      "no pip cache in the image",
    );
  }
  const leaks = queriesOutsideSetSecret(engine).filter((q) => q.includes(PASSWORD));
  assert.equal(leaks, [], "the password appears only in setSecret");
});

test("a failing test suite: nothing verified, built, logged in or published", async () => {
  const { engine, error } = await recordGraph(
    () =>
      pipeline()
        .withRegistry(REGISTRY, "ai-app", "acr-push-sp", dag.setSecret("acr-password", PASSWORD))
        .publish("main", contextDir("/model/out")),
    {
      respond: responder((c) => {
        if (pytestRan(c))
          throw execFailure({ cmd: APP_TEST_COMMAND, exitCode: 1, stdout: "FAILED tests/test_api.py::test_score\n1 failed" });
        return undefined;
      }),
    },
  );
  assert.match(error?.message ?? "", /app tests failed \(pytest exit code 1\)/);
  assert.is(engine.find("publish").length, 0, "no publish op at all");
  assert.is(engine.find("withRegistryAuth").length, 0);
  assert.is(execsStartingWith(engine, ["sha256sum"]).length, 0);
});

test("different digests for the tags of one build are an error", async () => {
  let n = 0;
  const { address } = await localRegistry();
  const { error } = await recordGraph(() => pipeline().withRegistry(address, "ai-app").publish("main", contextDir("/model/out")), {
    respond: responder((c) =>
      c.at(-1)?.field === "publish" ? `${String(c.at(-1)!.args.address)}@sha256:${String(n++).repeat(64)}` : undefined,
    ),
  });
  assert.match(error?.message ?? "", /were pushed with different digests/);
});

test("publish without credentials pushes without any registry login", async () => {
  const { address } = await localRegistry();
  const { engine, error, result } = await recordGraph(
    () => pipeline().withRegistry(address, "team/ai-app").publish("main", contextDir("/model/out")),
    { respond: responder() },
  );
  assert.is(error, undefined, String(error));
  assert.is((result as PublishResult | undefined)?.image, `${address}/team/ai-app@${DIGEST}`);
  assert.is(engine.find("withRegistryAuth").length, 0);
  assert.is(engine.find("publish").length, 3);
});

test("invalid names, created time or auth arguments fail before the engine is asked anything", async () => {
  const pw = () => dag.setSecret("acr-password", PASSWORD);
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    [
      "scheme in registry",
      async () => pipeline().withRegistry("https://myacr.azurecr.io", "ai-app").publish("main", contextDir("/model/out")),
      /without a scheme/,
    ],
    [
      "registry with a path",
      async () => pipeline().withRegistry("myacr.azurecr.io/team", "ai-app").publish("main", contextDir("/model/out")),
      /put the path in --repository/,
    ],
    [
      "uppercase repository",
      async () => pipeline().withRegistry(REGISTRY, "AI-App").publish("main", contextDir("/model/out")),
      /repository names are lowercase/,
    ],
    [
      "empty channel",
      () => pipeline().withRegistry(REGISTRY, "ai-app").publish("refs/heads/", contextDir("/model/out")),
      /empty channel tag/,
    ],
    ["blank revision", () => pipeline("  ").withRegistry(REGISTRY, "ai-app").publish("main", contextDir("/model/out")), /--revision/],
    // A laptop publish with README's old example: no model, no store, no revision.
    [
      "the sample model",
      () => pipeline().withRegistry(REGISTRY, "ai-app").publish("main"),
      /a model: configure the store .* or pass --model/,
    ],
    [
      "the default revision",
      () => pipeline(UNSET_REVISION).withRegistry(REGISTRY, "ai-app").publish("main", contextDir("/model/out")),
      /--revision "\$\(git rev-parse HEAD\)"/,
    ],
    [
      "a blank channel",
      () => pipeline().withRegistry(REGISTRY, "ai-app").publish(" ", contextDir("/model/out")),
      /the channel tag it moves/,
    ],
    [
      "bad created",
      () => pipeline(REVISION, "yesterday").withRegistry(REGISTRY, "ai-app").publish("main", contextDir("/model/out")),
      /not an RFC 3339 time/,
    ],
    [
      "username alone",
      async () => pipeline().withRegistry(REGISTRY, "ai-app", "acr-push-sp").publish("main", contextDir("/model/out")),
      /--username needs --password/,
    ],
    [
      "password alone",
      async () => pipeline().withRegistry(REGISTRY, "ai-app", undefined, pw()).publish("main", contextDir("/model/out")),
      /--password needs --username/,
    ],
    [
      "two modes",
      async () => pipeline().withRegistry(REGISTRY, "ai-app", "u", pw(), pw()).publish("main", contextDir("/model/out")),
      /two different ways to log in/,
    ],
    ["digest: bad tag", () => pipeline().withRegistry(REGISTRY, "ai-app").imageDigest("-bad"), /not a valid OCI tag/],
  ];
  for (const [name, fn, re] of cases) {
    const { engine, error } = await recordGraph(fn, { respond: responder() });
    assert.match(error?.message ?? "(no error)", re, `${name}: ${error?.message}`);
    assert.is(
      engine.recorded.length,
      0,
      `${name}: the engine was asked ${engine.recorded.map((r) => engine.describe(r.chain)).join("; ")}`,
    );
    assert.not.match(error!.message, new RegExp(PASSWORD.replace(/[.*+?^${}()|[\]\\~]/g, "\\$&")));
  }
});

test("publish with --entra-token: exchanged before the tests run, refresh token enters only via setSecret as user 0000...", async () => {
  const tenant = "11111111-2222-3333-4444-555555555555";
  const entra = fakeEntraToken(tenant);
  const events: string[] = [];
  const acr = await startFakeAcr({ entraToken: entra, tenant, onRequest: (r) => events.push(r.path) });
  acr.setRegistryService(acr.address);
  try {
    const { engine, error, result } = await recordGraph(
      () =>
        pipeline()
          .withRegistry(acr.address, "ai-app", undefined, undefined, dag.setSecret("entra", entra))
          .publish("main", contextDir("/model/out")),
      { respond: responder((c) => (pytestRan(c) ? (events.push("pytest"), undefined) : undefined)) },
    );
    assert.is(error, undefined, String(error));
    assert.is((result as PublishResult | undefined)?.image, `${acr.address}/ai-app@${DIGEST}`);
    assert.ok(
      events.indexOf("/oauth2/exchange") >= 0 && events.indexOf("/oauth2/exchange") < events.indexOf("pytest"),
      `exchange first: ${events.join(", ")}`,
    );
    const exchange = acr.requests.find((r) => r.path === "/oauth2/exchange")!;
    assert.equal(exchange.form, { grant_type: "access_token", service: acr.address, tenant, access_token: entra });
    const [refresh] = acr.refreshTokens;
    const publishes = engine.find("publish");
    assert.is(publishes.length, 3);
    for (const p of publishes) {
      const auth = p.prefix.find((o) => o.field === "withRegistryAuth")!;
      assert.equal(
        { address: auth.args.address, username: auth.args.username },
        { address: `${acr.address}/ai-app`, username: ACR_REFRESH_TOKEN_USER },
      );
      assert.equal(secretOf(engine, auth), [
        { field: "setSecret", args: { name: `acr-refresh-token-${acr.address}`, plaintext: refresh } },
      ]);
    }
    const outside = queriesOutsideSetSecret(engine);
    assert.equal(
      outside.filter((q) => q.includes(refresh!) || q.includes(entra)),
      [],
      "no token outside setSecret",
    );
  } finally {
    await acr.stop();
  }
});

test("publish with a rejected Entra token fails before tests, build or push", async () => {
  const tenant = "11111111-2222-3333-4444-555555555555";
  const acr = await startFakeAcr({ entraToken: fakeEntraToken(tenant), tenant });
  acr.setRegistryService(acr.address);
  const wrong = fakeEntraToken(tenant);
  try {
    const { engine, error } = await recordGraph(
      () =>
        pipeline()
          .withRegistry(acr.address, "ai-app", undefined, undefined, dag.setSecret("entra", wrong))
          .publish("main", contextDir("/model/out")),
      { respond: responder() },
    );
    assert.match(error?.message ?? "", /rejected the Entra ID token \(HTTP 401/);
    assert.not.ok(error!.message.includes(wrong));
    assert.is(engine.find("withExec").length, 0, "nothing ran");
    assert.is(engine.find("publish").length, 0);
  } finally {
    await acr.stop();
  }
});

// ---- the channel tag only moves forward ----

/** Answers the engine's label reads of the image at `digest` (the channel's image) with `labels`. */
const channelLabels = (digest: string, labels: Record<string, string>) => (chain: Op[]) =>
  chain.at(-1)?.field === "label" && chain.some((o) => o.field === "from" && String(o.args.address).endsWith(`@${digest}`))
    ? (labels[String(chain.at(-1)!.args.name)] ?? null)
    : undefined;

test("publish refuses to move the channel tag to an older commit's image: the registry says where main points, the engine reads its labels; --force moves it", async () => {
  const { address, url } = await localRegistry();
  const there = await pushImage({ url }, "guarded", ["main"], { seed: "newer commit" });
  const newer = { "org.opencontainers.image.revision": "f".repeat(40), "org.opencontainers.image.created": "2025-02-01T09:00:00Z" };
  const publish = (force: boolean) =>
    recordGraph(() => pipeline().withRegistry(address, "guarded").publish("main", contextDir("/model/out"), undefined, force), {
      respond: responder(channelLabels(there.digest, newer)),
    });
  const refused = await publish(false);
  assert.match(refused.error?.message ?? "(no error)", `the channel tag main points at ${address}/guarded@${there.digest}`);
  assert.match(refused.error?.message ?? "", `revision ${REVISION} was committed earlier (${CREATED})`);
  assert.match(refused.error?.message ?? "", "--force");
  assert.equal(
    refused.engine.find("publish").map((p) => String(p.op.args.address).split(":").at(-1)),
    [REVISION, "model-1.4.0"],
    "the revision and model tags pushed, the channel not moved",
  );
  const labelsRead = refused.engine.find("label").filter((l) => l.prefix.some((o) => o.field === "from"));
  assert.ok(labelsRead.length > 0, "the channel image's labels read by the engine");

  const forced = await publish(true);
  assert.is(forced.error, undefined, String(forced.error));
  assert.equal(
    forced.engine.find("publish").map((p) => String(p.op.args.address).split(":").at(-1)),
    [REVISION, "model-1.4.0", "main"],
  );

  // a newer commit moves it; so does a new channel
  const older = { ...newer, "org.opencontainers.image.created": "2025-01-01T00:00:00Z" };
  const ahead = await recordGraph(() => pipeline().withRegistry(address, "guarded").publish("main", contextDir("/model/out")), {
    respond: responder(channelLabels(there.digest, older)),
  });
  assert.is(ahead.error, undefined, String(ahead.error));
  const fresh = await recordGraph(() => pipeline().withRegistry(address, "guarded").publish("feature-x", contextDir("/model/out")), {
    respond: responder(channelLabels(there.digest, newer)),
  });
  assert.is(fresh.error, undefined, String(fresh.error));
});

test("through the SDK entrypoint: publish decodes --password as a Secret id and returns a PublishResult with every field", async () => {
  const { address } = await localRegistry();
  const run = await callWithSecrets({
    secrets: { pw: PASSWORD },
    call: {
      parentName: "AiAppPipeline",
      name: "publish",
      // with-registry's saved state, as the engine sends it back: the password is an id string in the nested object
      parent: (ids) => ({
        source: contextDirectoryId("/"),
        revision: REVISION,
        created: CREATED,
        sourceUrl: SOURCE_URL,
        registry: { address: address, repository: "ai-app", username: "acr-push-sp", password: ids.pw },
      }),
      inputArgs: () => ({ model: contextDirectoryId("/model/out"), channel: "refs/heads/release/2.0" }),
    },
    respond: responder(),
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  const value = run.value as Record<string, unknown>;
  assert.equal(Object.keys(value).sort(), Object.keys(new PublishResult()).sort(), "every declared field, nothing else");
  assert.equal([value.image, value.channel], [`${address}/ai-app@${DIGEST}`, "release-2.0"]);
  const publishes = run.engine.find("publish");
  assert.equal(
    publishes.map((p) => p.op.args.address),
    [`${address}/ai-app:${REVISION}`, `${address}/ai-app:model-1.4.0`, `${address}/ai-app:release-2.0`],
  );
  const auth = publishes[0]!.prefix.find((o) => o.field === "withRegistryAuth")!;
  assert.equal(secretOf(run.engine, auth), [{ field: "setSecret", args: { name: "pw", plaintext: PASSWORD } }]);
  assert.equal(
    queriesOutsideSetSecret(run.engine).filter((q) => q.includes(PASSWORD)),
    [],
  );
});

test("through the SDK entrypoint: image-digest resolves a tag on a real htpasswd registry with a Secret password", async () => {
  const reg = await startRegistry({ users: { alice: PASSWORD } });
  try {
    const pushed = await pushImage({ url: reg.url, authorization: basicAuth("alice", PASSWORD) }, "ai-app", ["main"]);
    const call = (password: string) =>
      callWithSecrets({
        secrets: { pw: password },
        call: {
          parentName: "AiAppPipeline",
          name: "imageDigest",
          parent: (ids) => ({
            source: contextDirectoryId("/"),
            revision: "dev",
            registry: { address: reg.address, repository: "ai-app", username: "alice", password: ids.pw },
          }),
          inputArgs: () => ({}),
        },
      });
    const ok = await call(PASSWORD);
    assert.is(ok.error, undefined, ok.output);
    assert.is(ok.value, `${reg.address}/ai-app@${pushed.digest}`);
    assert.equal(
      queriesOutsideSetSecret(ok.engine).filter((q) => q.includes(PASSWORD)),
      [],
    );
    const bad = await call("not-the-password");
    assert.is(bad.exitCode, 1);
    assert.match(bad.error ?? "", /rejected the credentials \(HTTP 401\)/);
    assert.not.ok((bad.error ?? "").includes("not-the-password"));
  } finally {
    await reg.stop();
  }
});

test("through the SDK entrypoint: image-digest with --entra-token: exchange, refresh_token grant, real registry with token auth", async () => {
  const tenant = "11111111-2222-3333-4444-555555555555";
  const entra = fakeEntraToken(tenant);
  const acr = await startFakeAcr({ entraToken: entra, tenant });
  acr.setRegistryService("fakeacr.azurecr.io");
  const reg = await startRegistry({
    token: { realm: `${acr.url}/oauth2/token`, service: "fakeacr.azurecr.io", issuer: acr.issuer, certPath: acr.key.certPath },
  });
  try {
    const setup = signRegistryToken(acr.key, {
      issuer: acr.issuer,
      service: "fakeacr.azurecr.io",
      subject: "setup",
      access: [{ type: "repository", name: "ai-app", actions: ["pull", "push"] }],
    });
    const pushed = await pushImage({ url: reg.url, authorization: `Bearer ${setup}` }, "ai-app", ["main"]);
    const run = await callWithSecrets({
      secrets: { entra },
      call: {
        parentName: "AiAppPipeline",
        name: "imageDigest",
        parent: (ids) => ({
          source: contextDirectoryId("/"),
          revision: "dev",
          registry: { address: reg.address, repository: "ai-app", entraToken: ids.entra },
        }),
        inputArgs: () => ({ channel: "main" }),
      },
    });
    assert.is(run.error, undefined, run.output);
    assert.is(run.value, `${reg.address}/ai-app@${pushed.digest}`);
    assert.equal(
      acr.requests.filter((r) => r.method === "POST").map((r) => [r.path, r.form?.grant_type]),
      [
        ["/oauth2/exchange", "access_token"],
        ["/oauth2/token", "refresh_token"],
      ],
    );
    assert.equal(
      queriesOutsideSetSecret(run.engine).filter((q) => q.includes(entra) || acr.refreshTokens.some((t) => q.includes(t))),
      [],
    );
  } finally {
    await reg.stop();
    await acr.stop();
  }
});

test("publish and image-digest are never cached; with-registry's secrets are typed Secret", async () => {
  const m = await introspectModule();
  for (const name of ["publish", "imageDigest"]) {
    const f = m.main.functions[name]!;
    assert.is(f.cache, "never", `${name} must not be served from Dagger's function cache`);
  }
  {
    const f = m.main.functions.withRegistry!;
    assert.is(f.args.password?.type, "Secret");
    assert.is(f.args.entraToken?.type, "Secret");
    assert.is(f.args.username?.type, "string");
    assert.ok(f.args.address && !f.args.address.optional, "address is required");
  }
  assert.is(m.main.functions.publish!.args.model?.type, "Directory");
  assert.is(m.main.functions.publish!.returnType, "PublishResult");
});

test.run();
