// gRPC proxying: a gRPC call of the app's own service, made to a sidecar's gRPC port with
// metadata dapr-app-id, reaches that app through the sidecars (alpha -> beta's sidecar ->
// beta's app, a grpc-js server) and its answer comes back unchanged: message, status,
// headers and trailers. Both sidecars share a HOME, so they find each other in the registry.
import assert from "node:assert/strict";
import path from "node:path";
import { mkdirSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import grpc from "@grpc/grpc-js";
import { Daprd, HOOK, T, freePort, tempDir, uid, within } from "./lib/daprd.mjs";

const pass = (b) => b;
const method = (name, requestStream = false, responseStream = false) => ({
  path: `/e2e.Echo/${name}`, requestStream, responseStream,
  requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass,
});

// The app: Say answers the request reversed, with a header and a trailer; Fail answers
// NOT_FOUND; Slow answers after 2 s. Every call's metadata is kept in `seen`.
async function startApp() {
  const seen = [];
  const server = new grpc.Server();
  const record = (call) => seen.push(call.metadata.getMap());
  const streams = { cancelled: 0 };
  server.addService({
    Say: method("Say"), Fail: method("Fail"), Slow: method("Slow"),
    Count: method("Count", false, true), Sum: method("Sum", true, false), Echo: method("Echo", true, true),
    Forever: method("Forever", false, true),
  }, {
    // Server streaming: N messages "0".."N-1", N given as the request text.
    Count: (call) => {
      record(call);
      const n = Number(call.request.toString());
      for (let i = 0; i < n; i++) call.write(Buffer.from(String(i)));
      call.end();
    },
    // Client streaming: the total length of what was sent, and how many messages.
    Sum: (call, callback) => {
      record(call);
      let bytes = 0;
      let messages = 0;
      call.on("data", (d) => { bytes += d.length; messages += 1; });
      call.on("end", () => callback(null, Buffer.from(`${messages}:${bytes}`)));
    },
    // Bidirectional: each message back upper-cased, as it comes.
    Echo: (call) => {
      call.on("data", (d) => call.write(Buffer.from(d.toString().toUpperCase())));
      call.on("end", () => call.end());
    },
    // A stream that never ends by itself; counts the cancels it sees.
    Forever: (call) => {
      const timer = setInterval(() => call.write(Buffer.from("tick")), 20);
      call.on("cancelled", () => { clearInterval(timer); streams.cancelled += 1; });
    },
    Say: (call, callback) => {
      record(call);
      const header = new grpc.Metadata();
      header.set("x-app", "beta");
      call.sendMetadata(header);
      const trailer = new grpc.Metadata();
      trailer.set("x-trailer", "t1");
      callback(null, Buffer.from([...call.request].reverse()), trailer);
    },
    Fail: (call, callback) => {
      record(call);
      const trailer = new grpc.Metadata();
      trailer.set("x-why", "because");
      callback({ code: grpc.status.NOT_FOUND, details: "no such thing", metadata: trailer });
    },
    Slow: (call, callback) => {
      record(call);
      setTimeout(() => callback(null, Buffer.from("late")), 2000);
    },
  });
  const port = await freePort();
  await new Promise((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return { server, port, seen, streams };
}

function proxyClient(daprd) {
  return new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure());
}

function withApp(appId) {
  const md = new grpc.Metadata();
  md.set("dapr-app-id", appId);
  return md;
}

// Collects a server stream's messages; resolves {messages, code}.
function collect(call) {
  return within(15_000, new Promise((resolve) => {
    const messages = [];
    call.on("data", (d) => messages.push(d.toString()));
    call.on("error", () => {});
    call.on("status", (s) => resolve({ messages, code: s.code, details: s.details }));
  }), "stream");
}

// One unary call; resolves {code, details, response, headers, trailers} and never rejects.
function call(daprd, name, request, metadata = {}, deadlineMs = 10_000) {
  const client = new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return within(15_000, new Promise((resolve) => {
    let headers = {};
    let response;
    // The answer is complete with its status, which carries the trailers.
    const c = client.makeUnaryRequest(`/e2e.Echo/${name}`, pass, pass, Buffer.from(request), md,
      { deadline: Date.now() + deadlineMs }, (err, message) => { response = message; });
    c.on("metadata", (m) => { headers = m.getMap(); });
    c.on("status", (s) => {
      client.close();
      resolve({ code: s.code, details: s.details, response, headers, trailers: s.metadata?.getMap() ?? {} });
    });
  }), `call ${name}`);
}

// The test app behind sidecar "beta", and sidecar "alpha" without an app, sharing a HOME
// (so a registry): started in a before hook, stopped in an after hook.
function twoSidecars(prefix) {
  const home = path.join(tempDir(prefix), "home");
  mkdirSync(home, { recursive: true });
  const pair = { betaId: `${prefix}-beta-${uid(4)}` };
  before(async () => {
    pair.app = await startApp();
    pair.beta = new Daprd({ appId: pair.betaId, home, args: ["--app-port", String(pair.app.port), "--app-protocol", "grpc"] });
    await pair.beta.start();
    pair.alpha = new Daprd({ appId: `${prefix}-alpha-${uid(4)}`, home });
    await pair.alpha.start();
  }, HOOK);
  after(async () => {
    await pair.alpha?.stop();
    await pair.beta?.stop();
    pair.app?.server.forceShutdown();
  }, HOOK);
  return pair;
}

describe("gRPC proxying with dapr-app-id", () => {
  const pair = twoSidecars("proxy");
  const { betaId } = pair;
  let app, alpha, beta;
  before(() => ({ app, alpha, beta } = pair));

  test("through two sidecars: the message, the app's header and trailer come back; the app sees who called", T, async () => {
    app.seen.length = 0;
    const r = await call(alpha, "Say", "abc", { "dapr-app-id": betaId, "x-meta": "hello", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" });
    assert.equal(r.code, 0, r.details);
    assert.equal(r.response.toString(), "cba");
    assert.equal(r.headers["x-app"], "beta");
    assert.equal(r.trailers["x-trailer"], "t1");
    const md = app.seen.at(-1);
    assert.equal(md["x-meta"], "hello");
    assert.equal(md["dapr-app-id"], betaId);
    assert.equal(md["dapr-caller-app-id"], alpha.appId);
    assert.equal(md["dapr-callee-app-id"], betaId);
    assert.match(md.traceparent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.notEqual(md.traceparent, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  });

  test("the app's error status, message and trailers are relayed", T, async () => {
    const r = await call(alpha, "Fail", "x", { "dapr-app-id": betaId });
    assert.equal(r.code, grpc.status.NOT_FOUND);
    assert.equal(r.details, "no such thing");
    assert.equal(r.trailers["x-why"], "because");
  });

  test("to the own app: dapr-app-id naming the sidecar's own app goes straight to it", T, async () => {
    const r = await call(beta, "Say", "123", { "dapr-app-id": betaId });
    assert.equal(r.code, 0, r.details);
    assert.equal(r.response.toString(), "321");
  });

  test("the caller's deadline travels: a slow app ends DEADLINE_EXCEEDED in time", T, async () => {
    const started = Date.now();
    const r = await call(alpha, "Slow", "x", { "dapr-app-id": betaId }, 300);
    assert.equal(r.code, grpc.status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
  });

  test("without dapr-app-id: UNIMPLEMENTED naming the service", T, async () => {
    const r = await call(alpha, "Say", "x");
    assert.equal(r.code, grpc.status.UNIMPLEMENTED);
    assert.match(r.details, /unknown service e2e\.Echo/);
  });

  test("an app id nobody registered: UNAVAILABLE couldn't find service; the sidecar carries on", T, async () => {
    const r = await call(alpha, "Say", "x", { "dapr-app-id": `nobody-${uid(4)}` });
    assert.equal(r.code, grpc.status.UNAVAILABLE);
    assert.match(r.details, /couldn't find service: nobody-/);
    assert.equal((await call(alpha, "Say", "ok", { "dapr-app-id": betaId })).code, 0);
  });
});

describe("gRPC proxying of streams, through two sidecars", () => {
  const pair = twoSidecars("streams");
  const { betaId } = pair;
  let app, alpha;
  before(() => ({ app, alpha } = pair));

  test("server streaming: every message arrives, in order", T, async () => {
    const client = proxyClient(alpha);
    const call = client.makeServerStreamRequest("/e2e.Echo/Count", pass, pass, Buffer.from("50"), withApp(betaId));
    const { messages, code } = await collect(call);
    client.close();
    assert.equal(code, 0);
    assert.deepEqual(messages, Array.from({ length: 50 }, (_, i) => String(i)));
  });

  test("client streaming: 100 messages of 64 KiB reach the app whole", T, async () => {
    const client = proxyClient(alpha);
    const answer = await within(15_000, new Promise((resolve, reject) => {
      const call = client.makeClientStreamRequest("/e2e.Echo/Sum", pass, pass, withApp(betaId),
        (err, response) => (err ? reject(err) : resolve(response.toString())));
      for (let i = 0; i < 100; i++) call.write(Buffer.alloc(64 << 10, i));
      call.end();
    }), "client stream");
    client.close();
    assert.equal(answer, `100:${100 * (64 << 10)}`);
  });

  test("client streaming: 64 MiB through both sidecars, held back by flow control, in bounded memory", { timeout: 60_000 }, async () => {
    const client = proxyClient(alpha);
    const count = 1024;
    const answer = await within(45_000, new Promise((resolve, reject) => {
      const call = client.makeClientStreamRequest("/e2e.Echo/Sum", pass, pass, withApp(betaId),
        (err, response) => (err ? reject(err) : resolve(response.toString())));
      let i = 0;
      const pump = () => {
        while (i < count) {
          if (!call.write(Buffer.alloc(64 << 10, i++))) return call.once("drain", pump);
        }
        call.end();
      };
      pump();
    }), "client stream");
    client.close();
    assert.equal(answer, `${count}:${count * (64 << 10)}`);
    for (const daprd of [alpha, pair.beta]) {
      const status = readFileSync(`/proc/${daprd.proc.pid}/status`, "utf8");
      const peakMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)[1]) / 1024;
      assert.ok(peakMb < 40, `${daprd.appId}: peak RSS ${peakMb} MB`);
    }
  });

  test("bidirectional: each message answered as it goes, then the end", T, async () => {
    const client = proxyClient(alpha);
    const call = client.makeBidiStreamRequest("/e2e.Echo/Echo", pass, pass, withApp(betaId));
    const answers = [];
    const done = new Promise((resolve) => call.on("status", resolve));
    for (const word of ["one", "two", "three"]) {
      const next = new Promise((resolve) => call.once("data", (d) => resolve(d.toString())));
      call.write(Buffer.from(word));
      answers.push(await within(5000, next, `echo of ${word}`));
    }
    call.end();
    const status = await within(5000, done, "end of the echo stream");
    client.close();
    assert.deepEqual(answers, ["ONE", "TWO", "THREE"]);
    assert.equal(status.code, 0);
  });

  test("300 unary calls and 30 server streams at once: every answer whole and in order", T, async () => {
    const client = proxyClient(alpha);
    const unary = Array.from({ length: 300 }, (_, i) => within(20_000, new Promise((resolve, reject) =>
      client.makeUnaryRequest("/e2e.Echo/Say", pass, pass, Buffer.from(`m${i}`), withApp(betaId),
        (err, response) => (err ? reject(err) : resolve(response.toString())))), `unary ${i}`));
    const streams = Array.from({ length: 30 }, () =>
      collect(client.makeServerStreamRequest("/e2e.Echo/Count", pass, pass, Buffer.from("20"), withApp(betaId))));
    const answers = await Promise.all(unary);
    const streamed = await Promise.all(streams);
    client.close();
    answers.forEach((answer, i) => assert.equal(answer, [...`m${i}`].reverse().join("")));
    for (const { messages, code } of streamed) {
      assert.equal(code, 0);
      assert.deepEqual(messages, Array.from({ length: 20 }, (_, i) => String(i)));
    }
  });

  test("a caller that cancels: the app's stream is cancelled too", T, async () => {
    const before = app.streams.cancelled;
    const client = proxyClient(alpha);
    const call = client.makeServerStreamRequest("/e2e.Echo/Forever", pass, pass, Buffer.alloc(0), withApp(betaId));
    call.on("error", () => {});
    await within(5000, new Promise((resolve) => call.once("data", resolve)), "first tick");
    call.cancel();
    client.close();
    const deadline = Date.now() + 5000;
    while (app.streams.cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(app.streams.cancelled, before + 1, "the app saw the cancel");
  });
});

describe("gRPC proxying and the API token", () => {
  let app, daprd;
  before(async () => {
    app = await startApp();
    daprd = new Daprd({ apiToken: "s3cret", args: ["--app-port", String(app.port), "--app-protocol", "grpc"] });
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    app?.server.forceShutdown();
  }, HOOK);

  test("without the token: UNAUTHENTICATED; with it: through, and the token is not passed to the app", T, async () => {
    const refused = await call(daprd, "Say", "x", { "dapr-app-id": daprd.appId });
    assert.equal(refused.code, grpc.status.UNAUTHENTICATED);
    app.seen.length = 0;
    const ok = await call(daprd, "Say", "xy", { "dapr-app-id": daprd.appId, "dapr-api-token": "s3cret" });
    assert.equal(ok.code, 0, ok.details);
    assert.equal(app.seen.at(-1)["dapr-api-token"], undefined);
  });
});

describe("gRPC proxying: bad input and a dead app", () => {
  let daprd;
  before(async () => {
    // The app's port has nobody on it: the sidecar stays not ready, but serves calls.
    daprd = new Daprd({ ready: "outbound", args: ["--app-port", String(await freePort()), "--app-protocol", "grpc"] });
    await daprd.start();
  }, HOOK);
  after(async () => daprd?.stop(), HOOK);

  test("a malformed dapr-app-id (\"a.b.c\"): INVALID_ARGUMENT", T, async () => {
    const r = await call(daprd, "Say", "x", { "dapr-app-id": "a.b.c" });
    assert.equal(r.code, grpc.status.INVALID_ARGUMENT);
  });

  test("the app not listening: UNAVAILABLE for that call; the sidecar keeps serving", T, async () => {
    const r = await call(daprd, "Say", "x", { "dapr-app-id": daprd.appId });
    assert.equal(r.code, grpc.status.UNAVAILABLE, r.details);
    assert.equal((await fetch(`${daprd.httpUrl}/v1.0/healthz/outbound`)).status, 204);
    const stream = collect(proxyClient(daprd).makeServerStreamRequest("/e2e.Echo/Count", pass, pass,
      Buffer.from("3"), withApp(daprd.appId)));
    assert.equal((await stream).code, grpc.status.UNAVAILABLE);
  });
});
