/**
 * `dagger call serve up --ports 8000:8000`: the image the pipeline would ship, running as a service,
 * reached from this machine through the CLI's port forward (in a loopback-only network namespace,
 * see test/support/dagger-up.ts); /score on the example digit answers 0.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { daggerUp, waitFor } from "../support/dagger-up.js";
import { tail } from "../support/dagger-cli.js";
import { ROOT } from "../support/session.js";

test("dagger call serve up --ports 8000:8000: /healthz, /readyz, /version, and /score on the example digit answers 0", async () => {
  const started = Date.now();
  const up = daggerUp(["call", "serve", "up", "--ports", "8000:8000"], { label: "serve-up" });
  try {
    const ready = await waitFor(async () => (await up.http("/readyz")).status === 200, 10 * 60_000, up.exited);
    console.log(`    serve up: /readyz answered 200 after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    assert.ok(ready, `the service never became ready (exited: ${up.exited()}):\n${tail(up.output(), 40)}`);
    assert.is((await up.http("/healthz")).status, 200);

    const version = await up.http("/version");
    assert.is(version.status, 200);
    const v = JSON.parse(version.body) as { model: { name: string; version: string; sha256: string } | null };
    assert.ok(v.model, `no model in /version: ${version.body}`);

    const example = readFileSync(join(ROOT, "app/examples/score-digit-0.json"), "utf8");
    const scored = await up.http("/score", { json: example });
    assert.is(scored.status, 200, scored.body);
    const body = JSON.parse(scored.body) as { predictions: { top3: { label: string | number; probability: number }[] }[] };
    const top = body.predictions[0]?.top3[0];
    console.log(`    /score on app/examples/score-digit-0.json: ${JSON.stringify(top)} (model ${v.model!.name} ${v.model!.version})`);
    assert.is(String(top?.label), "0");
  } finally {
    const code = await up.stop();
    console.log(`    serve up stopped (exit ${code}); log ${up.log}`);
  }
});

test.run();
