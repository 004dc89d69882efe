// App health checks (--enable-app-health-check): daprd probes the app's health path; after
// `threshold` failed probes in a row, calls to the app fail at once without reaching it, and
// they work again after one good probe.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { Daprd, HOOK, freePort, waitFor, within } from "./lib/daprd.mjs";

describe("app health checks", { timeout: 60_000 }, () => {
  let daprd, server;
  const app = { healthy: true, probes: 0, calls: 0 };

  before(async () => {
    const port = await freePort();
    server = http.createServer((request, response) => {
      request.resume();
      if (request.url === "/ready") {
        app.probes++;
        response.writeHead(app.healthy ? 200 : 503);
        return response.end();
      }
      app.calls++;
      response.writeHead(200, { "content-type": "text/plain" });
      response.end("hello");
    });
    await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
    daprd = new Daprd({
      args: [
        "--app-port", String(port),
        "--enable-app-health-check",
        "--app-health-check-path", "/ready",
        "--app-health-probe-interval", "1",
        "--app-health-probe-timeout", "300",
        "--app-health-threshold", "2",
      ],
    });
    await daprd.start();
  }, HOOK);

  after(async () => {
    await daprd?.stop();
    if (server) {
      const closed = new Promise((resolve) => server.close(resolve));
      server.closeAllConnections();
      await within(5000, closed, "app close");
    }
  }, HOOK);

  const call = async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/hi`);
    return { status: response.status, body: await response.text() };
  };

  test("the app is probed on its health path, and a healthy app is called", async () => {
    await waitFor(() => app.probes >= 1, { ms: 5000, what: "a first probe" });
    const result = await call();
    assert.equal(result.status, 200);
    assert.equal(result.body, "hello");
  });

  test("after 2 failed probes calls fail at once without reaching the app; one good probe heals it", async () => {
    app.healthy = false;
    await waitFor(async () => (await call()).status === 500, { ms: 8000, what: "the app to be seen unhealthy" });
    const callsBefore = app.calls;
    const refused = await call();
    assert.equal(refused.status, 500);
    const body = JSON.parse(refused.body);
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.equal(body.message, `failed to invoke, id: ${daprd.appId}, err: app is not in a healthy state`);
    assert.equal(app.calls, callsBefore, "an unhealthy app is not called");
    app.healthy = true;
    await waitFor(async () => (await call()).status === 200, { ms: 5000, what: "the app to be healthy again" });
  });
});
