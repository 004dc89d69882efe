// The gRPC transport from a real client's side, below the SDK: @grpc/grpc-js's generic client
// with hand-picked bytes, raw HTTP/2 streams (node:http2), and raw TCP. Status codes, deadlines,
// metadata, framing, compression flags, cancellation, size limits, concurrency and draining.
import assert from "node:assert/strict";
import { once } from "node:events";
import http2 from "node:http2";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import grpc from "@grpc/grpc-js";
import {
  GetMetadataResponseSchema,
  GetStateRequestSchema,
  GetStateResponseSchema,
  SaveStateRequestSchema,
} from "@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js";
import { Daprd, T, sleep, uid, useDaprd, waitFor, within } from "./lib/daprd.mjs";
import { GrpcCode, expectStatus, req } from "./lib/http.mjs";

const STORE = "statestore";
const SERVICE = "/dapr.proto.runtime.v1.Dapr";
const Code = { ...GrpcCode, Ok: 0, Cancelled: 1, DeadlineExceeded: 4 };
const codeName = Object.fromEntries(Object.entries(Code).map(([k, v]) => [v, k]));

// --- protobuf messages (the SDK's generated schemas) ---

function saveStateBytes(items, store = STORE) {
  const states = items.map(({ key, value }) => ({ key, value: Buffer.from(value) }));
  return Buffer.from(toBinary(SaveStateRequestSchema, create(SaveStateRequestSchema, { storeName: store, states })));
}
function getStateBytes(key, store = STORE) {
  return Buffer.from(toBinary(GetStateRequestSchema, create(GetStateRequestSchema, { storeName: store, key })));
}
/** The 5-byte gRPC message frame: [compressed flag][big-endian length][message]. */
function frame(message, flag = 0) {
  const head = Buffer.alloc(5);
  head[0] = flag;
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

// --- @grpc/grpc-js generic client with Buffer passthrough ---

const pass = (b) => b;

function grpcClient(daprd) {
  // A local subchannel pool gives every client its own HTTP/2 connection.
  return new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
}

/**
 * One unary call; never rejects. Resolves {code, details, response, ms}.
 * opts: metadata ({name: value}), deadline (Date or ms since epoch), onCall(call).
 */
function unary(client, method, request, { metadata = {}, deadline, onCall } = {}) {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  const started = Date.now();
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      method.startsWith("/") ? method : `${SERVICE}/${method}`,
      pass,
      pass,
      request,
      md,
      deadline === undefined ? {} : { deadline },
      (err, response) => {
        const ms = Date.now() - started;
        if (err) resolve({ code: err.code, details: err.details, ms });
        else resolve({ code: Code.Ok, response, ms });
      },
    );
    onCall?.(call);
  });
}

function expectCode(result, code, what) {
  assert.equal(
    result.code,
    code,
    `${what}: expected gRPC ${codeName[code] ?? code} (${code}), got ${codeName[result.code] ?? "?"} (${result.code}): ${JSON.stringify(result.details)}`,
  );
  return result;
}

async function saveAndRead(client, key, value, what = "save/get") {
  expectCode(await unary(client, "SaveState", saveStateBytes([{ key, value }])), Code.Ok, `${what}: SaveState ${key}`);
  const got = expectCode(await unary(client, "GetState", getStateBytes(key)), Code.Ok, `${what}: GetState ${key}`);
  const data = Buffer.from(fromBinary(GetStateResponseSchema, got.response).data);
  assert.equal(data.toString(), value, `${what}: value read back for ${key}`);
}

// --- raw HTTP/2 ---

async function h2Connect(daprd) {
  const session = http2.connect(`http://127.0.0.1:${daprd.grpcPort}`);
  session.on("error", () => {});
  await within(5000, once(session, "connect"), "HTTP/2 connect");
  return session;
}

function grpcHeaders(path, extra = {}) {
  return { ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...extra };
}

/**
 * One stream: resolves {headers, trailers, data, rstCode, error} once the stream closes.
 * body undefined: the HEADERS frame ends the stream.
 */
