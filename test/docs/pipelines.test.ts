/**
 * azure-pipelines.yml and the GitHub workflow: triggers and schedule as intended, one dagger call
 * per stage/job, the pinned Dagger version, and every secret handed to Dagger as env://NAME.
 * Which stages (jobs) run for each build reason (event), manual action and outcome is computed
 * with Azure's rules for stage dependencies and conditions and GitHub's for `needs` and `if`;
 * the stages that change the cluster share one lock and the approval holds none; the build and
 * release identities are separate; the pull-request stage holds no Azure rights; the Dagger CLI
 * is installed only after its checksum verifies (the Azure template is run against a stand-in
 * download); every GitHub action is pinned by commit.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { commandLine, runCiScript, ScriptRun, STAND_IN_TOKEN } from "../support/ci-script.js";
import { checkDaggerCall, findDaggerCalls, UsedArg, withArraysExpanded } from "../support/dagger-call.js";
import { introspectModule } from "../support/introspect.js";
import { ROOT } from "../support/session.js";
import { tempDir } from "../support/temp.js";
import { parse } from "../support/yaml.js";

const read = (f: string) => readFileSync(join(ROOT, f), "utf8");
const engineVersion = (JSON.parse(read("dagger.json")) as { engineVersion: string }).engineVersion.replace(/^v/, "");

interface Step {
  id?: string;
  name?: string;
  checkout?: string;
  task?: string;
  condition?: string;
  env?: Record<string, string>;
  inputs?: Record<string, unknown>;
  bash?: string;
  script?: string;
  run?: string;
  template?: string;
  uses?: string;
  with?: Record<string, unknown>;
}
interface Job {
  job?: string;
  /** A deployment job: its steps run after the environment's approvals and checks. */
  deployment?: string;
  environment?: string;
  variables?: Record<string, string>;
  steps?: Step[];
  strategy?: { runOnce?: { deploy?: { steps?: Step[] } } };
}
interface Stage {
  stage: string;
  condition?: string;
  dependsOn?: string | string[];
  variables?: unknown;
  jobs: Job[];
}

/** A job's steps, a deployment job's included. */
const stepsOf = (j: Job): Step[] => j.steps ?? j.strategy?.runOnce?.deploy?.steps ?? [];
interface AzurePipeline {
  lockBehavior?: string;
  trigger: { branches: { include: string[] } };
  pr: { branches: { include: string[] } };
  schedules: { cron: string; always: boolean; branches: { include: string[] } }[];
  variables: { name?: string; value?: string; group?: string }[];
  parameters?: { name: string; type: string; default: unknown; values?: string[] }[];
  stages: Stage[];
}

/** A stage's (or job's) scripts, bash arrays expanded. */
const scriptOf = (steps: Step[]) =>
  withArraysExpanded(steps.map((s) => String(s.inputs?.inlineScript ?? s.bash ?? s.script ?? s.run ?? "")).join("\n"));

/** Checks one script's dagger calls; returns the args they pass. */
async function callsIn(script: string): Promise<{ calls: string[]; args: UsedArg[] }> {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  const calls = findDaggerCalls(script);
  for (const c of calls)
    assert.equal(
      checkDaggerCall(c, mod, (a) => args.push(a)),
      [],
      c,
    );
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

test("azure-pipelines.yml: each stage runs exactly one valid dagger call (the approval none), secrets as env://", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const expected: Record<string, string | undefined> = {
    pr: "ci",
    ci: "ci",
    release: "release",
    canary: "release",
    approve: undefined,
    promote: "promote",
    abort: "abort",
    rollback: "rollback",
  };
  assert.equal(
    p.stages.map((s) => s.stage),
    Object.keys(expected),
  );
  for (const stage of p.stages) {
    const { calls, args } = await callsIn(scriptOf(stage.jobs.flatMap(stepsOf)));
    const fn = expected[stage.stage];
    if (!fn) {
      assert.equal(calls, [], `stage ${stage.stage} runs no dagger call`);
      continue;
    }
    assert.is(calls.length, 1, `stage ${stage.stage} should run one dagger call`);
    assert.match(calls[0]!, new RegExp(`\\s${fn}(\\s|$)`), `stage ${stage.stage} calls ${fn}`);
    assert.equal(secretsNotFromEnv(args), [], `stage ${stage.stage}: secrets must be env://NAME`);
  }
});

// ---- which stages run, by Azure's rules ------------------------------------------------------

/**
 * Evaluates a stage condition as Azure Pipelines does for the functions this file uses: eq, ne,
 * in, notIn, and, or, not, succeeded(), always(), variables['X'] and 'strings'. `succeeded()` is
 * true only when every dependency succeeded: a skipped dependency makes it false
 * (microsoft/azure-pipelines-yaml#318). Anything else is an error, never a guess.
 */
function evaluate(
  expr: string,
  vars: Record<string, string>,
  depsSucceeded: boolean,
  params: Record<string, unknown> = {},
  results: Record<string, string> = {},
): unknown {
  // Template expressions are expanded before the run; a boolean parameter renders as True/False.
  const expanded = expr.replace(/\$\{\{\s*parameters\.(\w+)\s*\}\}/g, (_m, name: string) => {
    if (!(name in params)) throw new Error(`unknown parameter ${name} in ${expr}`);
    const v = params[name];
    return typeof v === "boolean" ? (v ? "True" : "False") : String(v);
  });
  const tokens = expanded.match(/'(?:[^']|'')*'|[A-Za-z_][\w.]*|\[|\]|\(|\)|,/g) ?? [];
  let i = 0;
  const next = () => tokens[i++] ?? "";
  const value = (): unknown => {
    const t = next();
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    const dependency = /^dependencies\.(\w+)\.result$/.exec(t);
    if (dependency) return results[dependency[1]!] ?? "Skipped";
    if (t === "variables") {
      if (next() !== "[") throw new Error(`unsupported variables syntax in ${expr}`);
      const name = value() as string;
      next(); // "]"
      return vars[name] ?? "";
    }
    if (next() !== "(") throw new Error(`unsupported term ${t} in ${expr}`);
    const args: unknown[] = [];
    while (tokens[i] !== ")") {
      args.push(value());
      if (tokens[i] === ",") i++;
    }
    i++; // ")"
    const s = args.map((a) => String(a).toLowerCase());
    switch (t.toLowerCase()) {
      case "eq":
        return s[0] === s[1];
      case "ne":
        return s[0] !== s[1];
      case "in":
        return s.slice(1).includes(s[0]!);
      case "notin":
        return !s.slice(1).includes(s[0]!);
      case "and":
        return args.every(Boolean);
      case "or":
        return args.some(Boolean);
      case "not":
        return !args[0];
      case "succeeded":
        return depsSucceeded;
      case "always":
        return true;
      default:
        throw new Error(`unsupported function ${t} in ${expr}`);
    }
  };
  return value();
}

/**
 * The stages that run for one build reason and parameter values (defaults from the file). A stage
 * that runs succeeds, unless `failing` names it (e.g. a promote whose approval was rejected).
 */
function stagesRun(p: AzurePipeline, reason: string, params: Record<string, unknown> = {}, failing: string[] = []): string[] {
  const values = { ...Object.fromEntries((p.parameters ?? []).map((x) => [x.name, x.default])), ...params };
  const result = new Map<string, "Succeeded" | "Failed" | "Skipped">();
  p.stages.forEach((stage, n) => {
    // No dependsOn: the previous stage. `dependsOn: []`: none.
    const deps = stage.dependsOn === undefined ? (n > 0 ? [p.stages[n - 1]!.stage] : []) : ([] as string[]).concat(stage.dependsOn);
    const depsSucceeded = deps.every((d) => result.get(d) === "Succeeded");
    const results = Object.fromEntries([...result].filter(([s]) => deps.includes(s)));
    const runs = Boolean(evaluate(stage.condition ?? "succeeded()", { "Build.Reason": reason }, depsSucceeded, values, results));
    result.set(stage.stage, !runs ? "Skipped" : failing.includes(stage.stage) ? "Failed" : "Succeeded");
  });
  return [...result].filter(([, r]) => r !== "Skipped").map(([s]) => s);
}

