// Large bodies in service invocation are relayed as they come, not held whole: uploads to the
// app, downloads from it, both at once (an app that echoes as it reads), chunked or with a
// length. The proof that nothing is held whole is daprd's peak resident memory (VmHWM),
// which stays far below the size of the bodies that went through it; and a client that does
// not read holds the app back (backpressure) instead of filling the sidecar.
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { CommunicationProtocolEnum, HttpMethod } from "@dapr/dapr";
import { Daprd, HOOK, T, freePort, makeClient, sleep, tempDir, stopApp, uid, waitFor, within } from "./lib/daprd.mjs";

const MiB = 1 << 20;
const PIECE = 64 * 1024;

// Deterministic bytes: byte i of a body is (i * 7 + 3) mod 251.
function pattern(offset, size) {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = ((offset + i) * 7 + 3) % 251;
  return out;
}
function patternHash(size) {
  const hash = crypto.createHash("sha256");
  for (let at = 0; at < size; at += MiB) hash.update(pattern(at, Math.min(MiB, size - at)));
  return hash.digest("hex");
}

// An upload body of `size` bytes, sent chunked (no length) as a web stream.
function streamedBody(size) {
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= size) return controller.close();
      const n = Math.min(MiB, size - at);
      controller.enqueue(pattern(at, n));
      at += n;
    },
  });
}

async function hashOf(response) {
  const hash = crypto.createHash("sha256");
  let length = 0;
  for await (const chunk of response.body) {
    hash.update(chunk);
    length += chunk.length;
  }
  return { length, sha256: hash.digest("hex") };
}

function peakRssMb(daprd) {
  const status = readFileSync(`/proc/${daprd.proc.pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
}

// /hash: reads the body as it comes and answers its length and sha256 (and how it was framed);
// /download?bytes=N[&length=1]: sends N pattern bytes, chunked or with Content-Length,
//   honouring backpressure, and counts what it wrote in `progress`;
// /echo: answers the body as it reads it; /json-echo: answers the whole body as JSON; /drop: reads a little, then destroys the connection.
async function startApp(port) {
  const progress = { written: 0, done: false };
  const server = http.createServer((request, response) => {
    // A caller that gives up mid-body ends the handler with an error: expected here.
    serve(request, response).catch(() => response.destroy());
  });
  async function serve(request, response) {
    const url = new URL(request.url, "http://app");
    if (url.pathname === "/hash") {
      const hash = crypto.createHash("sha256");
      let length = 0;
      for await (const chunk of request) {
        hash.update(chunk);
        length += chunk.length;
      }
      response.writeHead(200, { "content-type": "application/json" });
      return response.end(JSON.stringify({
        length,
        sha256: hash.digest("hex"),
        contentLength: request.headers["content-length"] ?? null,
        transferEncoding: request.headers["transfer-encoding"] ?? null,
      }));
    }
    if (url.pathname === "/download") {
      const size = Number(url.searchParams.get("bytes"));
      const headers = { "content-type": "application/octet-stream", "x-app": "streams" };
      if (url.searchParams.get("length")) headers["content-length"] = String(size);
      progress.written = 0;
      progress.done = false;
      response.writeHead(200, headers);
      for (let at = 0; at < size; at += PIECE) {
        const n = Math.min(PIECE, size - at);
        progress.written += n;
        if (!response.write(pattern(at, n))) {
          await new Promise((resolve) => response.once("drain", resolve));
        }
        if (response.destroyed) return;
      }
      progress.done = true;
      return response.end();
    }
    if (url.pathname === "/json-echo") {
      const chunks = [];
      for await (const chunk of request) chunks.push(chunk);
      response.writeHead(200, { "content-type": "application/json" });
      return response.end(Buffer.concat(chunks));
    }
    if (url.pathname === "/echo") {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      return request.pipe(response);
    }
    if (url.pathname === "/drop") {
      response.writeHead(200, { "content-type": "application/octet-stream" });
      response.write(pattern(0, PIECE));
      return setTimeout(() => response.socket.destroy(), 50);
    }
    response.writeHead(200, { "content-type": "text/plain" });
    response.end("ok");
  }
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  server.progress = progress;
  return server;
}

// An 8 MiB download from `at(size)` whose app sends a Content-Length: the client gets it,
// not chunked, and the body whole.
async function assertDownloadKeepsLength(at) {
  const size = 8 * MiB + 1;
  const response = await fetch(at(size));
  assert.equal(response.headers.get("content-length"), String(size));
  assert.equal(response.headers.get("transfer-encoding"), null);
  const got = await hashOf(response);
  assert.equal(got.length, size);
  assert.equal(got.sha256, patternHash(size));
}

// 48 MiB streamed to an app that answers as it reads (/echo at `target`), both ways at once.
async function assertEchoes(target) {
  const size = 48 * MiB;
  const response = await fetch(target, { method: "POST", body: streamedBody(size), duplex: "half" });
  assert.equal(response.status, 200);
  const got = await hashOf(response);
  assert.equal(got.length, size);
  assert.equal(got.sha256, patternHash(size));
}

// A 24 MiB upload with a Content-Length to /hash at `target`: the app sees it whole, with
// that Content-Length and not chunked.
async function assertUploadKeepsLength(target) {
  const size = 24 * MiB + 123;
  const response = await fetch(target, { method: "PUT", body: pattern(0, size) });
  assert.equal(response.status, 200);
  const seen = await response.json();
  assert.equal(seen.length, size);
  assert.equal(seen.contentLength, String(size));
  assert.equal(seen.transferEncoding, null);
  assert.equal(seen.sha256, patternHash(size));
}

// A client that reads nothing of a 200 MiB download through `port` holds the app back well
// before it has written 64 MiB, with every sidecar in `daprds` in bounded memory; once the
// client reads, the rest arrives.
async function assertBackpressure({ port, appId, app, daprds }) {
  const size = 200 * MiB;
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.pause();
  socket.write(`GET /v1.0/invoke/${appId}/method/download?bytes=${size}&length=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
  await waitFor(() => app.progress.written > 0, { what: "the app starts" });
  await sleep(1000);
  const stalledAt = app.progress.written;
  await sleep(500);
  assert.equal(app.progress.written, stalledAt, "the app kept writing to a client that does not read");
  assert.ok(stalledAt < 64 * MiB, `the app wrote ${stalledAt} bytes before it was held back`);
  for (const daprd of daprds) assert.ok(peakRssMb(daprd) < 40, `daprd peak RSS ${peakRssMb(daprd)} MB`);
  let received = 0;
  socket.on("data", (chunk) => { received += chunk.length; });
  socket.resume();
  await within(60_000, new Promise((resolve) => socket.once("end", resolve)), "the whole download");
  assert.ok(received > size, `received ${received} bytes (head and body), body alone is ${size}`);
  assert.ok(app.progress.done);
}

// A client that sends 1 MiB of a 10 MiB upload through `port`, then hangs up.
async function abandonUpload(port, appId) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.on("error", () => {});
  socket.write(`POST /v1.0/invoke/${appId}/method/hash HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * MiB}\r\n\r\n`);
  socket.write(pattern(0, MiB));
  await sleep(100);
  socket.destroy();
}