function h2Stream(session, headers, body, ms = 5000) {
  const stream = session.request(headers, { endStream: body === undefined });
  const done = new Promise((resolve, reject) => {
    const out = { headers: undefined, trailers: undefined, data: Buffer.alloc(0), rstCode: undefined, error: undefined };
    const chunks = [];
    const timer = setTimeout(() => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      reject(new Error(`no answer to ${headers[":method"]} ${headers[":path"]} within ${ms} ms; headers so far ${JSON.stringify(out.headers)}`));
    }, ms);
    stream.on("response", (h) => (out.headers = h));
    stream.on("trailers", (t) => (out.trailers = t));
    stream.on("data", (c) => chunks.push(c));
    stream.on("error", (e) => (out.error = e));
    stream.on("close", () => {
      clearTimeout(timer);
      out.data = Buffer.concat(chunks);
      out.rstCode = stream.rstCode;
      resolve(out);
    });
  });
  if (body !== undefined) stream.end(body);
  return { stream, done };
}

/** grpc-status and grpc-message of a raw answer, from trailers or (trailers-only) headers. */
function grpcStatusOf(res) {
  const src = res.trailers?.["grpc-status"] !== undefined ? res.trailers : res.headers ?? {};
  return {
    code: src["grpc-status"] === undefined ? undefined : Number(src["grpc-status"]),
    message: src["grpc-message"] === undefined ? undefined : decodeURIComponent(src["grpc-message"]),
  };
}

function describeRaw(res) {
  return `headers ${JSON.stringify(res.headers)} trailers ${JSON.stringify(res.trailers)} data ${res.data.length} bytes rst ${res.rstCode} error ${res.error?.message}`;
}

// --- a TCP proxy in front of Redis that can hold what daprd sends, to keep a call in flight ---

class HoldingProxy {
  constructor(targetAddr) {
    const [host, port] = targetAddr.split(":");
    this.target = { host, port: Number(port) };
    this.held = false;
    this.queue = [];
    this.heldBytes = 0;
    this.sockets = new Set();
  }
  async start() {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("error", () => {});
        s.on("close", () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on("data", (d) => {
        if (this.held) {
          this.heldBytes += d.length;
          this.queue.push([upstream, d]);
        } else {
          upstream.write(d);
        }
      });
      upstream.on("data", (d) => client.write(d));
    });
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    this.port = this.server.address().port;
    return this;
  }
  hold() {
    this.held = true;
    this.heldBytes = 0;
  }
  release() {
    this.held = false;
    for (const [sock, d] of this.queue.splice(0)) sock.write(d);
  }
  async stop() {
    this.release();
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(() => r()) ?? r());
  }
}

function requireRedis() {
  const addr = process.env.DAPR_TEST_REDIS_ADDR;
  assert.ok(addr, "DAPR_TEST_REDIS_ADDR is not set (scripts/services.sh start redis)");
  return addr;
}

// =====================================================================================