test("the condition evaluator follows Azure's rules (a skipped dependency fails succeeded())", () => {
  const two = (second: Partial<Stage>): AzurePipeline =>
    ({
      stages: [
        { stage: "a", condition: "eq(variables['Build.Reason'], 'PullRequest')", jobs: [] },
        { stage: "b", jobs: [], ...second },
      ],
    }) as unknown as AzurePipeline;
  assert.equal(stagesRun(two({}), "IndividualCI"), [], "b depends on a by default and a was skipped");
  assert.equal(stagesRun(two({ condition: "and(succeeded(), eq(variables['Build.Reason'], 'IndividualCI'))" }), "IndividualCI"), []);
  assert.equal(stagesRun(two({ dependsOn: [], condition: "eq(variables['Build.Reason'], 'IndividualCI')" }), "IndividualCI"), ["b"]);
  assert.equal(stagesRun(two({ condition: "in(variables['Build.Reason'], 'Manual', 'Schedule')" }), "Schedule"), ["b"]);
  assert.throws(() => evaluate("startsWith(variables['Build.Reason'], 'P')", {}, true), /unsupported function startsWith/);
});

test("azure-pipelines.yml: each build reason runs its own stage, whatever the others did", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const expected: Record<string, string[]> = {
    PullRequest: ["pr"],
    IndividualCI: ["ci"],
    BatchedCI: ["ci"],
    Manual: ["ci"], // the default action: build, as a commit does
    Schedule: ["release"],
  };
  for (const [reason, stages] of Object.entries(expected)) assert.equal(stagesRun(p, reason), stages, `Build.Reason ${reason}`);
  const gated: Record<string, string[]> = {
    release: ["ci"],
    approve: ["canary"],
    promote: ["canary", "approve"],
    abort: ["canary", "promote"],
  };
  for (const stage of p.stages) {
    assert.equal(stage.dependsOn, gated[stage.stage] ?? [], `stage ${stage.stage} declares what it depends on`);
  }
});

test("azure-pipelines.yml: day 2 as manual runs: the action parameter runs release, ship-model, canary, promote, abort or rollback, and nothing else", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const action = p.parameters?.find((x) => x.name === "action");
  assert.equal([action?.type, action?.default], ["string", "build"], "a manual run builds unless told otherwise");
  assert.equal(action?.values, ["build", "release", "ship-model", "canary", "promote", "abort", "rollback"]);
  const run = (a: string, failing: string[] = []) => stagesRun(p, "Manual", { action: a }, failing);
  assert.equal(run("build"), ["ci"]);
  assert.equal(run("release"), ["release"], "release now");
  assert.equal(run("ship-model"), ["ci", "release"], "build main with the chosen model, then release it");
  assert.equal(run("ship-model", ["ci"]), ["ci"], "a failed build releases nothing");
  assert.equal(run("canary"), ["canary", "approve", "promote"], "approved: canary, approval, promote; no abort");
  assert.equal(run("canary", ["approve"]), ["canary", "approve", "abort"], "approval rejected or timed out: abort");
  assert.equal(run("canary", ["promote"]), ["canary", "approve", "promote", "abort"], "promote failed: abort");
  assert.equal(run("canary", ["canary"]), ["canary"], "a canary that failed removed itself: nothing more");
  assert.equal(run("promote"), ["approve", "promote"], "a paused canary promoted by its release id, after the approval");
  assert.equal(run("promote", ["approve"]), ["approve"], "rejected: nothing changes");
  assert.equal(run("abort"), ["abort"]);
  assert.equal(run("rollback"), ["rollback"]);
  for (const reason of ["IndividualCI", "Schedule", "PullRequest"]) {
    for (const a of ["canary", "promote", "abort", "rollback", "ship-model"]) {
      assert.not.ok(
        stagesRun(p, reason, { action: a }).some((st) => ["canary", "approve", "promote", "abort", "rollback"].includes(st)),
        `${reason} with action ${a}: day-2 stages run on manual runs only`,
      );
    }
  }
  // What each run acts on, from its parameters (through the environment, never pasted into the script).
  const param = (name: string) => p.parameters?.find((x) => x.name === name);
  assert.equal([param("image")?.default, param("releaseId")?.default, param("modelVersion")?.default], ["last-good", "none", "@champion"]);
  const rollback = p.stages
    .find((st) => st.stage === "rollback")!
    .jobs.flatMap(stepsOf)
    .find((st) => st.task === "AzureCLI@2")!;
  assert.is(rollback.env?.ROLLBACK_IMAGE, "${{ parameters.image }}");
  assert.match(scriptOf([rollback]), /IMAGE_ARGS=\(--image "\$ROLLBACK_IMAGE"\)/);
  const ci = p.stages
    .find((st) => st.stage === "ci")!
    .jobs.flatMap(stepsOf)
    .find((st) => st.task === "AzureCLI@2")!;
  assert.equal([ci.env?.RUN_ACTION, ci.env?.SHIP_MODEL_VERSION], ["${{ parameters.action }}", "${{ parameters.modelVersion }}"]);
  for (const st of p.stages)
    assert.not.match(scriptOf(st.jobs.flatMap(stepsOf)), /\$\{\{\s*parameters/, `stage ${st.stage}: no parameter pasted into a script`);
  assert.throws(() => evaluate("eq('${{ parameters.nope }}', 'true')", {}, true), /unknown parameter nope/);
});

test("azure-pipelines.yml: promote and abort finish the release the canary stage started (its output variable), or the one a manual run names", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const canary = p.stages.find((st) => st.stage === "canary")!;
  const [job] = canary.jobs;
  const step = stepsOf(job!).find((st) => st.task === "AzureCLI@2")!;
  assert.match(findDaggerCalls(scriptOf([step]))[0] ?? "", /release --channel main --strategy canary .*--pause .*json/);
  assert.match(scriptOf([step]), /##vso\[task\.setvariable variable=releaseId;isOutput=true\]\$\(jq -r \.releaseId /);
  // A runOnce deployment job's output is named <job>.<step>.<variable> (Azure's deployment-jobs docs).
  const output = `stageDependencies.canary.${job!.deployment}.outputs['${job!.deployment}.${step.name}.releaseId']`;
  for (const name of ["promote", "abort"]) {
    const stage = p.stages.find((st) => st.stage === name)!;
    const j = stage.jobs[0]!;
    assert.is(
      j.variables?.releaseId,
      `$[ coalesce(${output}, '\${{ parameters.releaseId }}') ]`,
      `${name} reads the canary's id, else the run's`,
    );
    assert.match(scriptOf(stepsOf(j)), `${name} --release-id "$(releaseId)"`);
  }
});

// ---- one change to the cluster at a time; the approval holds no lock ----------------------------

/** Whether a stage's (or job's) dagger call reaches the cluster. */
const changesCluster = (steps: Step[]) => /\swith-cluster\s/.test(scriptOf(steps));

test("azure-pipelines.yml: every stage that changes the cluster is a deployment job on ai-app-production (the lock), runs queue in order; the approval is its own stage on ai-app-approval, with no lock, rights or call", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  assert.is(p.lockBehavior, "sequential", "waiting runs queue in order: the default, runLatest, would cancel a queued rollback");
  const cluster = p.stages.filter((st) => changesCluster(st.jobs.flatMap(stepsOf))).map((st) => st.stage);
  assert.equal(cluster, ["release", "canary", "promote", "abort", "rollback"]);
  for (const st of p.stages) {
    const envs = st.jobs.map((j) => j.environment);
    if (cluster.includes(st.stage)) {
      assert.equal(
        st.jobs.map((j) => [Boolean(j.deployment), j.environment]),
        [[true, "ai-app-production"]],
        `stage ${st.stage}: one deployment job on the locked environment`,
      );
    } else assert.not.ok(envs.includes("ai-app-production"), `stage ${st.stage} takes no lock`);
  }
  const approve = p.stages.find((st) => st.stage === "approve")!;
  assert.equal(
    approve.jobs.map((j) => [Boolean(j.deployment), j.environment]),
    [[true, "ai-app-approval"]],
  );
  assert.not.match(
    JSON.stringify(approve),
    /Connection|AzureCLI|group|dagger|TOKEN/,
    "the approval stage holds no rights and runs nothing",
  );
  assert.is(stepsOf(approve.jobs[0]!)[0]?.checkout, "none");
  // Checks apply to every resource a stage uses: no stage that changes the cluster uses the approval environment.
  for (const st of p.stages.filter((x) => cluster.includes(x.stage))) assert.not.match(JSON.stringify(st), /ai-app-approval/);
  // The nightly run never reaches the approval environment.
  const environmentsOf = (stages: string[]) =>
    p.stages.filter((st) => stages.includes(st.stage)).flatMap((st) => st.jobs.map((j) => j.environment));
  assert.not.ok(environmentsOf(stagesRun(p, "Schedule")).includes("ai-app-approval"));
  assert.not.ok(environmentsOf(stagesRun(p, "Manual", { action: "release" })).includes("ai-app-approval"));
});

