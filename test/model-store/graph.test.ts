/**
 * Recorded-graph tests of publish-model, fetch-model and model-versions: the graph the module would send to a
 * Dagger engine, captured by the fake engine. Nothing here runs a container; what runs inside
 * (the CLI) is tested against Azurite in the other files of this folder.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { IMAGES, MODEL_DIR } from "../../dagger/src/images.js";
import { CLI, explainCliFailure, FETCH_OUT, STORE_HOST, StoreArgs, TRANSPILE } from "../../dagger/src/model-store/step.js";
import { parseCli } from "../../dagger/src/model-store/cli-args.js";
import { Op } from "../support/fake-engine.js";
import {
  baseImages,
  contextDir,
  execsStartingWith,
  isPinnedImage,
  queriesOutsideSetSecret,
  modelJsonReads,
  rootLayerCopies,
} from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { callThroughEntrypoint, contextDirectoryId, recordGraph } from "../support/session.js";
import { dag, ExecError } from "../support/sdk.js";
import { MODEL_JSON_FIELDS } from "../support/model-json.js";

const KEY = "account-KEY-plaintext-0123456789==";
const SHA = "c".repeat(64);
const MANIFEST_SHA = "d".repeat(64);
const RESOLVED = JSON.stringify({ name: "digits-classifier", version: "1.4.0", manifestSha256: MANIFEST_SHA, files: [] });
const MODEL_JSON = JSON.stringify({
  name: "digits-classifier",
  version: "1.4.0",
  files: [{ path: "model.onnx", sha256: SHA, size: 4 }],
  ...MODEL_JSON_FIELDS,
});
const modelJson = modelJsonReads(MODEL_JSON);
/** What the CLI's list --json prints. */
const LISTING = {
  name: "digits-classifier",
  container: "models",
  place: 'container "models"',
  endpoint: "http://store:10000/devstoreaccount1",
  latest: "1.4.0",
  versions: [{ version: "1.4.0", complete: true, state: "complete", prerelease: false, files: 1, bytes: 4, aliases: [] }],
  aliases: [],
  ignored: [],
};

const argv = (op: Op) => (op.args.args as string[] | undefined) ?? [];
const cliCommand = (chain: Op[]) => {
  const exec = [...chain].reverse().find((o) => o.field === "withExec");
  return exec && CLI.every((a, i) => argv(exec)[i] === a) ? argv(exec)[CLI.length] : undefined;
};

/** Answers the CLI's stdout per command, and model.json reads for build. */
function respond(chain: Op[]): unknown {
  const leaf = chain.at(-1)!;
  if (leaf.field === "stdout") {
    const cmd = cliCommand(chain);
    if (cmd === "resolve") return RESOLVED + "\n";
    if (cmd === "list") return JSON.stringify(LISTING) + "\n";
    if (cmd === "publish") return 'published digits-classifier 1.4.0 to container "models"\n';
  }
  const manifest = modelJson(chain);
  if (manifest !== undefined) return manifest;
  return undefined;
}

const pipeline = () => new AiAppPipeline(contextDir("/"), "0123456789abcdef0123456789abcdef01234567", "", "");

/** with-store's arguments, by name, in their positional order. */
type StoreOpts = Partial<StoreArgs>;
const store = (o: StoreOpts) =>
  [
    o.container ?? "models",
    o.account,
    o.accountUrl,
    o.connectionString,
    o.sasToken,
    o.accountKey,
    o.tenantId,
    o.clientId,
    o.clientSecret,
    o.federatedToken,
    o.serviceConnectionId,
    o.systemAccessToken,
    o.oidcRequestUri,
    o.managedIdentity ?? false,
    o.storeService,
  ] as const;
const withKey = () => store({ account: "acct01", accountKey: dag.setSecret("storage-key", KEY) });

/** model() with an account key as a Secret. */
function fetchWithKey(p: AiAppPipeline, version = "latest") {
  return p.withStore(...withKey()).fetchModel("digits-classifier", version, false);
}

