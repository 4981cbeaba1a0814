/** The Azure DNS label: set on the LoadBalancer Service at render time, checked, and read back by status as the public URL. */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { AZURE_DNS_LABEL_ANNOTATION, azurePublicUrl, dnsLabelToRender } from "../../dagger/src/kubernetes/dns-label.js";
import { parseStatus } from "../../dagger/src/kubernetes/status.js";
import { validateManifests } from "../../dagger/src/kubernetes/validate.js";
import { renderShipped, shippedManifests } from "../support/kubernetes.js";
import { renderManifests } from "../../dagger/src/kubernetes/render.js";

const service = (files: { path: string; text: string }[]) =>
  parse(files.find((f) => f.path === "service.yaml")!.text) as { metadata: { annotations?: Record<string, string> } };

test("--dns-label annotates the LoadBalancer Service for AKS; the set still validates; without it nothing is added", async () => {
  const labelled = renderShipped({ dnsLabel: "ai-app-prod" });
  assert.is(service(labelled).metadata.annotations?.[AZURE_DNS_LABEL_ANNOTATION], "ai-app-prod");
  assert.equal(await validateManifests(labelled), []);
  assert.is(service(renderShipped()).metadata.annotations, undefined);
});

test("a bad label, or no LoadBalancer Service to carry it, is refused with what to do", () => {
  for (const bad of ["AI-App", "1app", "ab", "app-", `a${"b".repeat(63)}`]) {
    assert.throws(() => renderShipped({ dnsLabel: bad }), /not a valid Azure DNS label: 3 to 63 lowercase letters/, bad);
  }
  const clusterIp = shippedManifests().map((f) =>
    f.path === "service.yaml" ? { ...f, text: f.text.replace("type: LoadBalancer", "type: ClusterIP") } : f,
  );
  assert.throws(
    () => renderManifests(clusterIp, { image: `r/a@sha256:${"c".repeat(64)}`, namespace: "prod", dnsLabel: "ai-app-prod" }),
    /needs a Service of type LoadBalancer/,
  );
});

test("status: the label and the region make the public URL; the label alone is reported with what completes it", () => {
  const objects = { deployment: "ai-app", service: "ai-app" };
  const svc = {
    kind: "Service",
    metadata: { name: "ai-app", annotations: { [AZURE_DNS_LABEL_ANNOTATION]: "ai-app-prod" } },
    spec: { type: "LoadBalancer", ports: [{ name: "http", port: 80 }] },
    status: { loadBalancer: { ingress: [{ ip: "20.1.2.3" }] } },
  };
  const out = JSON.stringify({ kind: "List", items: [svc] });
  const withRegion = parseStatus(out, objects, "prod", "westeurope");
  assert.equal([withRegion.url, withRegion.dnsLabel], ["http://ai-app-prod.westeurope.cloudapp.azure.com", "ai-app-prod"]);
  const without = parseStatus(out, objects, "prod");
  assert.is(without.url, "http://20.1.2.3");
  assert.match(without.address, "DNS label ai-app-prod (http://ai-app-prod.<region>.cloudapp.azure.com: pass --region for the URL)");
  assert.is(azurePublicUrl("x-app", "eastus2", 8080), "http://x-app.eastus2.cloudapp.azure.com:8080");
});

test("the label rendered: --dns-label, none with --remove-dns-label, else the one the Service carries now", () => {
  assert.is(dnsLabelToRender({}, "ai-app-prod"), "ai-app-prod", "kept: a run that does not name it does not take it away");
  assert.is(dnsLabelToRender({}, ""), undefined);
  assert.is(dnsLabelToRender({ dnsLabel: "ai-app-new" }, "ai-app-prod"), "ai-app-new");
  assert.is(dnsLabelToRender({ remove: true }, "ai-app-prod"), undefined);
  assert.throws(() => dnsLabelToRender({ dnsLabel: "Bad_Label" }, ""), /not a valid Azure DNS label/);
  assert.throws(() => dnsLabelToRender({ dnsLabel: "ai-app-new", remove: true }, ""), /--dns-label and --remove-dns-label contradict/);
});

test.run();