test("azure-pipelines.yml: two identities: ci builds with the build connection (no cluster), the cluster stages release with the release connection; no ID token in any step", () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const own = Object.fromEntries(p.variables.filter((v) => v.name).map((v) => [v.name, v.value]));
  assert.equal([own.buildConnection, own.releaseConnection], ["ai-app-build", "ai-app-release"]);
  for (const st of p.stages) {
    const used = st.jobs
      .flatMap(stepsOf)
      .filter((x) => x.task === "AzureCLI@2")
      .map((x) => x.inputs?.azureSubscription);
    const want = st.stage === "ci" ? ["$(buildConnection)"] : changesCluster(st.jobs.flatMap(stepsOf)) ? ["$(releaseConnection)"] : [];
    assert.equal(used, want, `stage ${st.stage}`);
    for (const step of st.jobs.flatMap(stepsOf))
      assert.is(
        step.inputs?.addSpnToEnvironment,
        undefined,
        `stage ${st.stage}: no service principal id or ID token put in the step's environment`,
      );
  }
});

test("azure-pipelines.yml: the pull-request stage runs the embedded default with no Azure rights", async () => {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const pr = p.stages.find((s) => s.stage === "pr")!;
  const text = JSON.stringify(pr);
  assert.not.match(
    text,
    /serviceConnection|azureSubscription|connectedService|AzureCLI|AzurePowerShell|Kubernetes@|Docker@/i,
    "no service connection, no Azure task",
  );
  assert.not.match(text, /System\.AccessToken|idToken|ACR_TOKEN|KUBECONFIG/, "no token of any kind");
  assert.not.match(JSON.stringify(pr.variables ?? []), /group/, "no variable group");
  const { calls } = await callsIn(
    pr.jobs
      .flatMap(stepsOf)
      .map((s) => String(s.bash ?? s.script ?? s.inputs?.inlineScript ?? ""))
      .join("\n"),
  );
  assert.equal(calls.length, 1);
  assert.match(calls[0]!, /\sci summary$/, "ends with ci and its embedded default, printing its summary");
  assert.not.match(
    calls[0]!,
    /with-store|with-registry|with-cluster|--registry|--entra-token|--kubeconfig|--token|--password/,
    "no store, registry or cluster given",
  );
  // The variable group and the service connection belong to the stages that publish and deploy.
  assert.not.match(JSON.stringify(p.variables), /group/, "the variable group is not pipeline-wide");
  for (const s of p.stages.filter((s) => s.stage !== "pr" && s.stage !== "approve"))
    assert.match(JSON.stringify(s.variables ?? []), /ai-app-pipeline/, `stage ${s.stage} has the group`);
});

// ---- what the calls carry: the public name, the model, the tokens (both pipelines) ---------------

/** Every dagger call of each stage (Azure) or job (GitHub), bash arrays expanded. */
function allCalls(): { where: string; call: string }[] {
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  return [
    ...p.stages.flatMap((st) => findDaggerCalls(scriptOf(st.jobs.flatMap(stepsOf))).map((call) => ({ where: `stage ${st.stage}`, call }))),
    ...Object.entries(wf.jobs).flatMap(([name, j]) => findDaggerCalls(scriptOf(j.steps)).map((call) => ({ where: `job ${name}`, call }))),
  ];
}
const isAzure = (where: string) => where.startsWith("stage ");

test("the public DNS name: every release, promote and rollback passes --dns-label and --region from the variable group (GitHub: repository variables)", () => {
  const calls = allCalls().filter((c) => /\s(release|promote|rollback)\s/.test(c.call) && !/\sci\s/.test(c.call));
  assert.ok(calls.length >= 8, calls.map((c) => c.where).join());
  for (const { where, call } of calls) {
    const [label, region] = isAzure(where)
      ? ['"$(DNS_LABEL)"', '"$(AKS_REGION)"']
      : ['"${{ vars.DNS_LABEL }}"', '"${{ vars.AKS_REGION }}"'];
    assert.ok(call.includes(`--dns-label ${label}`) && call.includes(`--region ${region}`), `${where}: ${call}`);
  }
});