// A chunked upload of `mib` MiB sent through `port` on a raw socket, so that the answer is
// read whatever the sidecar does with the rest of the body; the whole answer as text.
async function chunkedUploadAnswer(port, appId, mib) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.on("error", () => {});
  let answer = "";
  socket.on("data", (chunk) => { answer += chunk.toString("latin1"); });
  const ended = new Promise((resolve) => socket.once("close", resolve));
  socket.write(`POST /v1.0/invoke/${appId}/method/hash HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n`);
  for (let i = 0; i < mib; i++) socket.write(`100000\r\n${pattern(0, MiB).toString("latin1")}\r\n`, "latin1");
  socket.write("0\r\n\r\n");
  await within(10_000, ended, "the answer and the close");
  return answer;
}

// The app and its sidecar, started before a suite's tests and stopped after them.
function useAppWithSidecar(maxRequestSizeMb) {
  const fixture = {
    url: (method) => `${fixture.daprd.httpUrl}/v1.0/invoke/${fixture.daprd.appId}/method/${method}`,
  };
  before(async () => {
    const port = await freePort();
    fixture.app = await startApp(port);
    fixture.daprd = new Daprd({ maxRequestSizeMb, args: ["--app-port", String(port)] });
    await fixture.daprd.start();
  }, HOOK);
  after(async () => {
    await fixture.daprd?.stop();
    await stopApp(fixture.app);
  }, HOOK);
  return fixture;
}