describe("gRPC transport: status codes, framing, deadlines, concurrency", { timeout: 60_000 }, () => {
  // No resources path: the embedded SQLite "statestore".
  const daprd = useDaprd({ resources: false });
  let client;
  before(() => {
    client = grpcClient(daprd);
  });
  after(() => client?.close());

  test("an unknown method: UNIMPLEMENTED (12)", T, async () => {
    const r = await unary(client, `${SERVICE}/NoSuchMethod`, Buffer.alloc(0));
    expectCode(r, Code.Unimplemented, "NoSuchMethod");
    assert.match(r.details ?? "", /NoSuchMethod/, "the message names the method");
    await saveAndRead(client, `after-unknown-${uid()}`, "v", "after an unknown method");
  });

  test("a SaveState body that is not protobuf (ff ff ff): INTERNAL (13), then the sidecar still serves", T, async () => {
    const r = await unary(client, "SaveState", Buffer.from([0xff, 0xff, 0xff]));
    expectCode(r, Code.Internal, "SaveState with bytes ff ff ff");
    await saveAndRead(client, `after-garbage-${uid()}`, "still-ok", "after a bad body");
  });

  test("deadlines: one in the past and one of 1 ms give DEADLINE_EXCEEDED (4); the connection still works", T, async () => {
    const past = await unary(client, "GetState", getStateBytes("k"), { deadline: Date.now() - 1000 });
    expectCode(past, Code.DeadlineExceeded, "GetState with a deadline in the past");
    const big = "d".repeat(1 << 20);
    const short = await unary(client, "SaveState", saveStateBytes([{ key: `deadline-${uid()}`, value: big }]), {
      deadline: Date.now() + 1,
    });
    expectCode(short, Code.DeadlineExceeded, "1 MB SaveState with a 1 ms deadline");
    await saveAndRead(client, `after-deadline-${uid()}`, "alive", "after deadlines");
  });

  test("a grpc-timeout header the server must parse: the answer is OK (0) or DEADLINE_EXCEEDED (4), well formed", T, async () => {
    const session = await h2Connect(daprd);
    try {
      for (const timeout of ["1n", "1m", "99999999H"]) {
        const key = `gt-${uid()}`;
        const { done } = h2Stream(
          session,
          grpcHeaders(`${SERVICE}/SaveState`, { "grpc-timeout": timeout }),
          frame(saveStateBytes([{ key, value: "x" }])),
        );
        const res = await done;
        const st = grpcStatusOf(res);
        assert.ok(st.code === 0 || st.code === 4, `grpc-timeout ${timeout}: ${describeRaw(res)}`);
        if (timeout === "99999999H") assert.equal(st.code, 0, `a deadline of years is no deadline: ${describeRaw(res)}`);
      }
    } finally {
      session.close();
    }
  });

  test("500 concurrent SaveState+GetState on distinct keys all succeed and read back", { timeout: 45_000 }, async () => {
    const prefix = `burst-${uid()}`;
    const n = 500;
    const results = await within(
      40_000,
      Promise.all(
        Array.from({ length: n }, async (_, i) => {
          const key = `${prefix}-${i}`;
          const value = `value-${i}-${"v".repeat(i % 50)}`;
          const s = await unary(client, "SaveState", saveStateBytes([{ key, value }]));
          if (s.code !== 0) return `SaveState ${key}: code ${s.code} ${s.details}`;
          const g = await unary(client, "GetState", getStateBytes(key));
          if (g.code !== 0) return `GetState ${key}: code ${g.code} ${g.details}`;
          const data = Buffer.from(fromBinary(GetStateResponseSchema, g.response).data).toString();
          return data === value ? null : `GetState ${key}: got ${JSON.stringify(data)}, want ${JSON.stringify(value)}`;
        }),
      ),
      "500 concurrent calls",
    );
    const failures = results.filter(Boolean);
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${n} failed`);
  });

  describe("raw HTTP/2", () => {
    let session;
    before(async () => {
      session = await h2Connect(daprd);
    });
    after(() => session?.close());

    test("POST with content-type text/plain: HTTP 415, whatever the body", T, async () => {
      const wrong = [];
      for (const text of ["", "hi", "hello world"]) {
        const res = await h2Stream(
          session,
          { ":method": "POST", ":path": `${SERVICE}/GetMetadata`, "content-type": "text/plain" },
          Buffer.from(text),
        ).done;
        if (res.headers?.[":status"] !== 415) wrong.push(`body ${JSON.stringify(text)}: ${describeRaw(res)}`);
      }
      assert.deepEqual(wrong, [], "every text/plain POST must get :status 415");
    });

    test("GET (content-type application/grpc): HTTP 405", T, async () => {
      const res = await h2Stream(session, { ":method": "GET", ":path": `${SERVICE}/GetMetadata`, "content-type": "application/grpc" }).done;
      assert.equal(res.headers?.[":status"], 405, `GET: ${describeRaw(res)}`);
    });

    test("an unknown method is answered trailers-only: grpc-status 12 and grpc-message in the one HEADERS frame", T, async () => {
      const res = await h2Stream(session, grpcHeaders(`${SERVICE}/NoSuchMethod`), frame(Buffer.alloc(0))).done;
      assert.equal(res.headers?.[":status"], 200, describeRaw(res));
      assert.match(String(res.headers?.["content-type"]), /^application\/grpc/, describeRaw(res));
      assert.equal(res.headers?.["grpc-status"], "12", `grpc-status in the headers: ${describeRaw(res)}`);
      assert.ok(res.headers?.["grpc-message"], `grpc-message in the headers: ${describeRaw(res)}`);
      assert.match(decodeURIComponent(res.headers["grpc-message"]), /NoSuchMethod/, describeRaw(res));
      assert.equal(res.trailers, undefined, `trailers-only: no second HEADERS frame: ${describeRaw(res)}`);
      assert.equal(res.data.length, 0, `trailers-only: no DATA: ${describeRaw(res)}`);
    });

    test("a successful call: headers, one framed GetMetadataResponse, trailer grpc-status 0", T, async () => {
      const res = await h2Stream(session, grpcHeaders(`${SERVICE}/GetMetadata`), frame(Buffer.alloc(0))).done;
      assert.equal(res.headers?.[":status"], 200, describeRaw(res));
      assert.equal(res.headers?.["grpc-status"], undefined, `no status in the leading headers: ${describeRaw(res)}`);
      assert.equal(res.trailers?.["grpc-status"], "0", describeRaw(res));
      assert.ok(res.data.length >= 5 && res.data[0] === 0 && res.data.readUInt32BE(1) === res.data.length - 5, `one framed message: ${describeRaw(res)}`);
      assert.equal(fromBinary(GetMetadataResponseSchema, res.data.subarray(5)).id, daprd.appId);
    });
  });

  test("compressed flag: with grpc-encoding gzip UNIMPLEMENTED (12); without grpc-encoding INTERNAL (13)", T, async () => {
    const session = await h2Connect(daprd);
    try {
      const body = frame(saveStateBytes([{ key: `z-${uid()}`, value: "x" }]), 1);
      const gz = await h2Stream(session, grpcHeaders(`${SERVICE}/SaveState`, { "grpc-encoding": "gzip" }), body).done;
      assert.equal(grpcStatusOf(gz).code, Code.Unimplemented, `flag 1 + grpc-encoding gzip: ${describeRaw(gz)}`);
      const none = await h2Stream(session, grpcHeaders(`${SERVICE}/SaveState`), body).done;
      assert.equal(grpcStatusOf(none).code, Code.Internal, `flag 1, no grpc-encoding: ${describeRaw(none)}`);
      const ok = await h2Stream(session, grpcHeaders(`${SERVICE}/GetMetadata`), frame(Buffer.alloc(0))).done;
      assert.equal(grpcStatusOf(ok).code, 0, `then a plain call: ${describeRaw(ok)}`);
    } finally {
      session.close();
    }
  });

  test("an HTTP/1.1 request on the gRPC port: closed within 2 s; gRPC still served", T, async () => {
    const sock = net.connect(daprd.grpcPort, "127.0.0.1");
    sock.on("error", () => {});
    await within(5000, once(sock, "connect"), "TCP connect");
    let received = Buffer.alloc(0);
    sock.on("data", (d) => (received = Buffer.concat([received, d])));
    const closed = once(sock, "close");
    sock.write(
      `POST ${SERVICE}/GetMetadata HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/grpc\r\n` +
        "Content-Length: 5\r\n\r\n\0\0\0\0\0",
    );
    try {
      await within(2000, closed, "daprd closing the HTTP/1.1 connection");
    } finally {
      sock.destroy();
    }
    assert.doesNotMatch(received.toString("latin1"), /^HTTP\/1\.[01] 2/, "no HTTP/1.1 success answer");
    await saveAndRead(client, `after-h1-${uid()}`, "h2-only", "after HTTP/1.1 bytes");
  });

  test("calls cancelled in flight (1 MB SaveState) leave the sidecar serving", T, async () => {
    const big = "c".repeat(1 << 20);
    // Cancelled right after the start: always CANCELLED on the client's side.
    for (let i = 0; i < 5; i++) {
      const r = await unary(client, "SaveState", saveStateBytes([{ key: `cancel-${uid()}`, value: big }]), {
        onCall: (call) => call.cancel(),
      });
      expectCode(r, Code.Cancelled, `cancel #${i}`);
    }
    // Cancelled a little later, so some reach daprd mid-body or mid-handler: OK or CANCELLED.
    const late = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        unary(client, "SaveState", saveStateBytes([{ key: `cancel-late-${uid()}`, value: big }]), {
          onCall: (call) => setTimeout(() => call.cancel(), i * 3),
        }),
      ),
    );
    for (const r of late) assert.ok(r.code === Code.Ok || r.code === Code.Cancelled, `late cancel: ${r.code} ${r.details}`);
    await saveAndRead(client, `after-cancel-${uid()}`, "fine", "after cancellations");
    assert.equal(daprd.exit, null, "daprd is still running");
  });
});