test("which model ships: ci builds MODEL_VERSION (or the ship-model run's version), with --public-key when signatures are required; what serves is marked production", () => {
  for (const { where, call } of allCalls()) {
    if (/\sci\s(--channel|json)/.test(call) && call.includes("with-registry")) {
      assert.match(call, /--model-version "\$(MODEL|MODEL_VERSION)"/, `${where}: the model is chosen, not "latest"`);
      assert.match(call, /--public-key "/, `${where}: the signature required when a key is configured`);
    }
    if (/\s(release --channel main (?!--strategy canary)|promote|rollback)/.test(call)) {
      assert.match(call, /--mark-alias production/, `${where}: the store says which model serves`);
      assert.match(call, /with-store .*--entra-token env:\/\/STORE_TOKEN/, `${where}: --mark-alias needs the store`);
    }
  }
  // Azure: MODEL_VERSION from the variable group, the key from the secure file, downloaded only when required.
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const ci = p.stages.find((st) => st.stage === "ci")!.jobs.flatMap(stepsOf);
  const key = ci.find((st) => st.task === "DownloadSecureFile@1");
  assert.equal(
    [key?.name, key?.inputs?.secureFile, key?.condition],
    ["modelKey", "model-signing.pub", "eq(variables['REQUIRE_MODEL_SIGNATURE'], 'true')"],
  );
  const script = String(ci.find((st) => st.task === "AzureCLI@2")?.inputs?.inlineScript);
  assert.match(script, 'MODEL="$(MODEL_VERSION)"');
  assert.match(script, 'if [ "$RUN_ACTION" = ship-model ]; then MODEL="$SHIP_MODEL_VERSION"; fi');
  assert.match(script, 'if [ "$(REQUIRE_MODEL_SIGNATURE)" = true ]; then KEY_ARGS=(--public-key "$(modelKey.secureFilePath)"); fi');
  // GitHub: MODEL_VERSION from the repository variables (or the ship-model input); the key from MODEL_PUBLIC_KEY.
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  const step = wf.jobs.ci!.steps.find((st) => st.id === "result")!;
  assert.is(
    step.env?.MODEL_VERSION,
    "${{ github.event_name == 'workflow_dispatch' && inputs.action == 'ship-model' && inputs.model-version || vars.MODEL_VERSION }}",
  );
  assert.is(step.env?.MODEL_PUBLIC_KEY, "${{ vars.MODEL_PUBLIC_KEY }}");
  assert.match(String(step.run), 'if [ -n "$MODEL_PUBLIC_KEY" ]; then');
});

test("token lifetimes: the store signs in with a storage access token from az account get-access-token (about an hour), never the pipeline's 10-minute ID token", () => {
  for (const f of ["azure-pipelines.yml", ".github/workflows/pipeline.yml"]) {
    assert.not.match(
      read(f),
      /idToken|--federated-token|ACTIONS_ID_TOKEN_REQUEST|addSpnToEnvironment/,
      `${f}: no ID token handed to Dagger`,
    );
  }
  const store = allCalls().filter((c) => c.call.includes("with-store"));
  assert.ok(store.length >= 8);
  for (const { where, call } of store) assert.match(call, /with-store .*--entra-token env:\/\/STORE_TOKEN/, where);
  for (const f of ["azure-pipelines.yml", ".github/workflows/pipeline.yml"]) {
    const lines = read(f)
      .split("\n")
      .filter((l) => /STORE_TOKEN="\$\(/.test(l));
    assert.ok(lines.length > 0, f);
    for (const l of lines)
      assert.match(l, 'STORE_TOKEN="$(az account get-access-token --resource https://storage.azure.com --query accessToken -o tsv)"');
  }
});

// ---- the GitHub workflow: pinned actions, least privilege --------------------------------------

interface GitHubJob {
  if?: string;
  needs?: string[];
  environment?: string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  permissions?: Record<string, string>;
  outputs?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown> & { workflow_dispatch?: { inputs: Record<string, { type: string; default: string; options?: string[] }> } };
  env: Record<string, string>;
  permissions?: Record<string, string>;
  jobs: Record<string, GitHubJob>;
}

/** The one job that only waits for the approval: it checks out nothing, installs nothing, holds nothing. */
const GATE = "approve";

test("the GitHub workflow: every action pinned by a full commit sha, Dagger installed by its official action", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  const uses = Object.values(wf.jobs).flatMap((j) => j.steps.filter((s) => s.uses).map((s) => s.uses!));
  assert.ok(uses.length > 0);
  for (const u of uses) assert.match(u, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, `${u} is not pinned by commit`);
  // Each pin carries the tag it stands for, so an update can be checked against the action's repository.
  for (const line of read(".github/workflows/pipeline.yml")
    .split("\n")
    .filter((l) => /uses:/.test(l))) {
    assert.match(line, /@[0-9a-f]{40} # v\d+\.\d+\.\d+$/, `${line.trim()} names its tag`);
  }
  for (const [name, job] of Object.entries(wf.jobs).filter(([n]) => n !== GATE)) {
    const install = job.steps.find((s) => s.uses?.startsWith("dagger/dagger-for-github@"));
    assert.ok(install, `job ${name} installs Dagger with dagger/dagger-for-github`);
    assert.is(install!.with?.version, "${{ env.DAGGER_VERSION }}", `job ${name} installs the pinned version`);
    assert.equal(Object.keys(install!.with ?? {}), ["version"], `job ${name}: the action only installs; the dagger call is a run step`);
  }
});

test("the GitHub workflow: the pull-request job gets a read-only token and no cloud identity", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  assert.equal(wf.permissions, { contents: "read" }, "workflow-wide: read only");
  const pr = Object.entries(wf.jobs).filter(([, j]) => /pull_request/.test(j.if ?? ""));
  assert.is(pr.length, 1);
  const [, job] = pr[0]!;
  assert.is(job.permissions?.["id-token"], undefined, "no OIDC token for pull requests");
  assert.not.ok(
    job.steps.some((s) => /azure\/login/i.test(s.uses ?? "")),
    "no Azure login",
  );
  assert.not.match(JSON.stringify(job.steps), /vars\.|secrets\.|ACTIONS_ID_TOKEN/, "no repository variables, secrets or OIDC");
  for (const [name, j] of Object.entries(wf.jobs).filter(([n, j]) => j !== job && n !== GATE)) {
    assert.is(j.permissions?.["id-token"], "write", `job ${name} asks for its OIDC token itself`);
  }
  assert.equal(wf.jobs[GATE]!.permissions, {}, "the approval job holds no token at all");
  for (const [name, j] of Object.entries(wf.jobs).filter(([n]) => n !== GATE)) {
    const checkout = j.steps.find((s) => s.uses?.startsWith("actions/checkout@"));
    assert.is(checkout?.with?.["persist-credentials"], false, `job ${name} leaves no token in .git for the module's code to read`);
  }
});

// ---- the Dagger CLI install (Azure) ----------------------------------------------------------

/** A download (curl or wget) piped straight into a shell, environment assignments allowed before it. */
const pipesToShell = (text: string) => /\b(curl|wget)\b[^\n|]*\|\s*(sudo\s+)?([A-Za-z_]\w*=\S*\s+)*(ba|z|da)?sh\b/.test(text);

test("no pipeline file pipes a download into a shell", () => {
  for (const f of ["azure-pipelines.yml", ".ci/azure/install-dagger.yml", ".github/workflows/pipeline.yml"]) {
    assert.not.ok(pipesToShell(read(f)), `${f} pipes a download into a shell`);
  }
  assert.ok(
    pipesToShell('curl -fsSL https://dl.dagger.io/dagger/install.sh | BIN_DIR="$HOME/bin" sh'),
    "the check catches the old install line",
  );
  assert.not.ok(pipesToShell("awk -v f=\"$tarball\" '$2 == f' checksums.txt | sha256sum --check --strict -"));
});

/** Runs the template's install script with `curl` replaced by a stand-in serving `files` by URL. */
function runInstall(files: Record<string, Buffer>): { status: number | null; output: string; home: string; urls: string[] } {
  const template = parse(read(".ci/azure/install-dagger.yml")) as { steps: Step[] };
  const script = template.steps
    .map((s) => s.bash ?? "")
    .join("\n")
    .replace(/\$\(DAGGER_VERSION\)/g, engineVersion);
  const dir = tempDir("install-dagger-");
  const served = join(dir, "served");
  const bin = join(dir, "bin");
  const home = join(dir, "home");
  for (const d of [served, bin, home]) mkdirSync(d, { recursive: true });
  const fileFor = (url: string) => url.replace(/[/:]/g, "_");
  for (const [url, body] of Object.entries(files)) writeFileSync(join(served, fileFor(url)), body);
  // curl ... -o FILE URL: copies the served file (404 -> exit 22, as curl -f does) and logs the URL.
  writeFileSync(
    join(bin, "curl"),
    `#!/bin/sh\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out="$2"; shift 2;; -*) if [ "$1" = "--proto" ] || [ "$1" = "--retry" ]; then shift; fi; shift;; *) url="$1"; shift;; esac; done\n` +
      `echo "$url" >> "${dir}/urls"\nf="${served}/$(printf %s "$url" | tr '/:' '__')"\n[ -f "$f" ] || exit 22\ncp "$f" "$out"\n`,
  );
  chmodSync(join(bin, "curl"), 0o755);
  const r = spawnSync("bash", ["-c", script], {
    encoding: "utf8",
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: home },
    timeout: 60_000,
  });
  const urls = existsSync(join(dir, "urls")) ? readFileSync(join(dir, "urls"), "utf8").trim().split("\n") : [];
  return { status: r.status, output: r.stdout + r.stderr, home, urls };
}

/**
 * A release laid out as Dagger's release tooling writes it (dagger/dagger, .dagger/modules/cli-dev:
 * `dagger/releases/<version>/dagger_v<version>_<os>_<arch>.tar.gz` holding LICENSE and dagger,
 * and `sha256sum` lines in checksums.txt), with a `dagger` that prints its version.
 */
function fakeRelease(arch: string): { files: Record<string, Buffer>; tarball: string } {
  const dir = tempDir("fake-release-");
  writeFileSync(join(dir, "dagger"), `#!/bin/sh\necho "dagger v${engineVersion} (fake)"\n`, { mode: 0o755 });
  writeFileSync(join(dir, "LICENSE"), "Apache License 2.0\n");
  const name = `dagger_v${engineVersion}_linux_${arch}.tar.gz`;
  const made = spawnSync("tar", ["-czf", join(dir, name), "-C", dir, "LICENSE", "dagger"]);
  assert.is(made.status, 0);
  const tarball = readFileSync(join(dir, name));
  const sum = createHash("sha256").update(tarball).digest("hex");
  const base = `https://dl.dagger.io/dagger/releases/${engineVersion}`;
  const other = `${"0".repeat(64)}  dagger_v${engineVersion}_darwin_arm64.tar.gz`;
  return {
    tarball: `${base}/${name}`,
    files: { [`${base}/${name}`]: tarball, [`${base}/checksums.txt`]: Buffer.from(`${other}\n${sum}  ${name}\n`) },
  };
}