describe("streaming of large invocation bodies", () => {
  const fixture = useAppWithSidecar(256);
  const { url } = fixture;
  const BIG = { timeout: 120_000 };

  test("a 96 MiB chunked upload reaches the app whole while daprd's peak memory stays under 40 MB", BIG, async (t) => {
    const size = 96 * MiB;
    const response = await fetch(url("hash"), {
      method: "POST",
      body: streamedBody(size),
      duplex: "half",
      headers: { "content-type": "application/octet-stream" },
    });
    assert.equal(response.status, 200);
    const seen = await response.json();
    assert.equal(seen.length, size);
    assert.equal(seen.sha256, patternHash(size));
    assert.equal(seen.transferEncoding, "chunked");
    assert.ok(peakRssMb(fixture.daprd) < 40, `daprd peak RSS ${peakRssMb(fixture.daprd)} MB`);
    t.diagnostic(`daprd peak RSS after the upload: ${peakRssMb(fixture.daprd).toFixed(1)} MB`);
  });

  test("an upload with a Content-Length keeps it on the way to the app", BIG, async () => {
    await assertUploadKeepsLength(url("hash"));
  });

  test("a 96 MiB chunked download comes back whole, with the app's headers, in bounded memory", BIG, async (t) => {
    const size = 96 * MiB + 7;
    const response = await fetch(url(`download?bytes=${size}`));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-app"), "streams");
    assert.equal(response.headers.get("content-type"), "application/octet-stream");
    assert.equal(response.headers.get("transfer-encoding"), "chunked");
    const got = await hashOf(response);
    assert.equal(got.length, size);
    assert.equal(got.sha256, patternHash(size));
    assert.ok(peakRssMb(fixture.daprd) < 40, `daprd peak RSS ${peakRssMb(fixture.daprd)} MB`);
    t.diagnostic(`daprd peak RSS after the download: ${peakRssMb(fixture.daprd).toFixed(1)} MB`);
  });

  test("a download with a Content-Length keeps it", BIG, async () => {
    await assertDownloadKeepsLength((size) => url(`download?bytes=${size}&length=1`));
  });

  test("an app that answers as it reads (echo): 48 MiB both ways at once, no stall", BIG, async () => {
    await assertEchoes(url("echo"));
  });

  test("a client that does not read holds the app back; once it reads, the rest arrives", BIG, async () => {
    await assertBackpressure({ port: fixture.daprd.httpPort, appId: fixture.daprd.appId, app: fixture.app, daprds: [fixture.daprd] });
  });

  test("an app that drops the connection mid-download: the client's body breaks off; daprd serves on", T, async () => {
    const response = await fetch(url("drop"), { headers: { "x-big": "1" } });
    assert.equal(response.status, 200);
    // 64 KiB, then the app hung up: chunked framing never ends, so the read fails.
    await assert.rejects(hashOf(response));
    const ok = await fetch(url("ok"));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "ok");
  });

  test("a client that gives up mid-upload: daprd serves the next call", T, async () => {
    await abandonUpload(fixture.daprd.httpPort, fixture.daprd.appId);
    const ok = await fetch(url("ok"));
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), "ok");
  });

  test("small bodies are still answered with a Content-Length", T, async () => {
    const response = await fetch(url("download?bytes=1000&length=1"));
    assert.equal(response.headers.get("content-length"), "1000");
    assert.equal((await hashOf(response)).length, 1000);
  });
});

describe("streaming and the size limit", () => {
  const fixture = useAppWithSidecar(1);
  const { url } = fixture;

  test("a chunked upload that grows past --dapr-http-max-request-size: 400 ERR_MALFORMED_REQUEST; the next call works", T, async () => {
    const answer = await chunkedUploadAnswer(fixture.daprd.httpPort, fixture.daprd.appId, 3);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"errorCode":"ERR_MALFORMED_REQUEST"/);
    const ok = await fetch(url("ok"));
    assert.equal(ok.status, 200);
  });

  test("a download is not limited by the request size limit (it is never held whole)", T, async () => {
    const size = 5 * MiB;
    const got = await hashOf(await fetch(url(`download?bytes=${size}`)));
    assert.equal(got.length, size);
    assert.equal(got.sha256, patternHash(size));
  });
});

// Two sidecars sharing one HOME find each other in the local registry; between them the
// body goes as CallLocalStream payload frames, held back by HTTP/2 flow control.
function useTwoSidecars(maxRequestSizeMb) {
  const fixture = { calleeId: `callee-${uid(4)}` };
  fixture.url = (method) => `${fixture.caller.httpUrl}/v1.0/invoke/${fixture.calleeId}/method/${method}`;
  before(async () => {
    const home = path.join(tempDir("stream-shared"), "home");
    mkdirSync(home, { recursive: true });
    const port = await freePort();
    fixture.app = await startApp(port);
    fixture.callee = new Daprd({ appId: fixture.calleeId, home, maxRequestSizeMb, args: ["--app-port", String(port)] });
    await fixture.callee.start();
    fixture.caller = new Daprd({ appId: `caller-${uid(4)}`, home, maxRequestSizeMb });
    await fixture.caller.start();
  }, HOOK);
  after(async () => {
    await fixture.caller?.stop();
    await fixture.callee?.stop();
    await stopApp(fixture.app);
  }, HOOK);
  return fixture;
}

