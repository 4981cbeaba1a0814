/**
 * The model CLI for day-2 questions (separate processes, real Azurite): who moved an alias and
 * when (alias history), how good each version was (list --metrics, model.json's metrics), and
 * hints that name the command the way the caller runs it (the CLI, or the Dagger module).
 */
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Azurite } from "../support/azurite.js";
import { runCli } from "../support/model-cli.js";
import { randomModel, startStoreSuite, stopStoreSuite, StoreSuite, writeModelDir } from "../support/model-fixtures.js";

let az: Azurite;
let root: string;
let suite: Partial<StoreSuite> = {};

test.before(async () => {
  suite = await startStoreSuite();
  ({ az, root } = suite as StoreSuite);
});

test.after(() => stopStoreSuite(suite));

const env = (extra: Record<string, string> = {}) => ({ HOME: root, AZURE_STORAGE_KEY: az.key, USER: "alice", ...extra });
const at = () => ["--account-url", az.accountUrl];

async function ok(args: string[], extra: Record<string, string> = {}) {
  const r = await runCli([...args, ...at()], env(extra));
  assert.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
  return r;
}

test("alias history shows every move of an alias, newest first (who, when, from, to), a removal included; --json gives the record", async () => {
  const name = ["--model-name", "hist"];
  for (const v of ["1.0.0", "1.1.0"]) await ok(["publish", "--dir", randomModel(root, v, 512, "hist")]);
  await ok(["alias", "set", "champion", "--model-version", "1.0.0", ...name]);
  await ok(["alias", "set", "champion", "--model-version", "1.1.0", "--by", "ci run 42", ...name]);
  await ok(["alias", "rm", "champion", "--by", "bob", ...name]);

  const text = (await ok(["alias", "history", "champion", ...name])).stdout;
  const lines = text.trimEnd().split("\n");
  assert.is(lines[0], "@champion of hist: removed; 3 moves, newest first");
  assert.match(lines[1]!, /^ {2}\d{4}-\d\d-\d\dT\S+Z {2}bob {8}1\.1\.0 -> \(removed\)$/);
  assert.match(lines[2]!, /^ {2}\d{4}-\d\d-\d\dT\S+Z {2}ci run 42 {2}1\.0\.0 -> 1\.1\.0$/);
  assert.match(lines[3]!, /^ {2}\d{4}-\d\d-\d\dT\S+Z {2}alice {6}\(not set\) -> 1\.0\.0$/);
  assert.is(lines.length, 4);

  const json = JSON.parse((await ok(["alias", "history", "champion", "--json", ...name])).stdout);
  assert.equal([json.name, json.alias, json.version], ["hist", "champion", null]);
  assert.equal(
    json.history.map((h: { from: string | null; to: string | null; by: string }) => [h.from, h.to, h.by]),
    [
      [null, "1.0.0", "alice"],
      ["1.0.0", "1.1.0", "ci run 42"],
      ["1.1.0", null, "bob"],
    ],
    "the record's own order, oldest first",
  );

  const none = await runCli(["alias", "history", "production", ...name, ...at()], env());
  assert.is(none.code, 1);
  assert.match(none.stderr, /^error: model "hist" has no alias @production in container "models" \(never set, so no history\)/m);
  const usage = await runCli(["alias", "history", "champion", "--by", "me", ...name, ...at()], env());
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /alias history takes no --by/);
});

test("list --metrics adds a column per metric model.json records; list --json always carries them", async () => {
  const name = ["--model-name", "scored"];
  const model = (version: string, metrics: Record<string, unknown>) =>
    writeModelDir(
      join(root, `scored-${version}`),
      "scored",
      version,
      { "model.onnx": "w".repeat(64) },
      { metrics, created: "2025-01-01T00:00:00Z" },
    );
  await ok(["publish", "--dir", model("1.0.0", { heldout_accuracy: 0.9612, heldout_samples: 360 })]);
  await ok(["publish", "--dir", model("1.1.0", { heldout_accuracy: 0.9741 })]);

  const plain = (await ok(["list", ...name])).stdout;
  assert.not.match(plain, /heldout_accuracy/, "without --metrics the table is as before");
  const table = (await ok(["list", "--metrics", ...name])).stdout.split("\n");
  const header = table.find((l) => l.includes("VERSION"))!;
  assert.match(header, /VERSION +FILES +SIZE +PUBLISHED +heldout_accuracy +heldout_samples +STATUS/);
  const col = (label: string) => header.indexOf(label);
  const row = (v: string) => table.find((l) => l.trimStart().startsWith(`${v} `))!;
  assert.is(row("1.1.0").slice(col("heldout_accuracy")).split(/\s+/)[0], "0.9741");
  assert.is(row("1.1.0").slice(col("heldout_samples")).split(/\s+/)[0], "-", "a metric a version does not record");
  assert.is(row("1.0.0").slice(col("heldout_samples")).split(/\s+/)[0], "360");

  const json = JSON.parse((await ok(["list", "--json", ...name])).stdout);
  assert.equal(
    json.versions.map((v: { version: string; metrics: unknown }) => [v.version, v.metrics]),
    [
      ["1.1.0", { heldout_accuracy: 0.9741 }],
      ["1.0.0", { heldout_accuracy: 0.9612, heldout_samples: 360 }],
    ],
  );
});

test("hints name the command as the caller runs it: alias set for the CLI, set-alias --alias for the Dagger module", async () => {
  const name = ["--model-name", "hinted"];
  await ok(["publish", "--dir", randomModel(root, "1.0.0", 256, "hinted")]);
  const cli = await runCli(["resolve", "--model-version", "@champion", ...name, ...at()], env());
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /set one with: alias set champion --model-version X\.Y\.Z/);
  const dagger = await runCli(["resolve", "--model-version", "@champion", ...name, ...at()], env({ MODEL_STORE_CALLER: "dagger" }));
  assert.is(dagger.code, 1);
  assert.match(dagger.stderr, /set one with: set-alias --alias champion --model-version X\.Y\.Z/);
  assert.not.match(dagger.stderr, /alias set/);

  await ok(["alias", "set", "champion", "--model-version", "1.0.0", ...name]);
  const yanked = await ok(["yank", "--model-version", "1.0.0", "--reason", "bad", ...name], { MODEL_STORE_CALLER: "dagger" });
  assert.match(yanked.stderr, /until moved \(set-alias --alias ALIAS --model-version X\.Y\.Z\) or it is unyanked/);
  const refused = await runCli(["resolve", "--model-version", "@champion", ...name, ...at()], env({ MODEL_STORE_CALLER: "dagger" }));
  assert.match(refused.stderr, /move it \(set-alias --alias champion --model-version X\.Y\.Z\) or unyank 1\.0\.0/);
  const listed = (await ok(["list", ...name], { MODEL_STORE_CALLER: "dagger" })).stdout;
  assert.match(listed, /@champion points at 1\.0\.0, which is yanked .*set-alias --alias champion/);
});

test.run();