const ARCH = process.arch === "arm64" ? "arm64" : "amd64";

test(".ci/azure/install-dagger.yml installs the pinned release once its published checksum verifies", () => {
  const { files, tarball } = fakeRelease(ARCH);
  const r = runInstall(files);
  assert.is(r.status, 0, r.output);
  assert.equal(
    r.urls,
    [tarball, tarball.replace(/[^/]+$/, "checksums.txt")],
    "the pinned version's tarball and checksums, from dl.dagger.io over HTTPS",
  );
  assert.ok(existsSync(join(r.home, ".local/bin/dagger")), "dagger installed");
  assert.match(r.output, /dagger v\d+\.\d+\.\d+ \(fake\)/, "and run once to show its version");
});

test(".ci/azure/install-dagger.yml refuses a tarball that does not match, or a checksums file without it", () => {
  const { files, tarball } = fakeRelease(ARCH);
  const tampered = { ...files, [tarball]: Buffer.concat([files[tarball]!, Buffer.from("x")]) };
  const r = runInstall(tampered);
  assert.is.not(r.status, 0, "a tampered tarball must fail the step");
  assert.not.ok(existsSync(join(r.home, ".local/bin/dagger")), "nothing installed");
  const sums = tarball.replace(/[^/]+$/, "checksums.txt");
  const missing = runInstall({ ...files, [sums]: Buffer.from(`${"0".repeat(64)}  something-else.tar.gz\n`) });
  assert.is.not(missing.status, 0, "no checksum for the tarball must fail the step");
  assert.not.ok(existsSync(join(missing.home, ".local/bin/dagger")));
});

test("the GitHub workflow runs the same functions, secrets as env://", async () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  assert.ok(wf.on.schedule && wf.on.push && wf.on.pull_request);
  assert.is(wf.env.DAGGER_VERSION, engineVersion);
  for (const [name, job] of Object.entries(wf.jobs)) {
    const { calls, args } = await callsIn(scriptOf(job.steps));
    assert.is(calls.length, name === GATE ? 0 : 1, `job ${name} runs ${name === GATE ? "no" : "one"} dagger call`);
    assert.equal(secretsNotFromEnv(args), [], `job ${name}: secrets must be env://NAME`);
  }
});

test("the secret check itself catches a plain value", async () => {
  const mod = await introspectModule();
  const args: UsedArg[] = [];
  checkDaggerCall("dagger call with-cluster --kubeconfig file:./kc --entra-token env://T deploy --image x@sha256:1", mod, (a) =>
    args.push(a),
  );
  assert.equal(secretsNotFromEnv(args), ["--kubeconfig file:./kc"]);
});

// ---- the GitHub workflow's jobs, by GitHub's rules for `needs` and `if` ----------------------------

/**
 * Evaluates a GitHub Actions `if:` expression for the operators and functions this workflow uses:
 * ==, != (strings compared case-insensitively), &&, || (each returning an operand, as GitHub
 * does), !, parentheses, 'strings', contexts (github.event_name, inputs.X, needs.J.result,
 * needs.J.outputs.X, vars.X, secrets.X) and the status functions always(), success(), failure(),
 * cancelled(). Without a status function GitHub puts success() && in front: a job whose needs did
 * not all succeed (a skipped one included) is skipped. Anything else is an error, never a guess.
 */
function evaluateIf(expr: string, context: Record<string, unknown>, needs: Record<string, string>): unknown {
  const status = /\b(always|success|failure|cancelled)\(\)/.test(expr);
  const text = status ? expr : `success() && (${expr})`;
  const tokens = text.match(/'(?:[^']|'')*'|[A-Za-z_][\w.-]*|==|!=|&&|\|\||!|\(|\)/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++] ?? "";
  const truthy = (v: unknown) => v !== null && v !== undefined && v !== false && v !== "" && v !== 0;
  const primary = (): unknown => {
    const t = next();
    if (t === "(") {
      const v = or();
      if (next() !== ")") throw new Error(`unbalanced parentheses in ${expr}`);
      return v;
    }
    if (t === "!") return !truthy(primary());
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (peek() === "(") {
      next();
      if (next() !== ")") throw new Error(`unsupported call ${t}(...) in ${expr}`);
      const results = Object.values(needs);
      switch (t) {
        case "always":
          return true;
        case "success":
          return results.every((r) => r === "success");
        case "failure":
          return results.some((r) => r === "failure");
        case "cancelled":
          return false;
        default:
          throw new Error(`unsupported function ${t} in ${expr}`);
      }
    }
    if (!/^(github|inputs|needs|vars|secrets)\./.test(t)) throw new Error(`unsupported term ${t} in ${expr}`);
    return (
      t.split(".").reduce<unknown>((o, k) => (o && typeof o === "object" ? (o as Record<string, unknown>)[k] : undefined), context) ?? null
    );
  };
  const comparison = (): unknown => {
    const left = primary();
    const op = peek();
    if (op !== "==" && op !== "!=") return left;
    next();
    const right = primary();
    const same = String(left ?? "").toLowerCase() === String(right ?? "").toLowerCase() && (left === null) === (right === null);
    return op === "==" ? same : !same;
  };
  const and = (): unknown => {
    let v = comparison();
    while (peek() === "&&") {
      next();
      const r = comparison();
      v = truthy(v) ? r : v;
    }
    return v;
  };
  const or = (): unknown => {
    let v = and();
    while (peek() === "||") {
      next();
      const r = and();
      v = truthy(v) ? v : r;
    }
    return v;
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`unexpected ${tokens[i]} in ${expr}`);
  return v;
}

/**
 * The jobs that run for one event (with workflow_dispatch inputs, defaults from the file), in the
 * file's order (each job's needs come before it). A job that runs succeeds unless `failing` names it.
 */
function jobsRun(wf: Workflow, event: string, inputs: Record<string, string> = {}, failing: string[] = []): string[] {
  const defaults = Object.fromEntries(Object.entries(wf.on.workflow_dispatch?.inputs ?? {}).map(([k, v]) => [k, v.default]));
  const context = {
    github: { event_name: event },
    inputs: event === "workflow_dispatch" ? { ...defaults, ...inputs } : {},
    needs: {} as Record<string, { result: string; outputs: Record<string, string> }>,
    vars: {},
  };
  const result = new Map<string, string>();
  for (const [name, job] of Object.entries(wf.jobs)) {
    for (const n of job.needs ?? []) if (!result.has(n)) throw new Error(`job ${name} needs ${n}, which comes later`);
    const needs = Object.fromEntries((job.needs ?? []).map((n) => [n, result.get(n)!]));
    context.needs = Object.fromEntries(Object.entries(needs).map(([n, r]) => [n, { result: r, outputs: {} }]));
    const runs = Boolean(evaluateIf(job.if ?? "success()", context, needs));
    result.set(name, !runs ? "skipped" : failing.includes(name) ? "failure" : "success");
  }
  return [...result].filter(([, r]) => r !== "skipped").map(([n]) => n);
}

test("the GitHub condition evaluator follows GitHub's rules (implicit success(), || and && return operands)", () => {
  const wf = (jobs: Record<string, Partial<GitHubJob>>) => ({ on: {}, env: {}, jobs }) as unknown as Workflow;
  const two = wf({ a: { if: "github.event_name == 'push'" }, b: { needs: ["a"], if: "github.event_name == 'schedule'" } });
  assert.equal(jobsRun(two, "schedule"), [], "b needs a, which was skipped: without always() b is skipped too");
  const always = wf({ a: { if: "github.event_name == 'push'" }, b: { needs: ["a"], if: "always() && github.event_name == 'schedule'" } });
  assert.equal(jobsRun(always, "schedule"), ["b"]);
  assert.is(evaluateIf("always() && (inputs.x || 'fallback')", { inputs: {} }, {}), "fallback");
  assert.is(evaluateIf("always() && inputs.a == 'SHIP'", { inputs: { a: "ship" } }, {}), true, "case-insensitive");
  assert.throws(() => evaluateIf("contains(github.ref, 'main')", {}, {}), /unsupported/);
});