describe("streaming through two sidecars (CallLocalStream between them)", () => {
  const fixture = useTwoSidecars(256);
  const { url } = fixture;
  const BIG = { timeout: 120_000 };
  const peaks = () => `caller ${peakRssMb(fixture.caller).toFixed(1)} MB, callee ${peakRssMb(fixture.callee).toFixed(1)} MB`;
  const bounded = () => peakRssMb(fixture.caller) < 40 && peakRssMb(fixture.callee) < 40;

  test("a 96 MiB chunked upload reaches the other app whole; both sidecars' peak memory stays under 40 MB", BIG, async (t) => {
    const size = 96 * MiB;
    const response = await fetch(url("hash"), { method: "POST", body: streamedBody(size), duplex: "half" });
    assert.equal(response.status, 200);
    const seen = await response.json();
    assert.equal(seen.length, size);
    assert.equal(seen.sha256, patternHash(size));
    assert.ok(bounded(), peaks());
    t.diagnostic(`peak RSS after the upload: ${peaks()}`);
  });

  test("a 96 MiB download from the other app comes back whole, with its headers, in bounded memory", BIG, async (t) => {
    const size = 96 * MiB + 7;
    const response = await fetch(url(`download?bytes=${size}`));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-app"), "streams");
    const got = await hashOf(response);
    assert.equal(got.length, size);
    assert.equal(got.sha256, patternHash(size));
    assert.ok(bounded(), peaks());
    t.diagnostic(`peak RSS after the download: ${peaks()}`);
  });

  test("an app that answers as it reads (echo): 48 MiB both ways at once through both sidecars", BIG, async () => {
    await assertEchoes(url("echo"));
  });

  test("a client that does not read holds the other app back (HTTP/2 flow control between the sidecars)", BIG, async () => {
    await assertBackpressure({ port: fixture.caller.httpPort, appId: fixture.calleeId, app: fixture.app, daprds: [fixture.caller, fixture.callee] });
  });

  test("the other app drops the connection mid-download: the client's body breaks off; both sidecars serve on", T, async () => {
    const response = await fetch(url("drop"));
    assert.equal(response.status, 200);
    await assert.rejects(hashOf(response));
    const ok = await fetch(url("ok"));
    assert.equal(await ok.text(), "ok");
  });

  test("a client that gives up mid-upload: the next call through both sidecars works", T, async () => {
    await abandonUpload(fixture.caller.httpPort, fixture.calleeId);
    const ok = await fetch(url("ok"));
    assert.equal(await ok.text(), "ok");
  });

  test("an upload with a Content-Length reaches the other app with it, not chunked", BIG, async () => {
    await assertUploadKeepsLength(url("hash"));
  });

  test("a download with a Content-Length from the other app keeps it through both sidecars", BIG, async () => {
    await assertDownloadKeepsLength((size) => url(`download?bytes=${size}&length=1`));
  });

  test("a small answer still comes back with a Content-Length", T, async () => {
    const response = await fetch(url("download?bytes=1000&length=1"));
    assert.equal(response.headers.get("content-length"), "1000");
    assert.equal((await hashOf(response)).length, 1000);
  });
});

describe("the SDK through two sidecars with large bodies, and the size limit", () => {
  const fixture = useTwoSidecars(16);
  const { url } = fixture;

  for (const protocol of [CommunicationProtocolEnum.HTTP, CommunicationProtocolEnum.GRPC]) {
    const name = protocol === CommunicationProtocolEnum.GRPC ? "grpc" : "http";
    test(`SDK over ${name}: a 2 MiB body (2.7 MiB in base64) to the callee app and back`, T, async () => {
      const client = makeClient(fixture.caller, protocol, { maxBodySizeMb: 16 });
      const body = pattern(0, 2 * MiB).toString("base64");
      const seen = await client.invoker.invoke(fixture.calleeId, "hash", HttpMethod.POST, { body });
      assert.equal(seen.length, Buffer.byteLength(JSON.stringify({ body })));
      const answer = await client.invoker.invoke(fixture.calleeId, "json-echo", HttpMethod.POST, { body });
      assert.equal(answer.body, body);
      await client.stop();
    });
  }

  test("a chunked upload past the limit: 400 ERR_MALFORMED_REQUEST from the caller's sidecar; the next call works", T, async () => {
    const answer = await chunkedUploadAnswer(fixture.caller.httpPort, fixture.calleeId, 20);
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /"errorCode":"ERR_MALFORMED_REQUEST"/);
    const ok = await fetch(url("ok"));
    assert.equal(await ok.text(), "ok");
  });
});
