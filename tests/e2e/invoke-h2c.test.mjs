// An app that speaks plain HTTP over cleartext HTTP/2 (--app-protocol h2c): calls reach it as
// HTTP/2 requests and its answers come back as they are, over both APIs.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import http2 from "node:http2";
import { after, before, describe, test } from "node:test";
import { HttpMethod } from "@dapr/dapr";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, within } from "./lib/daprd.mjs";

// Echoes method, path, headers, body length and digest as JSON; /status/<n> answers n.
async function startH2cApp(port) {
  const server = http2.createServer();
  const sessions = new Set();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  // Closes the listener and every open connection.
  server.stop = () => {
    const closed = new Promise((resolve) => server.close(resolve));
    for (const session of sessions) session.destroy();
    return within(5000, closed, "h2c app close");
  };
  server.on("stream", (stream, headers) => {
    const chunks = [];
    stream.on("data", (c) => chunks.push(c));
    stream.on("end", () => {
      const body = Buffer.concat(chunks);
      const status = /^\/status\/(\d+)/.exec(headers[":path"]);
      stream.respond({ ":status": status ? Number(status[1]) : 200, "content-type": "application/json", "x-h2": "yes" });
      stream.end(JSON.stringify({
        method: headers[":method"], path: headers[":path"], headers,
        length: body.length, sha256: createHash("sha256").update(body).digest("hex"),
        text: body.length < 1000 ? body.toString() : null,
      }));
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

describe("an h2c app (--app-protocol h2c)", () => {
  let app, daprd, appPort;

  before(async () => {
    appPort = await freePort();
    app = await startH2cApp(appPort);
    daprd = new Daprd({ args: ["--app-port", String(appPort), "--app-protocol", "h2c"] });
    await daprd.start();
  }, HOOK);

  after(async () => {
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  test("plain HTTP: verb, path, query, headers and body reach the app; its answer comes back", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/orders/7?x=1`, {
      method: "PUT", headers: { "content-type": "text/plain", "X-Custom": "c1" }, body: "hello h2",
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-h2"), "yes");
    const seen = await response.json();
    assert.equal(seen.method, "PUT");
    assert.equal(seen.path, "/orders/7?x=1");
    assert.equal(seen.text, "hello h2");
    assert.equal(seen.headers["content-type"], "text/plain");
    assert.equal(seen.headers["x-custom"], "c1");
    assert.equal(seen.headers["dapr-callee-app-id"], daprd.appId);
  });

  test("the app's status is relayed", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/status/404`);
    assert.equal(response.status, 404);
    assert.equal((await response.json()).path, "/status/404");
  });

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: invoker.invoke reaches the h2c app`, T, async () => {
      const seen = await makeClient(daprd, p.name).invoker.invoke(daprd.appId, "sdk", HttpMethod.POST, { n: 3 });
      assert.equal(seen.method, "POST");
      assert.equal(seen.path, "/sdk");
      assert.deepEqual(JSON.parse(seen.text), { n: 3 });
    });
  }

  test("1 MiB bodies and 20 calls at once, each answered whole on one connection", T, async () => {
    const body = Buffer.alloc(1 << 20, 7);
    const digest = createHash("sha256").update(body).digest("hex");
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/big?i=${i}`, { method: "POST", body })));
    for (const [i, r] of results.entries()) {
      assert.equal(r.status, 200);
      const seen = await r.json();
      assert.equal(seen.length, 1 << 20, `call ${i}`);
      assert.equal(seen.sha256, digest, `call ${i}`);
    }
  });

  test("the app gone: 500 ERR_DIRECT_INVOKE naming the h2c target; back: calls work", T, async () => {
    await app.stop();
    app = null;
    const down = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/x`);
    assert.equal(down.status, 500);
    const body = await down.json();
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(body.message, /error invoking app channel: GET h2c:\/\/127\.0\.0\.1:\d+\/x/);
    app = await startH2cApp(appPort);
    const up = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/again`);
    assert.equal(up.status, 200);
  });
});
