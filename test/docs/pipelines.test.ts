/**
 * azure-pipelines.yml and the GitHub workflow: triggers and schedule as intended, one dagger call
 * per stage/job, the pinned Dagger version, and every secret handed to Dagger as env://NAME.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { checkDaggerCall, findDaggerCalls, UsedArg } from "../support/dagger-call.js";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";
import { parse } from "../support/yaml.js";

const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const engineVersion = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");

interface Step { task?: string; inputs?: Record<string, unknown>; bash?: string; script?: string; run?: string; template?: string }
interface Stage { stage: string; condition?: string; jobs: { job: string; steps: Step[] }[] }
interface AzurePipeline {
  trigger: { branches: { include: string[] } };
  pr: { branches: { include: string[] } };
  schedules: { cron: string; always: boolean; branches: { include: string[] } }[];
  variables: { name?: string; value?: string; group?: string }[];
  stages: Stage[];
}

/** Checks one script's dagger calls; returns the args they pass. */
async function callsIn(script: string): Promise<{ calls: string[]; args: UsedArg[] }> {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  const calls = findDaggerCalls(script);
  for (const c of calls) assert.equal(checkDaggerCall(c, mod, (a) => args.push(a)), [], c);
  return { calls, args };
}

/** Secret arguments not given as env://NAME. */
function secretsNotFromEnv(args: UsedArg[]): string[] {
  return args
    .filter((a) => a.type === "Secret" && !(typeof a.value === "string" && /^env:\/\/[A-Za-z_][A-Za-z0-9_]*$/.test(a.value)))
    .map((a) => `--${a.flag} ${String(a.value)}`);
}

test("azure-pipelines.yml: triggers, PRs and a nightly schedule that always runs", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  assert.equal(p.trigger.branches.include, ["main"]);
  assert.equal(p.pr.branches.include, ["main"]);
  assert.is(p.schedules.length, 1);
  assert.is(p.schedules[0]!.always, true);
  assert.match(p.schedules[0]!.cron, /^\S+ \S+ \* \* \*$/);
  assert.is(p.variables.find((v) => v.name === "DAGGER_VERSION")?.value, engineVersion);
  const release = p.stages.find((s) => s.stage === "release")!;
  assert.match(release.condition ?? "", /eq\(variables\['Build\.Reason'\], 'Schedule'\)/);
  for (const s of p.stages.filter((s) => s.stage !== "release")) assert.not.match(s.condition ?? "", /'Schedule'\)$/);
});

test("azure-pipelines.yml: each stage runs exactly one valid dagger call, secrets as env://", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const expected: Record<string, string> = { pr: "ci", ci: "ci", release: "release" };
  for (const stage of p.stages) {
    const scripts = stage.jobs.flatMap((j) => j.steps).map((s) => String(s.inputs?.inlineScript ?? s.bash ?? s.script ?? ""));
    const { calls, args } = await callsIn(scripts.join("\n"));
    assert.is(calls.length, 1, `stage ${stage.stage} should run one dagger call`);
    assert.match(calls[0]!, new RegExp(`\\s${expected[stage.stage]}(\\s|$)`), `stage ${stage.stage} calls ${expected[stage.stage]}`);
    assert.equal(secretsNotFromEnv(args), [], `stage ${stage.stage}: secrets must be env://NAME`);
    const cli = stage.jobs.flatMap((j) => j.steps).find((s) => s.task === "AzureCLI@2");
    assert.is(cli?.inputs?.addSpnToEnvironment, true, `stage ${stage.stage} gets the federated token from AzureCLI@2`);
  }
  const prCall = findDaggerCalls(JSON.stringify(p.stages.find((s) => s.stage === "pr")))[0] ?? "";
  assert.not.match(prCall, /--registry/, "pull requests publish nothing");
});

test("the GitHub workflow runs the same functions, secrets as env://", async () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, { steps: Step[] }> };
  assert.ok(wf.on.schedule && wf.on.push && wf.on.pull_request);
  assert.is(wf.env.DAGGER_VERSION, engineVersion);
  for (const [name, job] of Object.entries(wf.jobs)) {
    const { calls, args } = await callsIn(job.steps.map((s) => s.run ?? "").join("\n"));
    assert.is(calls.length, 1, `job ${name} runs one dagger call`);
    assert.equal(secretsNotFromEnv(args), [], `job ${name}: secrets must be env://NAME`);
  }
});

test("the secret check itself catches a plain value", async () => {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  checkDaggerCall("dagger call deploy --image x@sha256:1 --kubeconfig file:./kc --token env://T", mod, (a) => args.push(a));
  assert.equal(secretsNotFromEnv(args), ["--kubeconfig file:./kc"]);
});

test.run();
