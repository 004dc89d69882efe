// nameresolution.mdns over a real (private) network: three "hosts" are network namespaces on
// one bridge (lib/netns.mjs), so the multicast never touches this machine's interfaces.
// Host 0 runs a caller sidecar with no app; hosts 1 and 2 each run a sidecar of the same app
// id "beta" with a tiny app that answers its own name. Every sidecar selects mDNS with a
// Configuration. The caller finds beta by multicast DNS and must reach it at the address it
// announced (its bridge address: a loopback one would bring the call back to the caller).
import assert from "node:assert/strict";
import path from "node:path";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { DAPRD_BIN, HOOK, T, tempDir } from "./lib/daprd.mjs";
import { Lan } from "./lib/netns.mjs";

// Each host has its own port space: every sidecar can use the same ports.
const HTTP_PORT = 3500;
const APP_PORT = 8080;
const BETA = "beta";

const CONFIG = `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: mdns
spec:
  nameResolution:
    component: mdns
    version: v1
    configuration: {}
`;

// A node HTTP app that answers every request with its name.
const APP_SOURCE = `
const name = process.argv[1];
require("node:http").createServer((request, response) => {
  request.resume();
  request.on("end", () => response.end(name));
}).listen(${APP_PORT}, "127.0.0.1");
`;

function daprdArgs(appId, dir, withApp) {
  const resources = path.join(dir, "resources");
  mkdirSync(resources, { recursive: true });
  const config = path.join(dir, "config.yaml");
  writeFileSync(config, CONFIG);
  const args = [
    "--app-id", appId,
    "--dapr-http-port", String(HTTP_PORT),
    "--dapr-grpc-port", "50001",
    "--dapr-internal-grpc-port", "50002",
    "--metrics-port", "9090",
    // Other hosts call the internal gRPC port on the bridge address: it listens on every
    // interface (the default); the API ports stay on loopback.
    "--dapr-listen-addresses", "127.0.0.1",
    "--resources-path", resources,
    "--config", config,
    "--log-level", "debug",
  ];
  if (withApp) args.push("--app-port", String(APP_PORT));
  return args;
}

function invokeUrl(appId, method = "whoami") {
  return `http://127.0.0.1:${HTTP_PORT}/v1.0/invoke/${appId}/method/${method}`;
}

describe("service invocation found by mDNS across network namespaces", () => {
  const dir = tempDir("mdns");
  let lan;
  let betaTwo;
  const sidecars = [];

  function startSidecar(host, appId, name, withApp) {
    const home = path.join(dir, name);
    mkdirSync(home, { recursive: true });
    const env = { ...process.env, HOME: home };
    delete env.NAMESPACE;
    const child = lan.spawn(host, DAPRD_BIN, daprdArgs(appId, home, withApp), { env, name });
    sidecars.push({ name, child });
    return child;
  }

  function logs() {
    return sidecars.map(({ name, child }) => `--- ${name} ---\n${child.output.join("")}`).join("\n");
  }

  function waitHealthy(host, name) {
    const result = lan.fetchFrom(host, {
      waitFor: { url: `http://127.0.0.1:${HTTP_PORT}/v1.0/healthz`, status: 204, ms: 10_000 },
    });
    assert.ok(result.waited.ok, `${name} not healthy (${result.waited.last})\n${logs()}`);
  }

  before(async () => {
    lan = new Lan(3);
    const [a, b, c] = lan.hosts;
    lan.spawn(b, process.execPath, ["-e", APP_SOURCE, "beta@" + b.ip], { name: "app-b" });
    lan.spawn(c, process.execPath, ["-e", APP_SOURCE, "beta@" + c.ip], { name: "app-c" });
    startSidecar(b, BETA, "daprd-b", true);
    betaTwo = startSidecar(c, BETA, "daprd-c", true);
    startSidecar(a, "caller", "daprd-a", false);
    waitHealthy(b, "daprd-b");
    waitHealthy(c, "daprd-c");
    waitHealthy(a, "daprd-a");
  }, HOOK);

  after(async () => {
    await lan?.destroy();
    if (!process.env.DAPR_E2E_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
  }, HOOK);

  test("calls to beta rotate over both instances, each reached at its bridge address", T, () => {
    const [a, b, c] = lan.hosts;
    // The first call queries and returns with the first answer; the other instance answers
    // the same query a few ms later. Then every call alternates.
    const warmUp = lan.fetchFrom(a, { requests: [{ url: invokeUrl(BETA) }] });
    assert.equal(warmUp.responses[0].status, 200, `${JSON.stringify(warmUp)}\n${logs()}`);
    const { responses } = lan.fetchFrom(a, {
      pauseMs: 300,
      requests: [{ url: invokeUrl(BETA), repeat: 10 }],
    });
    const names = responses.map((r) => (r.status === 200 ? r.body : `${r.status} ${r.body}`));
    assert.deepEqual(new Set(names), new Set([`beta@${b.ip}`, `beta@${c.ip}`]), `${names}\n${logs()}`);
    for (let i = 1; i < names.length; i++) {
      assert.notEqual(names[i], names[i - 1], `not round robin: ${names}`);
    }
  });

  test("an app id nobody announces: 500 ERR_DIRECT_INVOKE couldn't find service", T, () => {
    const [a] = lan.hosts;
    const started = Date.now();
    const { responses } = lan.fetchFrom(a, { requests: [{ url: invokeUrl("nobody") }] });
    const elapsed = Date.now() - started;
    assert.equal(responses[0].status, 500, JSON.stringify(responses));
    const body = JSON.parse(responses[0].body);
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.equal(body.message, "failed to invoke, id: nobody, err: couldn't find service: nobody");
    assert.ok(elapsed < 5000, `the lookup gave up after ${elapsed} ms`);
  });

  test("a stopped instance says goodbye: every call then goes to the other", T, async () => {
    const [a, b] = lan.hosts;
    await lan.stop(betaTwo);
    const { responses } = lan.fetchFrom(a, { requests: [{ url: invokeUrl(BETA), repeat: 4 }] });
    const names = responses.map((r) => (r.status === 200 ? r.body : `${r.status} ${r.body}`));
    assert.deepEqual(names, Array(4).fill(`beta@${b.ip}`), `${names}\n${logs()}`);
  });
});
