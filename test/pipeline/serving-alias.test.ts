/**
 * What a release says when --mark-alias could not move the alias: the command that puts the
 * store right, which for a yanked serving model is not set-alias alone (it would be refused).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { aliasFix } from "../../dagger/src/pipeline/serving-alias.js";
import { storeBuilder, storeTarget } from "../../dagger/src/model-store/step.js";

const model = { name: "digits-classifier", version: "1.2.0" };

test("a failed move names set-alias with the serving model", () => {
  const fix = aliasFix("production", model, "could not reach the store");
  assert.is(
    fix,
    "to fix the store: dagger call with-store ... set-alias --alias production --model-version 1.2.0 --model-name digits-classifier",
  );
});

test("a yanked serving model: set-alias would be refused, so the hint is to unyank first (then set-alias) or release another model", () => {
  for (const failure of [
    'digits-classifier 1.2.0 is yanked ("bad", by x); an alias may only point at a version in use: unyank it first or pick another version',
    '@production of "digits-classifier" now points at 1.2.0, but 1.2.0 was yanked while this change was being made',
  ]) {
    const fix = aliasFix("production", model, failure);
    assert.match(fix, "the model now serving, digits-classifier 1.2.0, is yanked");
    assert.match(fix, "unyank --model-version 1.2.0 --model-name digits-classifier) and then run dagger call with-store ... set-alias");
    assert.not.match(fix, /^to fix the store: /);
  }
});

test("on an S3 bucket the fix names with-aws-store, the builder the store was configured with", () => {
  assert.match(
    aliasFix("production", model, "could not reach the store", "with-aws-store"),
    /^to fix the store: dagger call with-aws-store \.\.\. set-alias/,
  );
  const yanked = aliasFix("production", model, "1.2.0 is yanked", "with-aws-store");
  assert.match(yanked, "unyank it (dagger call with-aws-store ... unyank");
  assert.not.match(yanked, /with-store/);
});

test("storeBuilder: which builder made a store target", () => {
  assert.is(storeBuilder(storeTarget({ account: "acct01", accountKey: {} as never })), "with-store");
  assert.is(storeBuilder(storeTarget({ s3Bucket: "ml-models", s3Region: "eu-west-1", s3DefaultChain: true })), "with-aws-store");
});

test.run();