describe("gRPC transport: API token in metadata", { timeout: 30_000 }, () => {
  const TOKEN = `tok-${uid(8)}`;
  const daprd = useDaprd({ resources: false, apiToken: TOKEN });
  let client;
  before(() => {
    client = grpcClient(daprd);
  });
  after(() => client?.close());

  test("GetMetadata without a token or with a wrong one: UNAUTHENTICATED (16); with it: OK and a GetMetadataResponse", T, async () => {
    expectCode(await unary(client, "GetMetadata", Buffer.alloc(0)), Code.Unauthenticated, "GetMetadata without a token");
    expectCode(
      await unary(client, "GetMetadata", Buffer.alloc(0), { metadata: { "dapr-api-token": `${TOKEN}x` } }),
      Code.Unauthenticated,
      "GetMetadata with a wrong token",
    );
    const ok = expectCode(
      await unary(client, "GetMetadata", Buffer.alloc(0), { metadata: { "dapr-api-token": TOKEN } }),
      Code.Ok,
      "GetMetadata with the token",
    );
    assert.ok(ok.response.length > 0, "a non-empty response");
    const md = fromBinary(GetMetadataResponseSchema, ok.response);
    assert.equal(md.id, daprd.appId);
    assert.ok(md.registeredComponents.some((c) => c.name === STORE), `components: ${JSON.stringify(md.registeredComponents.map((c) => c.name))}`);
  });
});

