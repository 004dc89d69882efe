// Resiliency policies (kind: Resiliency in the resources folder) applied to service
// invocation of the sidecar's own app: a retry that recovers, retries that run out (the
// app's own answer comes back), a timeout, and a circuit breaker that opens and answers
// without touching the app, then closes again.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { Daprd, HOOK, T, freePort, uid, within } from "./lib/daprd.mjs";

// An app whose answers come from a per-path script; it counts the calls per path.
async function startScriptedApp(port) {
  const app = { calls: {}, scripts: {} };
  app.server = http.createServer((request, response) => {
    const path = request.url.split("?")[0];
    const n = (app.calls[path] = (app.calls[path] ?? 0) + 1);
    const script = app.scripts[path] ?? [200];
    const step = script[Math.min(n - 1, script.length - 1)];
    request.resume();
    if (step === "slow") {
      setTimeout(() => { response.writeHead(200); response.end("late"); }, 2000);
      return;
    }
    response.writeHead(step, { "content-type": "text/plain" });
    response.end(`answer ${n} from ${path}: ${step}`);
  });
  await new Promise((resolve) => app.server.listen(port, "127.0.0.1", resolve));
  return app;
}

function resiliencyYaml(appId, { retry, timeout, breaker }) {
  return `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: policies
spec:
  policies:
${timeout ? `    timeouts:\n      short: ${timeout}\n` : ""}${retry ? `    retries:\n      quick:\n        policy: constant\n        duration: 50ms\n        maxRetries: ${retry}\n` : ""}${breaker ? `    circuitBreakers:\n      cb:\n        maxRequests: 1\n        timeout: 1s\n        trip: consecutiveFailures >= ${breaker}\n` : ""}  targets:
    apps:
      ${appId}:
${timeout ? "        timeout: short\n" : ""}${retry ? "        retry: quick\n" : ""}${breaker ? "        circuitBreaker: cb\n" : ""}`;
}

async function startPair(policy) {
  const appId = `res-${uid(4)}`;
  const port = await freePort();
  const app = await startScriptedApp(port);
  const daprd = new Daprd({
    appId,
    components: [resiliencyYaml(appId, policy)],
    args: ["--app-port", String(port)],
  });
  await daprd.start();
  const call = async (path) => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${appId}/method${path}`, { method: "POST" });
    return { status: response.status, body: await response.text() };
  };
  return { app, daprd, call };
}

async function stopPair(pair) {
  await pair?.daprd.stop();
  if (pair?.app) {
    const closed = new Promise((resolve) => pair.app.server.close(resolve));
    pair.app.server.closeAllConnections();
    await within(5000, closed, "app close");
  }
}

describe("resiliency: retries and timeouts", () => {
  let pair;
  before(async () => { pair = await startPair({ retry: 3, timeout: "300ms" }); }, HOOK);
  after(async () => stopPair(pair), HOOK);

  test("two failures then a success: the caller gets the success; the app saw 3 calls", T, async () => {
    pair.app.scripts["/flaky"] = [500, 503, 200];
    const result = await pair.call("/flaky");
    assert.equal(result.status, 200);
    assert.equal(pair.app.calls["/flaky"], 3);
  });

  test("retries run out: the app's own last answer comes back; 1 call + 3 retries", T, async () => {
    pair.app.scripts["/down"] = [503];
    const result = await pair.call("/down");
    assert.equal(result.status, 503);
    assert.match(result.body, /answer 4 from \/down: 503/);
    assert.equal(pair.app.calls["/down"], 4);
  });

  test("an app slower than the timeout: 500 ERR_DIRECT_INVOKE timeout, retried, within about a second", T, async () => {
    pair.app.scripts["/slow"] = ["slow"];
    const started = Date.now();
    const result = await pair.call("/slow");
    const elapsed = Date.now() - started;
    assert.equal(result.status, 500);
    const body = JSON.parse(result.body);
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(body.message, /timeout waiting for the app to answer/);
    assert.equal(pair.app.calls["/slow"], 4);  // each attempt timed out, then retried
    assert.ok(elapsed < 2000, `took ${elapsed} ms: 4 x 300 ms + 3 x 50 ms expected`);
  });
});

describe("resiliency: circuit breaker", () => {
  let pair;
  before(async () => { pair = await startPair({ breaker: 3 }); }, HOOK);
  after(async () => stopPair(pair), HOOK);

  test("3 failures open it; then calls fail fast without reaching the app; after its timeout it closes", T, async () => {
    pair.app.scripts["/x"] = [500, 500, 500, 200];
    for (let i = 0; i < 3; i++) assert.equal((await pair.call("/x")).status, 500);
    assert.equal(pair.app.calls["/x"], 3);
    const open = await pair.call("/x");
    assert.equal(open.status, 500);
    assert.match(JSON.parse(open.body).message, /circuit breaker is open/);
    assert.equal(pair.app.calls["/x"], 3, "an open circuit does not touch the app");
    await new Promise((resolve) => setTimeout(resolve, 1100));  // the breaker's timeout: half-open
    const trial = await pair.call("/x");
    assert.equal(trial.status, 200);
    assert.equal(pair.app.calls["/x"], 4);
    assert.equal((await pair.call("/x")).status, 200, "closed again after a good trial call");
  });
});

describe("resiliency: a malformed policy stops daprd with a message", () => {
  test("an unknown policy name in targets", T, async () => {
    const daprd = new Daprd({
      components: [`apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: bad
spec:
  policies:
    retries:
      quick:
        policy: constant
        duration: 1s
  targets:
    apps:
      someapp:
        retry: nosuchpolicy
`],
    });
    await assert.rejects(daprd.start(), /nosuchpolicy/);
    await daprd.stop();
  });
});
