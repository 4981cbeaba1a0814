/** When a channel tag may move: never back to an older commit's image unless forced (pipeline/channel-guard.ts). */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { channelMoveRefusal } from "../../dagger/src/pipeline/channel-guard.js";

const NOW = { reference: `myacr.azurecr.io/ai-app@sha256:${"a".repeat(64)}`, revision: "bbbb", created: "2026-03-02T10:00:00+01:00" };

test("an older commit's image is refused, naming both commits, --force and rollback", () => {
  const refusal = channelMoveRefusal("main", NOW, { revision: "aaaa", created: "2026-03-02T08:59:59Z" }, false);
  assert.match(refusal ?? "", "the channel tag main points at myacr.azurecr.io/ai-app@sha256:aaaa");
  assert.match(refusal ?? "", "(revision bbbb, committed 2026-03-02T10:00:00+01:00)");
  assert.match(refusal ?? "", "revision aaaa was committed earlier (2026-03-02T08:59:59Z)");
  assert.match(refusal ?? "", "--force");
  assert.match(refusal ?? "", "rollback");
  assert.is(channelMoveRefusal("main", NOW, { revision: "aaaa", created: "2026-03-02T08:59:59Z" }, true), undefined, "--force moves it");
});

test("times are compared as instants, offsets included: 09:00Z is 10:00+01:00, not older", () => {
  assert.is(channelMoveRefusal("main", NOW, { revision: "cccc", created: "2026-03-02T09:00:00Z" }, false), undefined);
  assert.is(channelMoveRefusal("main", NOW, { revision: "cccc", created: "2026-03-02T11:00:00+01:00" }, false), undefined);
});

test("a new tag, the same revision (a rebuild) or an image with no commit time there: it moves", () => {
  assert.is(channelMoveRefusal("main", undefined, { revision: "aaaa", created: "2020-01-01T00:00:00Z" }, false), undefined);
  assert.is(channelMoveRefusal("main", NOW, { revision: "bbbb", created: "2020-01-01T00:00:00Z" }, false), undefined);
  assert.is(channelMoveRefusal("main", { reference: NOW.reference }, { revision: "aaaa" }, false), undefined);
});

test("no commit time for the new image while the one there has one: refused, saying to pass --created", () => {
  assert.match(channelMoveRefusal("main", NOW, { revision: "aaaa" }, false) ?? "", '--created "$(git log -1 --format=%cI)"');
});

test.run();