describe("gRPC transport: request size limit", { timeout: 30_000 }, () => {
  const daprd = useDaprd({ resources: false, maxRequestSizeMb: 1 });
  let client;
  before(() => {
    client = grpcClient(daprd);
  });
  after(() => client?.close());

  test("a 2 MB SaveState over a 1 MB limit: RESOURCE_EXHAUSTED (8) 'larger than max'; the next call on the client succeeds", T, async () => {
    const r = await unary(client, "SaveState", saveStateBytes([{ key: `big-${uid()}`, value: "b".repeat(2 << 20) }]));
    expectCode(r, Code.ResourceExhausted, "2 MB SaveState");
    assert.match(r.details ?? "", /larger than max/, `grpc-message: ${JSON.stringify(r.details)}`);
    await saveAndRead(client, `small-${uid()}`, "small", "after the refused call");
  });
});

describe("gRPC transport: a store that answers late (Redis behind a holding proxy)", { timeout: 60_000 }, () => {
  let proxy;
  let daprd;
  let client;
  before(async () => {
    proxy = await new HoldingProxy(requireRedis()).start();
    daprd = new Daprd({
      components: [{ name: STORE, type: "state.redis", metadata: { redisHost: `127.0.0.1:${proxy.port}`, readTimeout: "10s" } }],
    });
    await daprd.start();
    client = grpcClient(daprd);
    await saveAndRead(client, `warm-${uid()}`, "warm", "warm-up");
  }, { timeout: 30_000 });
  after(async () => {
    client?.close();
    await daprd?.stop();
    await proxy?.stop();
  }, { timeout: 30_000 });

  test("grpc-timeout 300m while the store is stuck: the server answers DEADLINE_EXCEEDED (4) on time", T, async () => {
    const session = await h2Connect(daprd);
    try {
      proxy.hold();
      const started = Date.now();
      const res = await h2Stream(
        session,
        grpcHeaders(`${SERVICE}/SaveState`, { "grpc-timeout": "300m" }),
        frame(saveStateBytes([{ key: `stuck-${uid()}`, value: "x" }])),
        5000,
      ).done;
      const ms = Date.now() - started;
      proxy.release();
      assert.equal(grpcStatusOf(res).code, Code.DeadlineExceeded, describeRaw(res));
      assert.ok(ms >= 250 && ms < 3000, `answered after ${ms} ms, want about 300`);
      const ok = await h2Stream(session, grpcHeaders(`${SERVICE}/GetMetadata`), frame(Buffer.alloc(0))).done;
      assert.equal(grpcStatusOf(ok).code, 0, `same connection afterwards: ${describeRaw(ok)}`);
    } finally {
      proxy.release();
      session.close();
    }
    await saveAndRead(client, `after-stuck-${uid()}`, "unstuck", "after the deadline");
  });

  test("graceful shutdown: a SaveState in flight when /v1.0/shutdown arrives still completes OK", T, async () => {
    const key = `drain-${uid()}`;
    proxy.hold();
    const pending = unary(client, "SaveState", saveStateBytes([{ key, value: "drained" }]));
    try {
      // Once daprd has written the command to Redis, the call is inside the handler.
      await waitFor(() => proxy.heldBytes > 0, { ms: 5000, what: "daprd sending the SaveState to Redis" });
      expectStatus(await req(daprd, "POST", "/v1.0/shutdown"), 204);
      await sleep(300);
      assert.equal(daprd.exit, null, "daprd must wait for the call in flight");
    } finally {
      proxy.release();
    }
    expectCode(await within(10_000, pending, "SaveState in flight"), Code.Ok, "SaveState in flight during shutdown");
    const exit = await daprd.waitExit(10_000);
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
  });
});