test("the GitHub workflow: each event runs its own jobs; day 2 as workflow_dispatch runs, as in Azure DevOps", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  const inputs = wf.on.workflow_dispatch?.inputs ?? {};
  assert.equal(inputs.action?.options, ["build", "release", "ship-model", "canary", "promote", "abort", "rollback"]);
  assert.equal(
    [inputs.action?.default, inputs["model-version"]?.default, inputs.image?.default, inputs["release-id"]?.default],
    ["build", "@champion", "", ""],
  );
  assert.equal(jobsRun(wf, "pull_request"), ["embedded"]);
  assert.equal(jobsRun(wf, "push"), ["ci"]);
  assert.equal(jobsRun(wf, "schedule"), ["release"]);
  const run = (action: string, failing: string[] = []) => jobsRun(wf, "workflow_dispatch", { action }, failing);
  assert.equal(run("build"), ["ci"]);
  assert.equal(run("release"), ["release"]);
  assert.equal(run("ship-model"), ["ci", "release"]);
  assert.equal(run("ship-model", ["ci"]), ["ci"]);
  assert.equal(run("canary"), ["canary", "approve", "promote"]);
  assert.equal(run("canary", ["approve"]), ["canary", "approve", "abort"], "rejected: abort");
  assert.equal(run("canary", ["promote"]), ["canary", "approve", "promote", "abort"]);
  assert.equal(run("canary", ["canary"]), ["canary"]);
  assert.equal(run("promote"), ["approve", "promote"]);
  assert.equal(run("abort"), ["abort"]);
  assert.equal(run("rollback"), ["rollback"]);
  // promote and abort finish the canary this run started, else the one the run names
  for (const name of ["promote", "abort"]) {
    const step = wf.jobs[name]!.steps.find((st) => st.run?.includes("dagger call"))!;
    assert.is(step.env?.RELEASE_ID, "${{ needs.canary.outputs.release-id || inputs.release-id }}", name);
    assert.match(String(step.run), `${name} --release-id "$RELEASE_ID"`);
  }
  assert.is(wf.jobs.canary!.outputs?.["release-id"], "${{ steps.canary.outputs.release-id }}");
  assert.is(wf.jobs.rollback!.steps.find((st) => st.run?.includes("dagger call"))!.env?.ROLLBACK_IMAGE, "${{ inputs.image }}");
});

test("the GitHub workflow: the jobs that change the cluster run one at a time (concurrency, never cancelled) in the environment ai-app-production with the release identity; the approval is its own job", () => {
  const wf = parse(read(".github/workflows/pipeline.yml")) as Workflow;
  const cluster = Object.entries(wf.jobs)
    .filter(([, j]) => changesCluster(j.steps))
    .map(([n]) => n);
  assert.equal(cluster, ["release", "canary", "promote", "abort", "rollback"]);
  const clientOf = (j: GitHubJob) => j.steps.find((st) => st.uses?.startsWith("azure/login@"))?.with?.["client-id"];
  for (const name of cluster) {
    const j = wf.jobs[name]!;
    assert.is(j.environment, "ai-app-production", name);
    assert.equal(j.concurrency, { group: "ai-app-production", "cancel-in-progress": false }, `${name}: queued, never cancelled`);
    assert.is(clientOf(j), "${{ vars.AZURE_RELEASE_CLIENT_ID }}", name);
  }
  const ci = wf.jobs.ci!;
  assert.is(clientOf(ci), "${{ vars.AZURE_BUILD_CLIENT_ID }}", "ci builds with the build identity");
  assert.equal(ci.concurrency, { group: "ci-${{ github.ref }}", "cancel-in-progress": true }, "a newer commit supersedes an older run");
  assert.is(ci.environment, undefined, "ci's OIDC subject stays the main branch");
  const gate = wf.jobs[GATE]!;
  assert.equal([gate.environment, gate.concurrency, gate.needs], ["ai-app-approval", undefined, ["canary"]]);
  assert.not.ok(
    gate.steps.some((st) => st.uses),
    "the approval job checks out nothing and logs in nowhere",
  );
  for (const name of ["schedule", "push"]) assert.not.ok(jobsRun(wf, name).includes(GATE), `${name}: never waits on the approval`);
});

// ---- opt-in image signing and policy: each stage's script run with stand-ins ------------------

/** A run's settings: the switches (group or repository variables), the secrets, the checkout's files. */
interface Scenario {
  switches?: Record<string, string>;
  secrets?: Record<string, string>;
  /** Files in the working directory (the checkout), e.g. cosign.pub. */
  files?: Record<string, string>;
}

const REPO_URI = "https://dev.azure.com/contoso/ai/_git/ai-app";
/** Azure's predefined variables and the group's, as a run of main sees them (stand-in values). */
const AZURE_VARIABLES: Record<string, string> = {
  "Build.SourceVersion": "0123456789abcdef0123456789abcdef01234567",
  "Build.SourceBranch": "refs/heads/main",
  "Build.Repository.Uri": REPO_URI,
  "System.CollectionUri": "https://dev.azure.com/contoso/",
  "System.TeamProjectId": "3f2c7e4a-0000-4000-8000-000000000001",
  "System.DefinitionId": "7",
  "modelKey.secureFilePath": "/agent/_temp/model-signing.pub",
  releaseId: "stand-in-release",
  STORAGE_ACCOUNT: "aiappmodels",
  MODEL_CONTAINER: "models",
  ACR_NAME: "aiappregistry",
  AKS_RESOURCE_GROUP: "ai-app",
  AKS_CLUSTER: "ai-app-aks",
  AKS_NAMESPACE: "ai-app",
  AKS_REGION: "westeurope",
  DNS_LABEL: "ai-app-4821",
  MODEL_VERSION: "@champion",
  REQUIRE_MODEL_SIGNATURE: "false",
};

/**
 * Runs an Azure stage's script steps as the agent would: template expressions (parameters) and
 * $(macros) expanded first; in a script, an unknown macro is an error of the pipeline; in a step's
 * env it stays as written (Azure leaves an undefined variable's macro alone). Non-secret variables
 * are also in the environment, named as Azure names them (upper case, . as _); secret ones only
 * where a step's env maps them.
 */
