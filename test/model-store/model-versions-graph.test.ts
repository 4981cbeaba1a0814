/**
 * model-versions through the recorded graph: one `list --json` in the store's CLI container, read
 * into an object (summary for people, json and fields for the next step); and the CLI's hints in
 * the module's words, since every CLI step runs with MODEL_STORE_CALLER=dagger.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { AiAppPipeline } from "../../dagger/src/index.js";
import { ModelVersions } from "../../dagger/src/model-store/model-versions.js";
import { CLI } from "../../dagger/src/model-store/step.js";
import { CALLER_ENV } from "../../dagger/src/model-store/hints.js";
import { ListingJson, listingTable } from "../../dagger/src/model-store/listing.js";
import { Op } from "../support/fake-engine.js";
import { contextDir } from "../support/graph.js";
import { introspectModule } from "../support/introspect.js";
import { recordGraph } from "../support/session.js";
import { dag } from "../support/sdk.js";

const argv = (op: Op) => (op.args.args as string[] | undefined) ?? [];
const cliArgs = (chain: Op[]) => {
  const exec = [...chain].reverse().find((o) => o.field === "withExec");
  return exec && CLI.every((a, i) => argv(exec)[i] === a) ? argv(exec).slice(CLI.length) : undefined;
};

const LISTING: ListingJson = {
  name: "digits-classifier",
  container: "models",
  place: 'container "models"',
  endpoint: "https://mystorage.blob.core.windows.net",
  latest: "1.1.0",
  versions: [
    {
      version: "1.2.0",
      complete: true,
      state: "complete",
      prerelease: false,
      files: 2,
      bytes: 4096,
      published: "2026-12-01T10:00:00.000Z",
      aliases: [],
      yanked: { reason: "accuracy regression", by: "alice", at: "2026-12-02T10:00:00.000Z" },
      metrics: { heldout_accuracy: 0.91 },
    },
    {
      version: "1.1.0",
      complete: true,
      state: "complete",
      prerelease: false,
      files: 2,
      bytes: 4096,
      published: "2026-11-01T10:00:00.000Z",
      aliases: ["champion"],
      metrics: { heldout_accuracy: 0.97, heldout_samples: 360 },
    },
    {
      version: "1.0.1",
      complete: false,
      state: "incomplete",
      prerelease: false,
      reason: "no model.json (upload unfinished or abandoned)",
      files: 1,
      bytes: 10,
      aliases: [],
    },
  ],
  aliases: [{ alias: "champion", version: "1.1.0", resolves: true }],
  ignored: [],
};

function respond(chain: Op[]): unknown {
  const args = cliArgs(chain);
  if (chain.at(-1)!.field === "stdout" && args?.[0] === "list") return JSON.stringify(LISTING) + "\n";
  return undefined;
}

const withStore = () =>
  new AiAppPipeline(contextDir("/"), "0123456789abcdef0123456789abcdef01234567", "", "").withStore(
    "models",
    "mystorage",
    undefined,
    undefined,
    undefined,
    dag.setSecret("key", "account-key-plaintext=="),
  );

test("model-versions runs list --json once and returns an object: latest, the versions, the table people read (metrics included) and the json", async () => {
  const { engine, error, result } = await recordGraph(() => withStore().modelVersions("digits-classifier"), { respond });
  assert.is(error, undefined, String(error));
  const lists = engine.find("withExec").filter((e) => argv(e.op)[CLI.length] === "list");
  assert.is(lists.length, 1, "one listing: summary and json agree");
  assert.ok(argv(lists[0]!.op).includes("--json"));
  assert.ok(result instanceof ModelVersions);
  const r = result as ModelVersions;
  assert.equal([r.name, r.latest, r.versions, r.complete], ["digits-classifier", "1.1.0", ["1.2.0", "1.1.0", "1.0.1"], ["1.2.0", "1.1.0"]]);
  assert.is(r.summary, listingTable(LISTING, { metrics: true }));
  assert.match(r.summary, /heldout_accuracy/);
  assert.equal(JSON.parse(r.json), LISTING);
});

test("every model-store CLI step runs with MODEL_STORE_CALLER=dagger, so its hints name the module's functions (set-alias --alias ...)", async () => {
  const { engine, error } = await recordGraph(
    async () => {
      const p = withStore();
      await p.modelVersions("digits-classifier");
      await p.setAlias("champion", "1.1.0", "digits-classifier", "alice");
    },
    { respond },
  );
  assert.is(error, undefined, String(error));
  const execs = engine.find("withExec").filter((e) => cliArgs([...e.prefix, e.op]) !== undefined);
  assert.ok(execs.length >= 2, "list and alias set ran");
  for (const e of execs) {
    const env = Object.fromEntries(e.prefix.filter((o) => o.field === "withEnvVariable").map((o) => [o.args.name, o.args.value]));
    assert.is(env[CALLER_ENV], "dagger", argv(e.op).slice(CLI.length).join(" "));
  }
});

test("model-versions is registered as returning ModelVersions, never cached", async () => {
  const f = (await introspectModule()).main.functions.modelVersions!;
  assert.equal([f.returnType, f.cache], ["ModelVersions", "never"]);
});

test.run();