const execsOf = (engine: Parameters<typeof execsStartingWith>[0], cmd: string) => execsStartingWith(engine, [...CLI, cmd]);
const envOf = (prefix: Op[]) =>
  Object.fromEntries(prefix.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));

test("fetch-model: pinned Node, dependencies layer before the store code, the module's own source, transpiled once", async () => {
  const { engine, error } = await recordGraph(async () => (await fetchWithKey(pipeline())).id(), { respond });
  assert.is(error, undefined, String(error));
  assert.ok(baseImages(engine).every(isPinnedImage), baseImages(engine).join());
  assert.ok(baseImages(engine).includes(IMAGES.node));
  const [fetch] = execsOf(engine, "fetch");
  const chain = fetch!.prefix;
  const npmCi = chain.findIndex((o) => o.field === "withExec" && argv(o).join(" ") === "npm ci --omit=dev --no-audit --no-fund");
  const code = chain.findIndex((o) => o.field === "withDirectory" && o.args.path === "/opt/model-store/src");
  assert.ok(npmCi >= 0 && code > npmCi, "npm ci (cached layer) before the store's code is copied");
  const codeOp = chain[code]!;
  assert.equal(codeOp.args.include, ["model-store/**", "credentials/**"]);
  const transpile = chain.findIndex((o) => o.field === "withExec" && argv(o).join(" ") === TRANSPILE.join(" "));
  assert.ok(transpile > code, "the code is transpiled after it is copied, before the CLI runs");
  assert.ok(
    engine.chainOf(String(codeOp.args.source)).some((o) => o.field === "currentModule"),
    "code comes from the module's own source",
  );
});