function runAzureStage(p: AzurePipeline, stageName: string, s: Scenario = {}): ScriptRun {
  const stage = p.stages.find((st) => st.stage === stageName)!;
  const temp = tempDir("azure-agent-temp-");
  const plain: Record<string, string> = { ...AZURE_VARIABLES, "Agent.TempDirectory": temp, ...s.switches };
  const all: Record<string, string> = { ...plain, ...s.secrets };
  const params = Object.fromEntries((p.parameters ?? []).map((x) => [x.name, String(x.default)]));
  const template = (t: string) => t.replace(/\$\{\{\s*parameters\.(\w+)\s*\}\}/g, (_m, n: string) => params[n]!);
  const macro = (t: string, strict: boolean) =>
    t.replace(/\$\(([A-Za-z_][A-Za-z0-9_.]*)\)/g, (m, n: string) => {
      if (n in all) return all[n]!;
      if (strict) throw new Error(`stage ${stageName} reads $(${n}), which no variable defines`);
      return m;
    });
  // (a comment may name a variable of another step or stage)
  const macros = (t: string, strict: boolean) =>
    t
      .split("\n")
      .map((line) => macro(line, strict && !/^\s*#/.test(line)))
      .join("\n");
  const env = Object.fromEntries(Object.entries(plain).map(([k, v]) => [k.toUpperCase().replace(/\./g, "_"), v]));
  const runs = stage.jobs
    .flatMap(stepsOf)
    .filter((st) => st.inputs?.inlineScript ?? st.bash)
    .map((st) => {
      const stepEnv = Object.fromEntries(Object.entries(st.env ?? {}).map(([k, v]) => [k, macros(template(String(v)), false)]));
      return runCiScript(macros(template(String(st.inputs?.inlineScript ?? st.bash)), true), { ...env, ...stepEnv }, s.files);
    });
  return {
    status: runs.find((r) => r.status !== 0)?.status ?? 0,
    output: runs.map((r) => r.output).join("\n"),
    calls: runs.flatMap((r) => r.calls),
  };
}

/** GitHub's default environment for a run of main in contoso/ai-app. */
const GITHUB_ENV = {
  GITHUB_SHA: "0123456789abcdef0123456789abcdef01234567",
  GITHUB_REF: "refs/heads/main",
  GITHUB_SERVER_URL: "https://github.com",
  GITHUB_REPOSITORY: "contoso/ai-app",
  GITHUB_WORKFLOW_REF: "contoso/ai-app/.github/workflows/pipeline.yml@refs/heads/main",
};

const GITHUB_VARIABLES = [
  "STORAGE_ACCOUNT",
  "MODEL_CONTAINER",
  "ACR_NAME",
  "AKS_RESOURCE_GROUP",
  "AKS_CLUSTER",
  "AKS_NAMESPACE",
  "AKS_REGION",
  "DNS_LABEL",
  "MODEL_VERSION",
];

/** Runs a GitHub job's run steps as the runner would: ${{ expressions }} expanded first (an unset variable or secret is empty). */
function runGitHubJob(wf: Workflow, jobName: string, s: Scenario = {}): ScriptRun {
  const job = wf.jobs[jobName]!;
  const temp = tempDir("runner-temp-");
  const context = {
    github: { event_name: "push" },
    inputs: {},
    needs: { canary: { result: "success", outputs: { "release-id": "stand-in-release" } } },
    // the repository variables azure-setup.md step 9 sets, as the group has them; the switches only when set
    vars: { ...Object.fromEntries(GITHUB_VARIABLES.map((v) => [v, AZURE_VARIABLES[v]])), ...s.switches },
    secrets: { ...s.secrets },
  };
  const expand = (t: string) =>
    t.replace(/\$\{\{\s*(.*?)\s*\}\}/g, (_m, e: string) => (e.startsWith("env.") ? "" : String(evaluateIf(e, context, {}) ?? "")));
  const runs = job.steps
    .filter((st) => st.run)
    .map((st) => {
      const stepEnv = Object.fromEntries(Object.entries(st.env ?? {}).map(([k, v]) => [k, expand(String(v))]));
      const env = { ...GITHUB_ENV, RUNNER_TEMP: temp, GITHUB_OUTPUT: join(temp, "output"), ...stepEnv };
      return runCiScript(expand(String(st.run)), env, s.files);
    });
  return {
    status: runs.find((r) => r.status !== 0)?.status ?? 0,
    output: runs.map((r) => r.output).join("\n"),
    calls: runs.flatMap((r) => r.calls),
  };
}

/** The secrets' stand-in values: the key pair's private half (as cosign writes it) and its password. */
const PEM =
  "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nc3RhbmQtaW4ga2V5IGZvciB0aGUgcGlwZWxpbmUgdGVzdHM=\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n";
const PASSWORD = "stand-in password, not an argument";
/** Azure keeps the key base64 on one line (a variable holds one line); GitHub's secret holds it as is. */
const azureSecrets = { COSIGN_KEY: Buffer.from(PEM).toString("base64"), COSIGN_PASSWORD: PASSWORD };
const githubSecrets = { COSIGN_KEY: PEM, COSIGN_PASSWORD: PASSWORD };

/** The one dagger call of a run, checked against the module: its problems and the flags it passes. */
async function theCall(
  run: ScriptRun,
  where: string,
): Promise<{ problems: string[]; args: UsedArg[]; argv: string[]; secrets: Record<string, string> }> {
  if (run.status !== 0 || run.calls.length !== 1)
    return {
      problems: [`${where}: ran ${run.calls.length} dagger calls, exit ${run.status}: ${run.output.trim()}`],
      args: [],
      argv: [],
      secrets: {},
    };
  const [call] = run.calls;
  const args: UsedArg[] = [];
  const problems = checkDaggerCall(commandLine(call!.argv), await introspectModule(), (a) => args.push(a)).map((x) => `${where}: ${x}`);
  problems.push(...secretsNotFromEnv(args).map((x) => `${where}: a secret not from env: ${x}`));
  return { problems, args, argv: call!.argv, secrets: call!.secrets };
}

const flagOf = (args: UsedArg[], fn: string, flag: string) => args.find((a) => a.fn === fn && a.flag === flag)?.value;

/**
 * What a build run must show: signing off (no with-image-signing, no gate), or on (with-image-signing
 * before ci, its key and password as env:// secrets that hold the key pair's own values, a builder
 * URI; the gate at `severity`); and never the key or password as an argument.
 */
async function signingProblems(run: ScriptRun, where: string, want: { sign: boolean; severity?: string }): Promise<string[]> {
  const { problems, args, argv, secrets } = await theCall(run, where);
  if (argv.length === 0) return problems;
  const signs = argv.indexOf("with-image-signing");
  if (!want.sign && signs >= 0) problems.push(`${where}: signs with signing off`);
  if (want.sign) {
    if (signs < 0 || signs > argv.indexOf("ci")) problems.push(`${where}: no with-image-signing before ci`);
    // (Azure's decoding in $(...) drops the key's final newline, which PEM readers do not need)
    if (flagOf(args, "with-image-signing", "signing-key") !== "env://COSIGN_KEY" || secrets.COSIGN_KEY?.trimEnd() !== PEM.trimEnd())
      problems.push(`${where}: the key is not env://COSIGN_KEY holding cosign.key`);
    if (flagOf(args, "with-image-signing", "signing-password") !== "env://COSIGN_PASSWORD" || secrets.COSIGN_PASSWORD !== PASSWORD)
      problems.push(`${where}: the password is not env://COSIGN_PASSWORD holding it`);
    if (!/^https:\/\/\S+$/.test(String(flagOf(args, "with-image-signing", "builder-id")))) problems.push(`${where}: no builder URI`);
  }
  const severity = flagOf(args, "ci", "fail-on-severity");
  if (severity !== want.severity) problems.push(`${where}: --fail-on-severity ${String(severity)}, expected ${String(want.severity)}`);
  const leaked = [PEM, ...PEM.split("\n").filter((l) => l.length > 20), azureSecrets.COSIGN_KEY, PASSWORD];
  if (argv.some((w) => leaked.some((x) => w.includes(x)))) problems.push(`${where}: the key or its password is an argument`);
  if (argv.includes("with-image-policy")) problems.push(`${where}: a build verifies nothing it deploys`);
  return problems;
}

/** What a deploying run must show: no policy, or with-image-policy with cosign.pub and `repository`, and the registry's sign-in for the verification. */
async function policyProblems(run: ScriptRun, where: string, want: { policy: boolean; repository?: string }): Promise<string[]> {
  const { problems, args, argv, secrets } = await theCall(run, where);
  if (argv.length === 0) return problems;
  const has = argv.includes("with-image-policy");
  if (has !== want.policy) problems.push(`${where}: with-image-policy ${has ? "with the policy off" : "missing"}`);
  if (want.policy) {
    if (flagOf(args, "with-image-policy", "public-key") !== "./cosign.pub") problems.push(`${where}: not the committed cosign.pub`);
    const repo = flagOf(args, "with-image-policy", "source-repository");
    if (repo !== want.repository) problems.push(`${where}: --source-repository ${String(repo)}, expected ${want.repository}`);
    if (flagOf(args, "with-registry", "entra-token") !== "env://ACR_TOKEN" || secrets.ACR_TOKEN !== STAND_IN_TOKEN)
      problems.push(`${where}: the verification reads the registry without its sign-in`);
  }
  if (argv.includes("with-image-signing")) problems.push(`${where}: a deploy signs nothing`);
  return problems;
}

const azure = () => parse(read("azure-pipelines.yml")) as AzurePipeline;
const github = () => parse(read(".github/workflows/pipeline.yml")) as Workflow;
const SIGNING_ON = { SIGN_IMAGES: "true", FAIL_ON_SEVERITY: "high" };
const POLICY_ON = { REQUIRE_IMAGE_SIGNATURE: "true" };
const PUBLIC_KEY = { "cosign.pub": "-----BEGIN PUBLIC KEY-----\nstand-in\n-----END PUBLIC KEY-----\n" };
/** The stages (jobs) that apply an image, and so verify it under the policy. */
const DEPLOYING = ["release", "canary", "promote", "rollback"];

test("image signing is opt-in: off by default the build call signs nothing; with SIGN_IMAGES=true it signs with env:// secrets (key and password never arguments) and FAIL_ON_SEVERITY adds the gate", async () => {
  const builds: [string, (s: Scenario) => ScriptRun, Record<string, string>][] = [
    ["stage ci", (s) => runAzureStage(azure(), "ci", s), azureSecrets],
    ["job ci", (s) => runGitHubJob(github(), "ci", s), githubSecrets],
  ];
  for (const [where, run, secrets] of builds) {
    assert.equal(await signingProblems(run({}), `${where} (default)`, { sign: false }), []);
    assert.equal(await signingProblems(run({ secrets }), `${where} (secrets set, switch off)`, { sign: false }), []);
    assert.equal(
      await signingProblems(run({ switches: { FAIL_ON_SEVERITY: "critical" } }), `${where} (gate only)`, {
        sign: false,
        severity: "critical",
      }),
      [],
    );
    assert.equal(
      await signingProblems(run({ switches: SIGNING_ON, secrets }), `${where} (signing on)`, { sign: true, severity: "high" }),
      [],
    );
    assert.equal(
      await signingProblems(run({ switches: { ...SIGNING_ON, ...POLICY_ON }, secrets, files: PUBLIC_KEY }), `${where} (policy on too)`, {
        sign: true,
        severity: "high",
      }),
      [],
    );
    const missing = run({ switches: SIGNING_ON });
    assert.is.not(missing.status, 0, `${where}: SIGN_IMAGES=true without the key fails`);
    assert.equal(missing.calls, [], `${where}: before any dagger call`);
    assert.match(missing.output, /COSIGN_KEY/);
  }
  // The embedded default of pull requests never signs: no switch reaches it.
  assert.equal(
    await signingProblems(runAzureStage(azure(), "pr", { switches: SIGNING_ON, secrets: azureSecrets }), "stage pr", { sign: false }),
    [],
  );
  assert.equal(
    await signingProblems(runGitHubJob(github(), "embedded", { switches: SIGNING_ON, secrets: githubSecrets }), "job embedded", {
      sign: false,
    }),
    [],
  );
});

test("the image policy is opt-in: off by default; with REQUIRE_IMAGE_SIGNATURE=true release, canary, promote and rollback verify with cosign.pub, the repository ci names, and the registry's sign-in; abort applies nothing", async () => {
  const pipelines: [string, (job: string, s: Scenario) => ScriptRun, Record<string, string>][] = [
    ["stage", (job, s) => runAzureStage(azure(), job, s), azureSecrets],
    ["job", (job, s) => runGitHubJob(github(), job, s), githubSecrets],
  ];
  for (const [kind, run, secrets] of pipelines) {
    // What release requires is what ci wrote: its --source-url.
    const built = await theCall(run("ci", { switches: SIGNING_ON, secrets }), `${kind} ci`);
    const repository = String(flagOf(built.args, "(constructor)", "source-url"));
    assert.match(repository, /^https:\/\//);
    for (const job of DEPLOYING) {
      const where = `${kind} ${job}`;
      assert.equal(await policyProblems(run(job, {}), `${where} (default)`, { policy: false }), []);
      assert.equal(
        await policyProblems(run(job, { switches: SIGNING_ON, files: PUBLIC_KEY }), `${where} (signing only)`, { policy: false }),
        [],
      );
      assert.equal(
        await policyProblems(run(job, { switches: POLICY_ON, files: PUBLIC_KEY }), `${where} (policy on)`, { policy: true, repository }),
        [],
      );
      const noKey = run(job, { switches: POLICY_ON });
      assert.is.not(noKey.status, 0, `${where}: REQUIRE_IMAGE_SIGNATURE=true without cosign.pub fails`);
      assert.equal(noKey.calls, [], `${where}: before any dagger call`);
      assert.match(noKey.output, /cosign\.pub/);
    }
    const abort = await theCall(run("abort", { switches: POLICY_ON, files: PUBLIC_KEY }), `${kind} abort`);
    assert.equal(abort.problems, []);
    assert.not.ok(abort.argv.includes("with-image-policy"), "abort removes a canary and applies no image");
  }
});

test("the signing and policy checks fail on a pipeline that gets it wrong", async () => {
  const text = read("azure-pipelines.yml");
  const broken = (from: string, to: string) => {
    assert.ok(text.includes(from), `azure-pipelines.yml has ${from}`);
    return parse(text.replaceAll(from, to)) as AzurePipeline;
  };
  // the key pasted in as an argument
  const pasted = broken("--signing-key env://COSIGN_KEY", '--signing-key "$COSIGN_KEY"');
  const leaks = await signingProblems(runAzureStage(pasted, "ci", { switches: SIGNING_ON, secrets: azureSecrets }), "pasted", {
    sign: true,
    severity: "high",
  });
  assert.ok(leaks.some((x) => /a secret not from env/.test(x)) && leaks.some((x) => /is an argument/.test(x)), leaks.join("\n"));
  // a switch that is on unless said otherwise
  const inverted = broken('[ "${SIGN_IMAGES:-false}" = true ]', '[ "${SIGN_IMAGES:-true}" = true ]');
  assert.match(
    (await signingProblems(runAzureStage(inverted, "ci", { secrets: azureSecrets }), "inverted", { sign: false })).join("\n"),
    /signs with signing off/,
  );
  // the policy naming another repository than the one ci writes into the provenance
  const other = broken('--source-repository "$(Build.Repository.Uri)"', "--source-repository https://github.com/mallory/ai-app");
  assert.match(
    (
      await policyProblems(runAzureStage(other, "release", { switches: POLICY_ON, files: PUBLIC_KEY }), "other", {
        policy: true,
        repository: REPO_URI,
      })
    ).join("\n"),
    /--source-repository https:\/\/github\.com\/mallory\/ai-app, expected/,
  );
  // promote without the registry sign-in the verification needs
  const noRegistry = parse(
    text.replace(
      /(- stage: promote[\s\S]*?)\n\s*with-registry --address "\$\(ACR_NAME\)\.azurecr\.io" --entra-token env:\/\/ACR_TOKEN \\/,
      "$1",
    ),
  ) as AzurePipeline;
  assert.match(
    (
      await policyProblems(runAzureStage(noRegistry, "promote", { switches: POLICY_ON, files: PUBLIC_KEY }), "promote", {
        policy: true,
        repository: REPO_URI,
      })
    ).join("\n"),
    /without its sign-in/,
  );
});

// ---- docs/ci.md says what the files do ----------------------------------------------------------

const NUMBERS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"];

test("docs/ci.md counts and describes every stage of azure-pipelines.yml, and its Day 2 section has a manual run for every action", () => {
  const doc = read("docs/ci.md");
  const p = parse(read("azure-pipelines.yml")) as AzurePipeline;
  const said = /`azure-pipelines\.yml` has (\w+) stages/.exec(doc)?.[1];
  assert.is(said, NUMBERS[p.stages.length], `docs/ci.md says ${said} stages; the file has ${p.stages.length}`);
  for (const st of p.stages) assert.match(doc, `- **${st.stage}** (`, `docs/ci.md describes stage ${st.stage}`);
  const day2 = doc.slice(doc.indexOf("## Day 2"));
  assert.ok(doc.includes("## Day 2"), "a Day 2 section");
  for (const action of p.parameters!.find((x) => x.name === "action")!.values!.filter((a) => a !== "build"))
    assert.match(day2, `\`action=${action}\``, `Day 2: the manual run for ${action}`);
});

test.run();
