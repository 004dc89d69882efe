// An app that misbehaves: answers that are not HTTP, answers cut off mid-body, a slow answer,
// and a request body over the sidecar's limit. Each bad call gets Dapr's error; the sidecar
// keeps serving the other calls.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { Daprd, HOOK, T, freePort, within } from "./lib/daprd.mjs";

// A raw TCP app: the request line decides what it writes back.
async function startRawApp(port) {
  const sockets = new Set();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let seen = "";
    socket.on("data", (chunk) => {
      seen += chunk.toString("latin1");
      if (!seen.includes("\r\n\r\n")) return;
      const path = seen.split(" ")[1];
      seen = "";
      if (path === "/garbage") {
        socket.end("THIS IS NOT HTTP\r\n\r\n");
      } else if (path === "/half") {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly a part");
        setTimeout(() => socket.destroy(), 20);
      } else if (path === "/slow") {
        setTimeout(() => socket.write("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nslow"), 1500);
      } else {
        socket.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok");
      }
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  server.stop = () => {
    for (const s of sockets) s.destroy();
    return within(5000, new Promise((resolve) => server.close(resolve)), "raw app close");
  };
  return server;
}

describe("an app that misbehaves", () => {
  let app, daprd;
  before(async () => {
    const port = await freePort();
    app = await startRawApp(port);
    daprd = new Daprd({ maxRequestSizeMb: 1, args: ["--app-port", String(port)] });
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  const invoke = (method, init) => fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/${method}`, init);

  for (const [what, method] of [["an answer that is not HTTP", "garbage"], ["an answer cut off mid-body", "half"]]) {
    test(`${what}: 500 ERR_DIRECT_INVOKE naming the app channel; the next call works`, T, async () => {
      const bad = await invoke(method);
      assert.equal(bad.status, 500);
      const body = await bad.json();
      assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
      assert.match(body.message, /error invoking app channel/);
      const ok = await invoke("ok");
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), "ok");
    });
  }

  test("a slow answer holds only its own call: others are answered meanwhile", T, async () => {
    const started = Date.now();
    const slow = invoke("slow");
    const quick = await invoke("ok");
    assert.equal(quick.status, 200);
    assert.ok(Date.now() - started < 1000, `the quick call waited ${Date.now() - started} ms`);
    const late = await slow;
    assert.equal(late.status, 200);
    assert.equal(await late.text(), "slow");
  });

  test("a request body over --dapr-http-max-request-size: 400 ERR_MALFORMED_REQUEST, as Dapr", T, async () => {
    const response = await invoke("ok", { method: "POST", body: Buffer.alloc((1 << 20) + 1, 1) });
    assert.equal(response.status, 400);
    const body = await response.json();
    assert.equal(body.errorCode, "ERR_MALFORMED_REQUEST");
    assert.match(body.message, /request body too large/);
    const ok = await invoke("ok");
    assert.equal(ok.status, 200);
  });
});
