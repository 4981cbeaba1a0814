/**
 * Aliases and yanking through the command a data scientist runs (separate processes, a real
 * server once per backend: Azurite for Blob Storage, versitygw for S3): alias set/rm, yank/unyank with --by and --reason, @alias wherever a version is
 * chosen, the warning on a yanked pin, an alias refusing a yanked version, and list showing both.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runCli } from "../support/model-cli.js";
import { backendTitle, randomModel, startStoreSuite, stopStoreSuite, StoreSuite } from "../support/model-fixtures.js";
import { BACKENDS } from "../support/store-servers.js";

for (const kind of BACKENDS) {
  const test = suite(`aliases and yanks through the command on ${backendTitle(kind)}`);
  let root: string;
  let server: StoreSuite["server"];
  let suiteState: Partial<StoreSuite> = {};

  test.before(async () => {
    suiteState = await startStoreSuite(kind);
    ({ server, root } = suiteState as StoreSuite);
  });

  test.after(() => stopStoreSuite(suiteState));

  const env = () => ({ HOME: root, ...server.cliEnv(), USER: "alice" });
  const at = () => server.cliFlags();
  const NAME = ["--model-name", "gov-cli"];

  async function ok(args: string[]) {
    const r = await runCli([...args, ...at()], env());
    assert.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    return r;
  }

  test("train, publish, promote to champion, yank: the walkthrough's commands, end to end", async () => {
    for (const v of ["1.0.0", "1.1.0"]) await ok(["publish", "--dir", randomModel(root, v, 2048, "gov-cli")]);
    const set = await ok(["alias", "set", "champion", "--model-version", "1.0.0", ...NAME]);
    assert.is(set.stdout, "@champion of gov-cli now points at 1.0.0\n");
    const resolved = JSON.parse((await ok(["resolve", "--model-version", "@champion", "--json", ...NAME])).stdout);
    assert.equal([resolved.version, resolved.alias, resolved.yanked], ["1.0.0", "champion", undefined]);

    const moved = await ok(["alias", "set", "champion", "--model-version", "1.1.0", "--by", "ci run 42", ...NAME]);
    assert.is(moved.stdout, "@champion of gov-cli now points at 1.1.0 (was 1.0.0)\n");

    const yanked = await ok(["yank", "--model-version", "1.1.0", "--reason", "accuracy regression", ...NAME]);
    assert.is(
      yanked.stdout,
      "yanked gov-cli 1.1.0: latest skips it, aliases pointing at it refuse it, exact pins still fetch it with a warning\n",
    );
    assert.match(yanked.stderr, /note: @champion point\(s\) at it and refuse\(s\) to resolve until moved/);

    const latest = await ok(["resolve", ...NAME]);
    assert.match(latest.stdout, /^gov-cli 1\.0\.0 /);
    const out = join(root, "pinned");
    const refused = await runCli(
      ["fetch", "--out", join(root, "through-alias"), "--model-version", "@champion", "--no-cache", ...NAME, ...at()],
      env(),
    );
    assert.is(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: alias @champion of "gov-cli" points at 1\.1\.0, which is yanked \("accuracy regression", by "alice" at ".+"\); an alias resolves only to a version in use: move it \(alias set champion --model-version X\.Y\.Z\) or unyank 1\.1\.0$/m,
    );
    assert.is(existsSync(join(root, "through-alias")), false, "nothing fetched");
    const pinned = await ok(["fetch", "--out", out, "--model-version", "1.1.0", "--no-cache", ...NAME]);
    assert.match(pinned.stdout, /^fetched gov-cli 1\.1\.0 into /);
    assert.match(
      pinned.stderr,
      /^warning: gov-cli 1\.1\.0 is yanked: "accuracy regression" \(by "alice" at ".+"\); use another version or unyank it$/m,
    );
    assert.is(JSON.parse(readFileSync(join(out, "model.json"), "utf8")).version, "1.1.0");

    const table = (await ok(["list", ...NAME])).stdout;
    assert.match(table, /1\.1\.0 .*complete, @champion, yanked: accuracy regression\n/);
    assert.match(table, /1\.0\.0 .*complete, latest\n/);
    assert.match(
      table,
      /\naliases that do not resolve:\n {2}@champion points at 1\.1\.0, which is yanked \("accuracy regression", by "alice" at ".+"\); .*or unyank 1\.1\.0\n/,
    );
    const json = JSON.parse((await ok(["list", "--json", ...NAME])).stdout);
    assert.is(json.latest, "1.0.0");
    assert.equal(json.versions[0].aliases, ["champion"]);
    assert.equal(
      json.aliases.map((a: { alias: string; version: string; resolves: boolean }) => [a.alias, a.version, a.resolves]),
      [["champion", "1.1.0", false]],
    );
    assert.match(json.aliases[0].reason, /^points at 1\.1\.0, which is yanked/);
    assert.equal([json.versions[0].yanked.reason, json.versions[0].yanked.by], ["accuracy regression", "alice"]);

    assert.is((await ok(["unyank", "--model-version", "1.1.0", ...NAME])).stdout, "unyanked gov-cli 1.1.0\n");
    assert.is((await ok(["alias", "rm", "champion", ...NAME])).stdout, "removed @champion of gov-cli (it pointed at 1.1.0)\n");
    const gone = await runCli(["resolve", "--model-version", "@champion", ...NAME, ...at()], env());
    assert.is(gone.code, 1);
    assert.match(gone.stderr, /^error: model "gov-cli" has no alias @champion \(it was removed\)/);
  });

  test("an alias record naming another alias: resolve and fetch fail closed naming the blob, list (text and JSON) shows it invalid, alias set replaces it", async () => {
    const name = ["--model-name", "gov-cli-planted"];
    await ok(["publish", "--dir", randomModel(root, "1.0.0", 2048, "gov-cli-planted")]);
    await ok(["alias", "set", "production", "--model-version", "1.0.0", ...name]);
    // Someone with write access copies production's record over champion's blob.
    const copied = (await server.read("gov-cli-planted/_aliases/production.json"))!;
    await server.plant("gov-cli-planted/_aliases/champion.json", copied);

    const out = join(root, "planted");
    const refused = await runCli(["fetch", "--out", out, "--model-version", "@champion", "--no-cache", ...name, ...at()], env());
    assert.is(refused.code, 1);
    assert.match(
      refused.stderr,
      /^error: alias @champion of "gov-cli-planted" is invalid: gov-cli-planted\/_aliases\/champion\.json names alias "production", not "champion"; set it again \(alias set champion --model-version X\.Y\.Z\) or remove it \(alias rm champion\)$/m,
    );
    assert.is(existsSync(out), false, "nothing fetched");
    const table = (await ok(["list", ...name])).stdout;
    assert.match(table, /1\.0\.0 .*complete, latest, @production\n/);
    assert.match(table, /\naliases that do not resolve:\n {2}@champion is invalid: .*champion\.json names alias "production"/);
    const json = JSON.parse((await ok(["list", "--json", ...name])).stdout);
    assert.equal(json.versions[0].aliases, ["production"]);
    assert.equal(
      json.aliases.map((a: { alias: string; version: string | null; resolves: boolean }) => [a.alias, a.version, a.resolves]),
      [
        ["champion", null, false],
        ["production", "1.0.0", true],
      ],
    );

    const set = await ok(["alias", "set", "champion", "--model-version", "1.0.0", ...name]);
    assert.is(set.stdout, "@champion of gov-cli-planted now points at 1.0.0 (its invalid record replaced)\n");
    assert.match((await ok(["resolve", "--model-version", "@champion", ...name])).stdout, /^gov-cli-planted 1\.0\.0 /);
    assert.not.match((await ok(["list", ...name])).stdout, /do not resolve/);
  });

  test("usage errors name what is missing (exit 2, nothing changed)", async () => {
    const cases: [string[], RegExp][] = [
      [["alias"], /alias needs set, rm or history/],
      [["alias", "set"], /alias set needs the alias name/],
      [["alias", "set", "champion"], /alias set needs --model-version X\.Y\.Z, an exact version/],
      [["alias", "set", "champion", "--model-version", "latest"], /an exact version \(not latest or an alias\)/],
      [["alias", "rm", "champion", "--model-version", "1.0.0"], /alias rm takes no --model-version/],
      [["yank", "--model-version", "1.0.0"], /yank needs --reason TEXT/],
      [["yank", "--model-version", "@champion", "--reason", "x"], /an exact version/],
      [["list", "--by", "me"], /--by only applies to alias, yank and unyank/],
      [["fetch", "--out", "x", "--reason", "x"], /--reason only applies to yank/],
    ];
    for (const [args, pattern] of cases) {
      const r = await runCli([...args, ...at()], env());
      assert.is(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
    }
    const nobody = await runCli(["unyank", "--model-version", "1.0.0", ...at()], { HOME: root, ...server.cliEnv() });
    assert.is(nobody.code, 2);
    assert.match(nobody.stderr, /say who makes this change: --by NAME/);
    const help = await runCli(["alias", "--help"], { HOME: root });
    assert.match(help.stdout, /^Usage: ai-app-models alias set ALIAS --model-version X\.Y\.Z \| alias rm ALIAS/);
    const bad = await runCli(["alias", "set", "Champion", "--model-version", "1.0.0", ...at()], env());
    assert.is(bad.code, 1);
    assert.match(bad.stderr, /alias "Champion" is invalid: use 1-63 lowercase letters/);
  });

  test.run();
}
