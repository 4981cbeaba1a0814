/**
 * Aliases and yanking against a real server, once per backend (Azurite for Blob Storage,
 * versitygw for S3): set, move, remove; two moves at once (exactly one
 * lands, the other is told who won); aliases only to complete, not-yanked versions; "latest"
 * skips a yanked version, an exact pin still gets it with the reason, an alias refuses it (also
 * when the yank and the alias move race).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { aliasTarget, readAlias, removeAlias, setAlias } from "../../dagger/src/model-store/aliases.js";
import { StoreError } from "../../dagger/src/model-store/errors.js";
import { aliasBlobName, yankBlobName } from "../../dagger/src/model-store/layout.js";
import { appendHistory, HISTORY_LIMIT } from "../../dagger/src/model-store/record-fields.js";
import { publishModel, readLocalModel } from "../../dagger/src/model-store/publish.js";
import { ModelStore } from "../../dagger/src/model-store/store.js";
import { parseSelector } from "../../dagger/src/model-store/versions.js";
import { unyankVersion, yankVersion } from "../../dagger/src/model-store/yank.js";
import { rejectsWith } from "../support/expect.js";
import { backendTitle, randomModel, startStoreSuite, stopStoreSuite, StoreSuite } from "../support/model-fixtures.js";
import { BACKENDS } from "../support/store-servers.js";

for (const kind of BACKENDS) {
  const test = suite(`aliases and yanks on ${backendTitle(kind)}`);
  let server: StoreSuite["server"];
  let root: string;
  let store: ModelStore;

  test.before(async () => {
    ({ server, root, store } = await startStoreSuite(kind));
  });
  test.after(() => stopStoreSuite({ server, root }));

  let n = 0;
  /** A fresh model name per test, with these versions published. */
  async function model(...versions: string[]): Promise<string> {
    const name = `gov-${++n}`;
    for (const v of versions) await publishModel(store, await readLocalModel(randomModel(root, v, 1024, name)));
    return name;
  }

  /** A beforeWrite hook for two moves: neither writes until both have read the alias (the race ETags settle). */
  function bothReadFirst(): () => Promise<void> {
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => (release = r));
    return async () => {
      if (++arrived === 2) release();
      await bothRead;
    };
  }

  const blobText = async (blob: string) => (await server.read(blob))!.toString();
  const exists = async (blob: string) => (await server.read(blob)) !== undefined;

  test("alias: set, move, remove; every move kept with who, when, from and to; @alias resolves", async () => {
    const name = await model("1.0.0", "1.1.0");
    const set = await setAlias(store, name, "champion", "1.0.0", "alice");
    assert.equal([set.changed, set.move.from, set.move.to, set.move.by], [true, null, "1.0.0", "alice"]);
    assert.is((await store.resolve(name, parseSelector("@champion"))).version, "1.0.0");
    assert.is((await store.resolve(name, parseSelector("@champion"))).alias, "champion");

    const again = await setAlias(store, name, "champion", "1.0.0", "alice");
    assert.is(again.changed, false, "pointing it where it already points writes nothing");
    await setAlias(store, name, "champion", "1.1.0", "rev 0123abc");
    assert.is(await aliasTarget(store, name, "champion"), "1.1.0");
    await removeAlias(store, name, "champion", "bob");
    await rejectsWith(store.resolve(name, parseSelector("@champion")), /has no alias @champion \(it was removed\).*alias set champion/);

    const stored = JSON.parse(await blobText(aliasBlobName(name, "champion")));
    assert.is(stored.version, null);
    assert.equal(
      stored.history.map((h: { from: string | null; to: string | null; by: string }) => [h.from, h.to, h.by]),
      [
        [null, "1.0.0", "alice"],
        ["1.0.0", "1.1.0", "rev 0123abc"],
        ["1.1.0", null, "bob"],
      ],
    );
    for (const h of stored.history) assert.ok(!Number.isNaN(Date.parse(h.at)), `when: ${h.at}`);
    await rejectsWith(removeAlias(store, name, "champion", "bob"), /has no alias @champion to remove/);
  });

  test("two moves at once from the same state: exactly one lands, the other says who moved it and changes nothing", async () => {
    const name = await model("1.0.0", "1.1.0", "1.2.0");
    await setAlias(store, name, "champion", "1.0.0", "setup");
    // Both read the alias before either writes: the race the ETag condition exists for.
    const beforeWrite = bothReadFirst();
    const results = await Promise.allSettled([
      setAlias(store, name, "champion", "1.1.0", "alice", { beforeWrite }),
      setAlias(store, name, "champion", "1.2.0", "bob", { beforeWrite }),
    ]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    assert.is(won.length, 1, "exactly one move lands");
    assert.is(lost.length, 1);
    const winner = (won[0] as PromiseFulfilledResult<{ move: { by: string; to: string } }>).value.move;
    const message = (lost[0]!.reason as Error).message;
    assert.ok(lost[0]!.reason instanceof StoreError);
    assert.match(
      message,
      new RegExp(`alias @champion of "${name}" was moved by "${winner.by}" at ".+" \\(1\\.0\\.0 -> ${winner.to.replace(/\./g, "\\.")}\\)`),
    );
    assert.match(message, /nothing was changed/);
    const stored = (await readAlias(store, name, "champion"))!.value;
    assert.is(stored.version, winner.to);
    assert.equal(
      stored.history.map((h) => h.by),
      ["setup", winner.by],
      "the loser left no trace",
    );
  });

  test("two first sets at once (no alias yet): exactly one creates it", async () => {
    const name = await model("1.0.0", "1.1.0");
    const beforeWrite = bothReadFirst();
    const results = await Promise.allSettled([
      setAlias(store, name, "production", "1.0.0", "alice", { beforeWrite }),
      setAlias(store, name, "production", "1.1.0", "bob", { beforeWrite }),
    ]);
    assert.equal(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === "rejected")!;
    assert.match((lost.reason as Error).message, /alias @production of ".+" was moved by "(alice|bob)" at .* \(unset -> 1\.[01]\.0\)/);
  });

  test("an alias only points at a complete, valid, not-yanked version", async () => {
    const name = await model("1.0.0");
    // Incomplete: files uploaded, no model.json (an unfinished publish).
    await server.plant(`${name}/2.0.0/model.onnx`, "x");
    await rejectsWith(setAlias(store, name, "champion", "2.0.0", "alice"), /2\.0\.0 is incomplete and cannot be used/);
    // Invalid: model.json lists a file the store does not have.
    const dir = randomModel(root, "3.0.0", 64, name);
    const manifest = readFileSync(join(dir, "model.json"));
    await server.plant(`${name}/3.0.0/model.json`, manifest);
    await rejectsWith(setAlias(store, name, "champion", "3.0.0", "alice"), /3\.0\.0 is invalid and cannot be used: .*missing/);
    await rejectsWith(setAlias(store, name, "champion", "9.9.9", "alice"), /has no version 9\.9\.9/);
    await yankVersion(store, name, "1.0.0", "broken tokenizer", "carol");
    await rejectsWith(
      setAlias(store, name, "champion", "1.0.0", "alice"),
      /1\.0\.0 is yanked \("broken tokenizer", by "carol"\).*unyank it first/,
    );
    for (const bad of ["Champion", "latest", "-x", "a_b", "x".repeat(64), "1.0.0"]) {
      await rejectsWith(setAlias(store, name, bad, "1.0.0", "alice"), /cannot be an alias|is invalid: use 1-63 lowercase/);
    }
    assert.is(await exists(aliasBlobName(name, "champion")), false, "nothing written");
  });

  test("yank: latest skips it, an exact pin still gets it with the reason, an alias pointing at it refuses it; unyank puts it back; bytes never deleted", async () => {
    const name = await model("1.0.0", "1.1.0");
    await setAlias(store, name, "champion", "1.1.0", "alice");
    const logs: string[] = [];
    const logged = new ModelStore(store.backend, (l) => logs.push(l));
    const before = (await store.listBlobs(`${name}/1.1.0/`)).map((b) => b.name);

    const y = await yankVersion(store, name, "1.1.0", "accuracy regression on night images", "carol");
    assert.equal([y.changed, y.yanked, y.aliases], [true, true, ["champion"]], "says which aliases still point at it");
    assert.is((await logged.resolve(name, parseSelector("latest"))).version, "1.0.0");
    assert.match(logs.join("\n"), /skipping gov-\d+ 1\.1\.0: yanked \("accuracy regression on night images"\)/);
    const pinned = await store.resolve(name, parseSelector("1.1.0"));
    assert.equal([pinned.version, pinned.yanked?.reason, pinned.yanked?.by], ["1.1.0", "accuracy regression on night images", "carol"]);
    await rejectsWith(
      store.resolve(name, parseSelector("@champion")),
      /alias @champion of "gov-\d+" points at 1\.1\.0, which is yanked \("accuracy regression on night images", by "carol" at ".+"\); .*move it \(alias set champion --model-version X\.Y\.Z\) or unyank 1\.1\.0/,
    );
    assert.equal(
      (await store.listBlobs(`${name}/1.1.0/`)).map((b) => b.name),
      before,
      "the version's blobs are untouched",
    );

    const listed = await store.listVersions(name);
    assert.equal(
      listed.versions.map((v) => [v.version, v.yanked?.reason ?? null, v.aliases]),
      [
        ["1.1.0", "accuracy regression on night images", ["champion"]],
        ["1.0.0", null, []],
      ],
    );
    assert.equal(listed.ignored, [], "the store's own folders are not reported as odd version folders");

    await unyankVersion(store, name, "1.1.0", "carol");
    assert.is((await store.resolve(name, parseSelector("latest"))).version, "1.1.0");
    assert.is((await store.resolve(name, parseSelector("@champion"))).version, "1.1.0", "unyanked, the alias resolves again");
    await rejectsWith(unyankVersion(store, name, "1.1.0", "carol"), /is not yanked; nothing to undo/);
    const mark = JSON.parse(await blobText(yankBlobName(name, "1.1.0")));
    assert.equal(
      mark.history.map((h: { action: string; by: string }) => [h.action, h.by]),
      [
        ["yank", "carol"],
        ["unyank", "carol"],
      ],
    );
  });

  test("yank: every version yanked leaves latest with nothing, and says so; bad input refused before any write", async () => {
    const name = await model("1.0.0");
    await yankVersion(store, name, "1.0.0", "leaked test data", "dan");
    await rejectsWith(
      store.resolve(name, parseSelector("latest")),
      /no complete version of "gov-\d+" matches the latest release .*skipped: 1\.0\.0 yanked/,
    );
    await rejectsWith(yankVersion(store, name, "1.0.0", "  ", "dan"), /--reason is empty/);
    await rejectsWith(yankVersion(store, name, "1.0.0", "x\u001b[31m", "dan"), /--reason has control or invisible characters/);
    await rejectsWith(yankVersion(store, name, "2.0.0", "why", "dan"), /has no version 2\.0\.0/);
  });

  test("a yank mark's history is bounded by bytes as written: 180 re-yanks with 500-character CJK reasons all land (over 256 KiB by count alone), and the mark stays readable", async () => {
    const name = await model("1.0.0");
    const reason = (i: number) => `${i} ${"精度低下夜間画像".repeat(62)}`.slice(0, 500); // 3 bytes a character in UTF-8
    for (let i = 0; i < 180; i++) await yankVersion(store, name, "1.0.0", reason(i), "dan");
    const mark = await blobText(yankBlobName(name, "1.0.0"));
    assert.ok(Buffer.byteLength(mark) <= 256 * 1024, `the yank mark is ${Buffer.byteLength(mark)} bytes`);
    const history = (JSON.parse(mark) as { history: { reason?: string }[] }).history;
    assert.is(history.at(-1)!.reason, reason(179), "the newest entry is kept");
    // still readable and changeable: unyank, then yank again
    await unyankVersion(store, name, "1.0.0", "dan");
    await yankVersion(store, name, "1.0.0", reason(200), "dan");
    assert.match((await store.resolve(name, parseSelector("1.0.0"))).version, "1.0.0");
  });

  test("--by, who made a change: up to 200 characters for alias set and rm, yank and unyank; longer is refused, nothing written", async () => {
    const name = await model("1.0.0");
    const long = "b".repeat(201);
    await rejectsWith(setAlias(store, name, "champion", "1.0.0", long), /--by is 201 characters; keep it to 200/);
    await rejectsWith(yankVersion(store, name, "1.0.0", "why", long), /--by is 201 characters; keep it to 200/);
    assert.is(await exists(aliasBlobName(name, "champion")), false, "no alias written");
    assert.is(await exists(yankBlobName(name, "1.0.0")), false, "no yank mark written");
    const most = "b".repeat(200);
    assert.is((await setAlias(store, name, "champion", "1.0.0", most)).move.by, most);
    await rejectsWith(removeAlias(store, name, "champion", long), /--by is 201 characters; keep it to 200/);
    await yankVersion(store, name, "1.0.0", "why", most);
    await rejectsWith(unyankVersion(store, name, "1.0.0", long), /--by is 201 characters; keep it to 200/);
    assert.is((await readAlias(store, name, "champion"))?.value.version, "1.0.0", "the alias is still set");
    assert.is((await store.resolve(name, parseSelector("1.0.0"))).yanked?.by, most, "the version is still yanked");
  });

  test("a record's history keeps its newest HISTORY_LIMIT entries, the new one last", () => {
    assert.equal(appendHistory(undefined, "a"), ["a"]);
    const full = Array.from({ length: HISTORY_LIMIT }, (_, i) => i);
    const next = appendHistory(full, HISTORY_LIMIT);
    assert.is(next.length, HISTORY_LIMIT);
    assert.equal([next[0], next.at(-1)], [1, HISTORY_LIMIT], "the oldest dropped, the new one kept");
    assert.is(full.length, HISTORY_LIMIT, "the history read is left as it was");
  });

  test("a yank mark that is not one this store wrote counts as a yank (a withdrawn version is never picked by mistake)", async () => {
    const name = await model("1.0.0", "1.1.0");
    await server.plant(yankBlobName(name, "1.1.0"), "not json");
    assert.is((await store.resolve(name, parseSelector("latest"))).version, "1.0.0");
    assert.match((await store.resolve(name, parseSelector("1.1.0"))).yanked?.reason ?? "", /yank mark is invalid \(.*is not valid JSON/);
  });

  test("a yank mark naming another version than its blob's is invalid and counts as a yank (it used to count as none)", async () => {
    const name = await model("1.0.0", "1.1.0");
    const mark = JSON.stringify({ version: "9.9.9", yanked: false, history: [] });
    await server.plant(yankBlobName(name, "1.1.0"), mark);
    assert.is((await store.resolve(name, parseSelector("latest"))).version, "1.0.0");
    assert.match(
      (await store.resolve(name, parseSelector("1.1.0"))).yanked?.reason ?? "",
      `yank mark is invalid (${name}/_yanked/1.1.0.json names version "9.9.9", not "1.1.0")`,
    );
  });

  test("set-alias racing a yank of its target (the yank lands after set-alias checked the version, before its write): the move fails saying so, and @alias refuses the yanked version", async () => {
    const name = await model("1.0.0", "1.1.0");
    await setAlias(store, name, "champion", "1.0.0", "setup");
    // set-alias has found 1.1.0 complete and not yanked and read the alias; the yank lands now.
    const beforeWrite = async () => void (await yankVersion(store, name, "1.1.0", "mislabelled night set", "carol"));
    await rejectsWith(
      setAlias(store, name, "champion", "1.1.0", "alice", { beforeWrite }),
      new RegExp(
        `@champion of "${name}" now points at 1\\.1\\.0, but 1\\.1\\.0 was yanked while this change was being made \\("mislabelled night set", by "carol"\\).*alias set champion --model-version`,
      ),
    );
    await rejectsWith(
      store.resolve(name, parseSelector("@champion")),
      new RegExp(
        `alias @champion of "${name}" points at 1\\.1\\.0, which is yanked \\("mislabelled night set", by "carol" at ".+"\\); an alias resolves only to a version in use: move it \\(alias set champion --model-version X\\.Y\\.Z\\) or unyank 1\\.1\\.0`,
      ),
    );
    assert.is(
      (await store.resolve(name, parseSelector("1.1.0"))).yanked?.reason,
      "mislabelled night set",
      "an exact pin still gets it, with the reason",
    );
  });

  test("a yank racing set-alias (the alias lands after the yank read the mark, before its write): the yank names the alias, and @alias refuses the yanked version", async () => {
    const name = await model("1.0.0", "1.1.0");
    // The yank has read the mark; set-alias runs whole (its check and its write) before the yank writes.
    const beforeWrite = async () => void (await setAlias(store, name, "champion", "1.1.0", "alice"));
    const y = await yankVersion(store, name, "1.1.0", "mislabelled night set", "carol", { beforeWrite });
    assert.equal(y.aliases, ["champion"], "the yank says which aliases point at it");
    await rejectsWith(store.resolve(name, parseSelector("@champion")), /points at 1\.1\.0, which is yanked/);
  });

  test("an alias record naming another alias than its blob's is invalid: @alias fails closed naming the blob, list shows it, alias set replaces it", async () => {
    const name = await model("1.0.0", "1.1.0");
    const planted = JSON.stringify({ alias: "other", version: "1.0.0", history: [] });
    await server.plant(aliasBlobName(name, "champion"), planted);
    await rejectsWith(
      store.resolve(name, parseSelector("@champion")),
      new RegExp(
        `alias @champion of "${name}" is invalid: ${name}/_aliases/champion\\.json names alias "other".*alias set champion --model-version X\\.Y\\.Z`,
      ),
    );
    const listed = await store.listVersions(name);
    assert.equal(
      listed.versions.map((v) => [v.version, v.aliases]),
      [
        ["1.1.0", []],
        ["1.0.0", []],
      ],
      "no version is shown as the alias's",
    );
    assert.equal(
      listed.aliases.map((a) => [a.alias, a.version, a.resolves]),
      [["champion", null, false]],
    );
    assert.match(listed.aliases[0]!.reason ?? "", /names alias "other"/);

    const set = await setAlias(store, name, "champion", "1.1.0", "alice");
    assert.equal([set.changed, set.move.from, set.move.to, set.replacedInvalid !== undefined], [true, null, "1.1.0", true]);
    assert.is((await store.resolve(name, parseSelector("@champion"))).version, "1.1.0");
    assert.equal((await store.listVersions(name)).aliases, [{ alias: "champion", version: "1.1.0", resolves: true }]);
  });

  test("every alias record that does not match its name is listed as invalid, never skipped: unreadable, over the size limit, a blob no alias name reaches; alias rm replaces one too", async () => {
    const name = await model("1.0.0");
    const put = async (blob: string, text: string) => void (await server.plant(blob, text));
    await put(aliasBlobName(name, "broken"), "not json");
    await put(aliasBlobName(name, "huge"), JSON.stringify({ alias: "huge", version: "1.0.0", history: [], pad: "x".repeat(256 * 1024) }));
    await put(`${name}/_aliases/Champion.json`, JSON.stringify({ alias: "Champion", version: "1.0.0", history: [] }));
    await setAlias(store, name, "good", "1.0.0", "alice");
    const listed = await store.listVersions(name);
    assert.equal(
      listed.aliases.map((a) => [a.alias, a.version, a.resolves]),
      [
        ["Champion.json", null, false],
        ["broken", null, false],
        ["good", "1.0.0", true],
        ["huge", null, false],
      ],
    );
    const reasons = listed.aliases.map((a) => a.reason ?? "");
    assert.match(
      reasons[0]!,
      /"gov-\d+\/_aliases\/Champion\.json" is not <alias>\.json for an alias name: nothing resolves through it; remove it/,
    );
    assert.match(
      reasons[1]!,
      /is invalid: gov-\d+\/_aliases\/broken\.json is not valid JSON.*set it again \(alias set broken --model-version X\.Y\.Z\) or remove it \(alias rm broken\)/,
    );
    assert.match(reasons[3]!, /is invalid: gov-\d+\/_aliases\/huge\.json is over 262144 bytes/);
    assert.equal(listed.versions[0]!.aliases, ["good"]);
    await rejectsWith(
      store.resolve(name, parseSelector("@broken")),
      /alias @broken of "gov-\d+" is invalid: .*broken\.json is not valid JSON/,
    );

    const removed = await removeAlias(store, name, "broken", "alice");
    assert.equal([removed.changed, removed.move.from, removed.move.to, removed.replacedInvalid !== undefined], [true, null, null, true]);
    await rejectsWith(store.resolve(name, parseSelector("@broken")), /has no alias @broken \(it was removed\)/);
    assert.equal(
      (await store.listVersions(name)).aliases.map((a) => a.alias),
      ["Champion.json", "good", "huge"],
      "a removed alias is not shown",
    );
  });

  test("an invalid yank mark counts as a yank, and yank or unyank rewrites it (unyank used to say the version was not yanked, or fail on the unreadable mark)", async () => {
    const name = await model("1.0.0", "1.1.0", "1.2.0");
    const put = async (version: string, text: string) => void (await server.plant(yankBlobName(name, version), text));
    await put("1.1.0", JSON.stringify({ version: "9.9.9", yanked: false, history: [] }));
    await put("1.2.0", "not json");
    for (const v of ["1.1.0", "1.2.0"]) {
      assert.match((await store.resolve(name, parseSelector(v))).yanked?.reason ?? "", /^its yank mark is invalid \(/);
    }
    assert.is((await store.resolve(name, parseSelector("latest"))).version, "1.0.0");

    const unyanked = await unyankVersion(store, name, "1.1.0", "carol");
    assert.equal([unyanked.changed, unyanked.yanked], [true, false]);
    assert.is((await store.resolve(name, parseSelector("1.1.0"))).yanked, undefined, "a valid mark now says it is in use");
    const yanked = await yankVersion(store, name, "1.2.0", "bad export", "carol");
    assert.equal([yanked.changed, yanked.yanked], [true, true]);
    assert.is((await store.resolve(name, parseSelector("1.2.0"))).yanked?.reason, "bad export");
    assert.equal(JSON.parse(await blobText(yankBlobName(name, "1.2.0"))).version, "1.2.0");
    assert.is((await store.resolve(name, parseSelector("latest"))).version, "1.1.0");
  });

  test.run();
}