test("fetch-model: resolution runs on every call; the download is keyed by version + manifest sha256 only", async () => {
  const { engine, error, result } = await recordGraph(
    async () => {
      const p = pipeline();
      return [await (await fetchWithKey(p)).id(), await (await fetchWithKey(p)).id()];
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const resolves = execsOf(engine, "resolve");
  assert.is(resolves.length, 2);
  const nonces = resolves.map((r) => envOf(r.prefix).MODEL_STORE_CALL_ID);
  assert.ok(nonces[0] && nonces[1] && nonces[0] !== nonces[1], "each resolve carries its own nonce, so Dagger never answers it from cache");
  assert.equal(argv(resolves[0]!.op).slice(CLI.length, CLI.length + 5), [
    "resolve",
    "--model-name",
    "digits-classifier",
    "--model-version",
    "latest",
  ]);

  const fetches = execsOf(engine, "fetch");
  assert.is(fetches.length, 1, "both calls produce the very same download step (one cache key)");
  assert.equal(result![0], result![1], "same Directory id for an unchanged model");
  const fetch = fetches[0]!;
  const args = argv(fetch.op);
  assert.ok(args.join(" ").includes(`--model-version 1.4.0 --expect-manifest-sha256 ${MANIFEST_SHA}`), args.join(" "));
  assert.not.ok(args.includes("latest"));
  assert.is(envOf(fetch.prefix).MODEL_STORE_CALL_ID, undefined, "no nonce on the download step");
  assert.ok(
    fetch.prefix.some((o) => o.field === "withMountedCache" && o.args.path === "/var/cache/model-store"),
    "content cache volume",
  );
  const returned = engine.chainOf(String(result![0]));
  assert.equal(returned.at(-1), { field: "directory", args: { path: FETCH_OUT } });
});

test("fetch-model, model-versions, publish-model: never cached by Dagger (cache: never); with-store takes secrets as Secrets", async () => {
  const m = await introspectModule();
  for (const f of ["fetchModel", "modelVersions", "publishModel"]) assert.is(m.main.functions[f]?.cache, "never", f);
  const model = m.main.functions.fetchModel!;
  assert.is(model.returnType, "Directory");
  assert.is(model.args.modelVersion?.defaultValue, "latest");
  const withStore = m.main.functions.withStore!;
  assert.is(withStore.returnType, "AiAppPipeline", "with-store chains");
  for (const s of ["connectionString", "sasToken", "accountKey", "clientSecret", "federatedToken", "systemAccessToken"]) {
    assert.is(withStore.args[s]?.type, "Secret", `${s} must be a Secret`);
  }
  assert.is(withStore.args.storeService?.type, "Service");
});

test("secrets enter only as secret variables; no plaintext in any query but setSecret", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const p = pipeline();
      await (await p.withStore(...withKey()).fetchModel("digits-classifier", "latest", false)).id();
      await p.withStore(...withKey()).modelVersions("digits-classifier");
      await p.withStore(...withKey()).publishModel(contextDir("/model/out"), "1.4.0");
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  for (const cmd of ["resolve", "fetch", "list", "publish"]) {
    const [exec] = execsOf(engine, cmd);
    assert.ok(exec, `${cmd} ran`);
    const secretVars = exec!.prefix.filter((o) => o.field === "withSecretVariable").map((o) => o.args.name);
    assert.equal(secretVars, ["AZURE_STORAGE_KEY"], cmd);
    assert.not.ok(
      argv(exec!.op).some((a) => a.includes(KEY)),
      `${cmd} argv holds the key`,
    );
  }
  const leaks = queriesOutsideSetSecret(engine).filter((q) => q.includes(KEY));
  assert.equal(leaks, [], "plaintext secret outside setSecret");
  assert.ok(
    engine.recorded.some((r) => r.query.includes(KEY)),
    "the key did go through setSecret",
  );
});

test("with-aws-store: fetch-model, model-versions, publish-model and set-alias on an S3 bucket; keys only as AWS_* secret variables, no plaintext outside setSecret", async () => {
  const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYsecretPLAINTEXT";
  const ID = "AKIAIDPLAINTEXT0000";
  const s3 = (p: AiAppPipeline) =>
    p.withAwsStore("ml-models", "eu-west-1", undefined, false, dag.setSecret("aws-id", ID), dag.setSecret("aws-key", SECRET));
  const { engine, error } = await recordGraph(
    async () => {
      const p = pipeline();
      await (await s3(p).fetchModel("digits-classifier", "latest", false)).id();
      await s3(p).modelVersions("digits-classifier");
      await s3(p).publishModel(contextDir("/model/out"), "1.4.0");
      await s3(p).setAlias("champion", "1.4.0", "digits-classifier", "alice");
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  for (const cmd of ["resolve", "fetch", "list", "publish", "alias"]) {
    const [exec] = execsOf(engine, cmd);
    assert.ok(exec, `${cmd} ran`);
    const secretVars = exec!.prefix.filter((o) => o.field === "withSecretVariable").map((o) => o.args.name);
    assert.equal(secretVars, ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"], cmd);
    const args = argv(exec!.op);
    assert.ok(args.join(" ").includes("--s3-bucket ml-models --s3-region eu-west-1"), `${cmd}: ${args.join(" ")}`);
    assert.not.ok(args.includes("--container") || args.includes("--account"), `${cmd}: no Blob flag`);
    assert.not.ok(
      args.some((a) => a.includes(SECRET) || a.includes(ID)),
      `${cmd} argv holds a key`,
    );
    // What the container runs is what the CLI accepts: the S3 store its flags describe.
    const parsed = parseCli(args.slice(CLI.length), { AWS_ACCESS_KEY_ID: ID, AWS_SECRET_ACCESS_KEY: SECRET, USER: "x" });
    assert.equal([parsed.s3?.bucket, parsed.s3?.region], ["ml-models", "eu-west-1"], cmd);
  }
  const [publish] = execsOf(engine, "publish");
  assert.not.ok(argv(publish!.op).includes("--create-container"), "an S3 bucket is made by its owner, not by publish");
  const leaks = queriesOutsideSetSecret(engine).filter((q) => q.includes(SECRET) || q.includes(ID));
  assert.equal(leaks, [], "plaintext secret outside setSecret");
});

test("with-aws-store checks its arguments where they are typed: a missing sign-in, a bad region, Blob's and S3's stores one at a time", async () => {
  const p = pipeline();
  assert.throws(() => p.withAwsStore("ml-models", "eu-west-1"), /no S3 sign-in given: give --access-key-id and --secret-access-key/);
  assert.throws(
    () => p.withAwsStore("ml-models", "europe", undefined, false, undefined, undefined, undefined, undefined, undefined, undefined, true),
    /--region "europe" is not an AWS region/,
  );
  const m = await introspectModule();
  const f = m.main.functions.withAwsStore!;
  assert.is(f.returnType, "AiAppPipeline", "with-aws-store chains");
  for (const s of ["accessKeyId", "secretAccessKey", "sessionToken", "webIdentityToken"])
    assert.is(f.args[s]?.type, "Secret", `${s} must be a Secret`);
  assert.is(f.args.region?.defaultValue, undefined, "the region is required");
});

test("the fetched Directory is what build mounts at /models", async () => {
  const { engine, error, result } = await recordGraph(
    async () => {
      const p = pipeline();
      return (await p.build(await fetchWithKey(p))).id();
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const image = engine.chainOf(String(result));
  const [models] = rootLayerCopies(engine, image);
  assert.is(models?.path, MODEL_DIR.slice(1), "model copied to /models");
  const source = engine.chainOf(String(models!.copy.args.source));
  assert.equal(source.at(-1), { field: "directory", args: { path: FETCH_OUT } });
  const exec = [...source].reverse().find((o) => o.field === "withExec")!;
  assert.equal(argv(exec).slice(CLI.length, CLI.length + 1), ["fetch"]);
});

test("an Azurite service is reached through a service binding with its development account", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const azurite = dag.container().from(IMAGES.azurite).asService();
      await (
        await pipeline()
          .withStore(...store({ storeService: azurite }))
          .fetchModel("digits-classifier", "latest", false)
      ).id();
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const [fetch] = execsOf(engine, "fetch");
  const binding = fetch!.prefix.find((o) => o.field === "withServiceBinding");
  assert.is(binding?.args.alias, STORE_HOST);
  assert.ok(argv(fetch!.op).join(" ").includes(`--account-url http://${STORE_HOST}:10000/devstoreaccount1`));
  assert.equal(
    fetch!.prefix.filter((o) => o.field === "withSecretVariable").map((o) => o.args.name),
    ["AZURE_STORAGE_KEY"],
  );
});

test("publishing to an Azurite service creates its container; publishing to Azure never does", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const p = pipeline();
      await p
        .withStore(...store({ storeService: dag.container().from(IMAGES.azurite).asService() }))
        .publishModel(contextDir("/model/out"), undefined);
      await p.withStore(...withKey()).publishModel(contextDir("/model/out"), undefined);
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const creates = execsOf(engine, "publish").map((e) => argv(e.op).includes("--create-container"));
  assert.equal(creates.sort(), [false, true]);
});

test("arguments that do not form one credential fail before any container runs, in Dagger's words", async () => {
  const conflict = await recordGraph(
    () =>
      pipeline()
        .withStore(
          ...store({ account: "acct01", accountKey: dag.setSecret("k", KEY), clientSecret: dag.setSecret("c", "client-secret-value") }),
        )
        .modelVersions("digits-classifier"),
    { respond },
  );
  assert.match(
    conflict.error?.message ?? "",
    /conflicting storage credentials: account key \(--account-key\) and Entra ID client secret \(--client-secret\)/,
  );
  assert.is(conflict.engine.find("withExec").length, 0);
  const none = await recordGraph(
    () =>
      pipeline()
        .withStore(...store({ account: "acct01" }))
        .modelVersions("digits-classifier"),
    { respond },
  );
  assert.match(none.error?.message ?? "", /no storage credentials given/);
  const both = await recordGraph(
    () =>
      pipeline()
        .withStore(...store({ account: "acct01", storeService: dag.container().from(IMAGES.azurite).asService() }))
        .modelVersions("digits-classifier"),
    { respond },
  );
  assert.match(both.error?.message ?? "", /--store-service \(Azurite\) replaces the Azure storage arguments; remove --account/);
});

test("publish-model returns the command's output, model-versions the listing as an object", async () => {
  const { result, engine, error } = await recordGraph(
    async () => {
      const p = pipeline();
      return [
        await p.withStore(...withKey()).publishModel(contextDir("/model/out"), "1.4.0"),
        await p.withStore(...withKey()).modelVersions("digits-classifier"),
      ] as const;
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  assert.match(result![0], /^published digits-classifier 1.4.0/);
  assert.match(result![1].summary, /complete, latest/);
  const [pub] = execsOf(engine, "publish");
  assert.ok(
    argv(pub!.op).join(" ").includes("publish --dir /in/model --model-version 1.4.0 --progress --container models --account acct01"),
  );
  const mount = pub!.prefix.find((o) => o.field === "withDirectory" && o.args.path === "/in/model");
  assert.equal(engine.chainOf(String(mount!.args.source)).at(-1), { field: "directory", args: { path: "context:/model/out" } });
  assert.ok(envOf(pub!.prefix).MODEL_STORE_CALL_ID, "publish is never answered from cache");
});

test("every command line the steps send is one the store's CLI accepts", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const p = pipeline().withStore(...withKey());
      await p.publishModel(contextDir("/model/out"), "1.4.0");
      await p.modelVersions("digits-classifier");
      await (await p.fetchModel("digits-classifier", "latest", true)).id();
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const sent = ["publish", "list", "resolve", "fetch"].flatMap((cmd) => execsOf(engine, cmd).map((e) => argv(e.op).slice(CLI.length)));
  assert.is(sent.length, 4, sent.map((a) => a.join(" ")).join("\n"));
  for (const args of sent) parseCli(args, { AZURE_STORAGE_KEY: "a2V5" }); // throws a UsageError on anything it would refuse
});

test("a failing store command surfaces the CLI's own error line", () => {
  const e = new ExecError("process exited", {
    cmd: [...CLI, "fetch"],
    exitCode: 1,
    stdout: "",
    stderr:
      'model.onnx: connection lost at byte 5 of 9 (ECONNRESET); resuming (1/8)\nerror: model "digits-classifier" has no version 9.9.9 in container "models"\n',
  });
  assert.is(
    explainCliFailure(e, "fetch").message,
    'model store fetch failed: model "digits-classifier" has no version 9.9.9 in container "models"',
  );
  const other = new Error("graphql down");
  assert.is(explainCliFailure(other, "fetch"), other);
});

test("through the SDK entrypoint: fetch-model decodes its arguments and returns the fetched directory", async () => {
  const run = await callThroughEntrypoint({
    call: {
      parentName: "AiAppPipeline",
      name: "fetchModel",
      parent: {
        source: contextDirectoryId("/"),
        revision: "abc1234",
        created: "",
        sourceUrl: "",
        store: { container: "models", account: "acct01", managedIdentity: true },
      },
      inputArgs: { modelName: "digits-classifier", modelVersion: "1.4.0" },
    },
    respond,
  });
  assert.is(run.error, undefined, run.output);
  assert.is(run.exitCode, 0, run.output);
  const chain = run.engine.chainOf(String(run.value));
  assert.equal(chain.at(-1), { field: "directory", args: { path: FETCH_OUT } });
  const [resolve] = execsOf(run.engine, "resolve");
  assert.ok(
    argv(resolve!.op)
      .join(" ")
      .includes(
        "resolve --model-name digits-classifier --model-version 1.4.0 --json --container models --account acct01 --managed-identity",
      ),
  );
});

test.run();