describe("gRPC transport: shutdown while a request body is still arriving", { timeout: 30_000 }, () => {
  const daprd = useDaprd({ resources: false });

  test("a stream whose headers arrived before /v1.0/shutdown is finished, not dropped", T, async () => {
    const session = await h2Connect(daprd);
    const goaways = [];
    session.on("goaway", (errorCode, lastStreamID) => goaways.push({ errorCode, lastStreamID }));
    try {
      const ok = await h2Stream(session, grpcHeaders(`${SERVICE}/GetMetadata`), frame(Buffer.alloc(0))).done;
      assert.equal(grpcStatusOf(ok).code, 0, describeRaw(ok));
      const key = `half-${uid()}`;
      const body = frame(saveStateBytes([{ key, value: "h".repeat(64 << 10) }]));
      const stream = session.request(grpcHeaders(`${SERVICE}/SaveState`), { endStream: false });
      const res = {};
      const chunks = [];
      stream.on("response", (h) => (res.headers = h));
      stream.on("trailers", (t) => (res.trailers = t));
      stream.on("data", (c) => chunks.push(c));
      stream.on("error", (e) => (res.error = e));
      const closed = once(stream, "close");
      stream.write(body.subarray(0, body.length >> 1));
      // A PING round trip: daprd has read the HEADERS and the first half before it answers.
      await within(5000, new Promise((resolve, reject) => session.ping((err) => (err ? reject(err) : resolve()))), "PING");
      expectStatus(await req(daprd, "POST", "/v1.0/shutdown"), 204);
      await sleep(200);
      stream.end(body.subarray(body.length >> 1));
      await within(10_000, closed, "the half-sent SaveState");
      res.data = Buffer.concat(chunks);
      res.rstCode = stream.rstCode;
      assert.equal(
        grpcStatusOf(res).code,
        0,
        `stream ${stream.id} must complete: ${describeRaw(res)}; GOAWAYs received ${JSON.stringify(goaways)}`,
      );
    } finally {
      session.destroy();
    }
    const exit = await daprd.waitExit(10_000);
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}`);
  });
});
