/**
 * The one reading of kubectl's JSON that status, the ledger, promote and the canary share: the
 * objects of a `kubectl get`, and the app's container beside a sidecar.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appContainer, kubectlGetItems } from "../../dagger/src/kubernetes/kubectl-json.js";
import { parseStatus } from "../../dagger/src/kubernetes/status.js";
import { parseLedgerRead } from "../../dagger/src/release/ledger.js";
import { parseLiveCanary } from "../../dagger/src/release/release-steps.js";
import { parseLeftovers, podHealth } from "../../dagger/src/release/canary.js";

const APP = "registry.example/ai-app@sha256:" + "a".repeat(64);
const SIDECAR = { name: "log-shipper", image: "registry.example/shipper:1", ports: [{ name: "http", containerPort: 9000 }] };
const podSpec = { containers: [SIDECAR, { name: "app", image: APP, ports: [{ name: "http", containerPort: 8000 }] }] };

/** A Deployment whose pod template lists a sidecar before the app. */
const deployment = (name: string) => ({
  kind: "Deployment",
  metadata: { name, labels: { "ai-app-pipeline/release-id": "r1" } },
  spec: { replicas: 2, template: { spec: podSpec } },
});

test("kubectl get's output: nothing, one object, or a List's items; not JSON is an error that quotes it", () => {
  assert.equal(kubectlGetItems("  \n"), []);
  assert.equal(kubectlGetItems('{"kind":"Deployment"}'), [{ kind: "Deployment" }]);
  assert.equal(kubectlGetItems('{"kind":"List","items":[{"kind":"Service"},null]}'), [{ kind: "Service" }, {}]);
  assert.throws(() => kubectlGetItems("error: Unauthorized"), /kubectl get printed something that is not JSON: error: Unauthorized/);
});

test("the app's container is the one named app, else the first; none in an empty pod spec", () => {
  assert.is(appContainer(podSpec)?.image, APP);
  assert.is(appContainer({ containers: [SIDECAR] })?.image, SIDECAR.image);
  assert.is(appContainer({}), undefined);
});

test("every reader of a Deployment or pod takes the app's container, not a sidecar listed first", () => {
  const json = JSON.stringify(deployment("ai-app"));
  assert.is(parseStatus(json, { deployment: "ai-app" }, "prod").image, APP);
  assert.is(parseLedgerRead(json, "ai-app-releases").image, APP);
  assert.is(parseLiveCanary(JSON.stringify(deployment("ai-app-canary")), "ai-app-canary").canary?.image, APP);
  assert.equal(
    parseLeftovers(
      JSON.stringify({ kind: "List", items: [deployment("ai-app-canary"), deployment("billing-canary")] }),
      "ai-app-canary",
    ).map((l) => l.image),
    [APP],
  );
  const pod = { spec: podSpec, status: { podIP: "10.1.2.3", conditions: [{ type: "Ready", status: "True" }] } };
  assert.equal(podHealth(JSON.stringify({ items: [pod] })).urls, ["http://10.1.2.3:8000"]);
});

test.run();
