/** What a push to a remote registry must name: a model source, a channel and the real revision. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkRemotePublish, UNSET_REVISION } from "../../dagger/src/pipeline/publish.js";

const complete = { where: "myacr.azurecr.io/ai-app", revision: "3f2c9a1", channel: "main", model: "store" as const };

test("a push that names its model, channel and revision passes", () => {
  checkRemotePublish(complete);
  checkRemotePublish({ ...complete, model: "directory" });
});

test("the default revision, no channel and no model are each named, with what to pass", () => {
  const err = (() => {
    try {
      checkRemotePublish({ where: "myacr.azurecr.io/ai-app", revision: UNSET_REVISION });
    } catch (e) {
      return e as Error;
    }
    throw new Error("expected a refusal");
  })();
  assert.match(err.message, /myacr\.azurecr\.io\/ai-app/);
  assert.match(err.message, /--revision "\$\(git rev-parse HEAD\)"/);
  assert.match(err.message, /--channel/);
  assert.match(err.message, /with-store/);
  assert.match(err.message, /--model/);
  assert.match(err.message, /sample model/);
});

for (const [label, change, expected] of [
  ["default revision", { revision: UNSET_REVISION }, /--revision/],
  ["blank revision", { revision: "  " }, /--revision/],
  ["no channel", { channel: undefined }, /--channel/],
  ["blank channel", { channel: " " }, /--channel/],
  ["no model", { model: undefined }, /--model/],
] as const) {
  test(`refused: ${label}, and only that is named`, () => {
    const input = { ...complete, ...change } as Parameters<typeof checkRemotePublish>[0];
    assert.throws(() => checkRemotePublish(input), expected);
    try {
      checkRemotePublish(input);
    } catch (e) {
      assert.is((e as Error).message.split("\n").filter((l) => l.startsWith("  - ")).length, 1, (e as Error).message);
    }
  });
}

test.run();
