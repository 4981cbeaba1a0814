import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSmokeOutput, smokeTestArgs } from "../../dagger/src/kubernetes/smoke.js";

const target = {
  image: "myacr.azurecr.io/ai-app@sha256:" + "a".repeat(64),
  namespace: "prod",
  url: "http://ai-app.prod.svc:80",
  modelSha256: "b".repeat(64),
  runId: "Build_42",
};

test("smoke pod runs the deployed image by digest, hardened, with the check script and its arguments", () => {
  const args = smokeTestArgs(target, ["--namespace=prod", "--context=aks", "--user=tok"]);
  assert.equal(args.slice(0, 3), ["kubectl", "run", "smoke-build-42"]);
  assert.ok(args.indexOf("--context=aks") < args.indexOf("--command"), "target flags before the pod command");
  assert.not.ok(args.includes("--namespace=prod"), "namespace given once");
  assert.is(args[args.indexOf("--image") + 1], target.image);
  assert.ok(args.includes("--rm") && args.includes("--attach") && args.includes("--restart=Never"));
  const overrides = JSON.parse(args.find((a) => a.startsWith("--overrides="))!.slice("--overrides=".length));
  assert.is(overrides.spec.securityContext.runAsNonRoot, true);
  assert.equal(overrides.spec.containers[0].securityContext.capabilities.drop, ["ALL"]);
  const cmd = args.slice(args.indexOf("--") + 1);
  assert.is(cmd[0], "python");
  assert.match(cmd[2]!, /def main\(argv\)/);
  assert.equal(cmd.slice(3), [target.url, target.modelSha256]);
});

test("the check's JSON line is found among other kubectl output", () => {
  const out = 'pod "smoke-x" deleted\n{"ok": false, "problems": ["/readyz answered 503, expected 200"], "seen": {"readyz": 503}}\n';
  assert.equal(parseSmokeOutput(out), { ok: false, problems: ["/readyz answered 503, expected 200"], seen: { readyz: 503 } });
  assert.is(parseSmokeOutput("error: timed out waiting for the condition"), undefined);
  assert.equal(parseSmokeOutput('{"ok": false, "error": "cannot reach http://x"}')?.problems, ["cannot reach http://x"]);
});

test.run();
