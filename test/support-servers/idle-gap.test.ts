/**
 * Every server the tests start answers a request sent on a kept-alive connection after an idle
 * gap longer than Node's default keep-alive timeout (5 s): on a loaded machine that gap happens
 * between two queries of the SDK, and a server that closed the socket meanwhile turned the second
 * query into "socket hang up". One gap for all servers at once, so the suite pays it once.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { Agent as HttpAgent, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { FakeEngine } from "../support/fake-engine.js";
import { startScriptedServer } from "../support/scripted-server.js";
import { startFaultProxy } from "../support/http-fault-proxy.js";
import { startFakeAcr } from "../support/fake-acr.js";
import { FakeApiServer } from "../support/fake-apiserver.js";
import { TokenServer } from "../support/token-server.js";
import { selfSignedCert } from "../support/tls.js";
import { startAzurite } from "../support/azurite.js";
import { startRegistry } from "../support/registry.js";
import { NODE_DEFAULT_KEEP_ALIVE_MS } from "../support/patient-server.js";

interface Answer {
  status: number;
  reused: boolean;
}

/** One GET on `agent` (one socket at most), saying whether it went out on a kept-alive socket. */
function get(url: string, agent: HttpAgent | HttpsAgent): Promise<Answer> {
  const send = url.startsWith("https:") ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(url, { agent, headers: { connection: "keep-alive" } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
    });
    req.on("error", (e) => reject(new Error(`${url}: ${e.message}`)));
    req.end();
  });
}

test(`every stand-in server keeps an idle kept-alive connection past ${NODE_DEFAULT_KEEP_ALIVE_MS} ms and answers on it`, async () => {
  const tls = selfSignedCert();
  const running: { stop(): Promise<void> }[] = [];
  const started = async <T extends { stop(): Promise<void> }>(server: Promise<T>): Promise<T> => {
    const s = await server;
    running.push(s);
    return s;
  };
  const agents: Record<string, HttpAgent | HttpsAgent> = {};
  try {
    const engine = await started(new FakeEngine().start());
    const scripted = await started(startScriptedServer((_req, res) => res.end("ok")));
    const faultProxy = await started(startFaultProxy(scripted.url, []));
    const acr = await started(startFakeAcr({ entraToken: "t", tenant: "tenant" }));
    const api = await started(new FakeApiServer({ namespace: "default", replicaSets: {}, pods: [], events: [] }).start());
    const tokens = await started(
      new TokenServer(tls, {
        tenantId: "tenant",
        clientId: "client",
        clientSecret: "s",
        federatedToken: "f",
        systemAccessToken: "a",
        serviceConnectionId: "c",
        identityHeader: "h",
      }).start(),
    );
    const azurite = await started(startAzurite());
    const registry = await started(startRegistry());
    const targets: Record<string, string> = {
      "fake engine": `http://127.0.0.1:${engine.port}/query`,
      "scripted server": scripted.url,
      "HTTP fault proxy": `http://${faultProxy.address}/`,
      "fake ACR": `${acr.url}/v2/`,
      "stand-in API server": `${api.url}/version`,
      "Entra token server": `${tokens.authorityHost}/tenant/v2.0/.well-known/openid-configuration`,
      Azurite: `${azurite.accountUrl}?comp=list`,
      "docker-registry": `${registry.url}/v2/`,
    };
    for (const [name, url] of Object.entries(targets)) {
      const options = { keepAlive: true, maxSockets: 1 };
      agents[name] = url.startsWith("https:") ? new HttpsAgent({ ...options, rejectUnauthorized: false }) : new HttpAgent(options);
    }
    const each = (fn: (name: string, url: string) => Promise<void>) =>
      Promise.all(Object.entries(targets).map(([name, url]) => fn(name, url)));
    await each(async (name, url) => {
      const first = await get(url, agents[name]!);
      assert.ok(first.status > 0, `${name}: no answer`);
    });
    await new Promise((r) => setTimeout(r, NODE_DEFAULT_KEEP_ALIVE_MS + 1500));
    await each(async (name, url) => {
      const second = await get(url, agents[name]!);
      assert.ok(second.status > 0, `${name}: no answer after the idle gap`);
      assert.ok(second.reused, `${name} closed the idle connection: a client reusing it would get "socket hang up"`);
    });
  } finally {
    for (const agent of Object.values(agents)) agent.destroy();
    await Promise.all(running.map((s) => s.stop()));
  }
});

test.run();
