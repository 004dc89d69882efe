// HTTP/1.1 behaviour below the SDK: what raw clients (curl, other languages' HTTP stacks)
// rely on — 100-continue, pipelining, keep-alive, 204 framing, the invocation fallback.
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { Daprd, T } from "./lib/daprd.mjs";

// Opens a raw connection; read() resolves with everything received until `until` matches.
function rawConnection(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => {
      let data = "";
      let waiter = null;
      socket.on("data", (chunk) => {
        data += chunk.toString("latin1");
        if (waiter && waiter.until.test(data)) {
          clearTimeout(waiter.timer);
          const w = waiter;
          waiter = null;
          w.resolve(data);
        }
      });
      resolve({
        socket,
        write: (text) => socket.write(text),
        read: (until, ms = 2000) =>
          new Promise((res, rej) => {
            if (until.test(data)) return res(data);
            const timer = setTimeout(() => rej(new Error(`no ${until} within ${ms} ms; got: ${JSON.stringify(data)}`)), ms);
            waiter = { until, resolve: res, timer };
          }),
        received: () => data,
      });
    });
    socket.on("error", reject);
  });
}

describe("HTTP/1.1 framing", { timeout: 60_000 }, () => {
  const d = new Daprd({ components: [{ name: "statestore", type: "state.in-memory" }] });
  before(() => d.start(), T);
  after(() => d.stop());

  test("Expect: 100-continue gets its go-ahead at once, then the answer", T, async () => {
    const c = await rawConnection(d.httpPort);
    const body = JSON.stringify([{ key: "cont", value: "x".repeat(4096) }]);
    c.write(
      "POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
        `Content-Length: ${Buffer.byteLength(body)}\r\nExpect: 100-continue\r\n\r\n`,
    );
    await c.read(/^HTTP\/1\.1 100 Continue\r\n\r\n/, 500);
    c.write(body);
    const all = await c.read(/HTTP\/1\.1 204 No Content\r\n(.*\r\n)*\r\n/);
    assert.match(all, /100 Continue\r\n\r\nHTTP\/1\.1 204/);
    c.socket.destroy();
  });

  test("an over-limit body with Expect: 100-continue gets its error without a go-ahead", T, async () => {
    const c = await rawConnection(d.httpPort);
    c.write("POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\nExpect: 100-continue\r\n\r\n");
    const all = await c.read(/\r\n\r\n\{.*\}/s);
    assert.doesNotMatch(all, /100 Continue/);
    assert.match(all, /^HTTP\/1\.1 400 /);
    assert.match(all, /ERR_MALFORMED_REQUEST/);
    c.socket.destroy();
  });

  test("pipelined requests on one connection are answered in order", T, async () => {
    const c = await rawConnection(d.httpPort);
    const save = JSON.stringify([{ key: "pipe", value: { n: 1 } }]);
    c.write(
      `POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\nContent-Length: ${save.length}\r\n\r\n${save}` +
        "GET /v1.0/state/statestore/pipe HTTP/1.1\r\nHost: x\r\n\r\n" +
        "GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    const all = await c.read(/(HTTP\/1\.1 [0-9]{3}[^]*){3}$/);
    const statuses = [...all.matchAll(/HTTP\/1\.1 ([0-9]{3})/g)].map((m) => m[1]);
    assert.deepEqual(statuses, ["204", "200", "204"], all);
    assert.match(all, /\{"n":1\}/);
    c.socket.destroy();
  });

  test("a 204 carries no Content-Length; a 200 carries an exact one", T, async () => {
    const c = await rawConnection(d.httpPort);
    c.write("GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    const first = await c.read(/\r\n\r\n/);
    assert.match(first, /^HTTP\/1\.1 204 No Content\r\n/);
    assert.doesNotMatch(first, /content-length/i);
    c.write("GET /v1.0/metadata HTTP/1.1\r\nHost: x\r\n\r\n");
    const all = await c.read(/HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\n\{.*\}$/s);
    const second = all.slice(first.length);
    const length = Number(/content-length: (\d+)/i.exec(second)[1]);
    assert.equal(length, Buffer.byteLength(second.split("\r\n\r\n")[1], "latin1"));
    c.socket.destroy();
  });

  test("an unknown path falls through to invocation: 404 ERR_DIRECT_INVOKE", T, async () => {
    const res = await fetch(`${d.httpUrl}/orders/17`, { method: "POST", body: "{}" });
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
  });
});
