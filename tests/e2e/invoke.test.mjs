// Service invocation of the sidecar's own HTTP app (--app-id X --app-port P): the SDK's
// client.invoker.invoke over HTTP and gRPC, plain fetch to /v1.0/invoke/X/method/... and the
// dapr-app-id header form, a raw InvokeService call for what the SDK hides, and the channel's
// behaviour when the app fails, restarts, closes connections or is limited by
// --app-max-concurrency. The app is a node http server in this file that echoes what it got.
//
// What the SDK (3.18.0) does here, and the tests rely on:
// - HTTP: invoke(appId, method, verb, data, {headers}) fetches /v1.0/invoke/<appId>/method/<method>
//   with the method text pasted into the URL (so "m?a=1" carries a query string); an object body
//   is sent as JSON. The answer is JSON-parsed when it can be, else returned as text; a status
//   >= 400 throws Error(JSON.stringify({error, error_msg: <body>, status})).
// - gRPC: InvokeService with {id, message: {method, data: Any(bytes), contentType,
//   httpExtension: {verb}}} and no querystring, no headers; data defaults to {} (sent as "{}").
//   The answer's data is JSON-parsed (a non-JSON answer throws COULD_NOT_PARSE_RESULT); an app
//   status outside 2xx arrives as a ConnectError with daprd's gRPC code.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import grpc from "@grpc/grpc-js";
import { HttpMethod } from "@dapr/dapr";
import {
  HTTPExtension_Verb,
  HTTPExtensionSchema,
  InvokeRequestSchema,
  InvokeResponseSchema,
} from "@dapr/dapr/proto/dapr/proto/common/v1/common_pb.js";
import { InvokeServiceRequestSchema } from "@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, sleep, uid, within } from "./lib/daprd.mjs";
import { GrpcCode, expectDaprError, expectGrpcError, expectStatus, req, sdkHttpError } from "./lib/http.mjs";

const Unknown = 2; // gRPC UNKNOWN (not in GrpcCode)
const sha256 = (buf) => createHash("sha256").update(buf).digest("hex");

// --- the test app ---

/**
 * An HTTP app on 127.0.0.1:port. Every request is recorded in `seen` as
 * {method, url, headers, body (utf8), length, sha256}. Routes:
 *   /status/<n>   answers status n with a JSON body and an x-app-status header
 *   /raw          answers 200 with the request body as is (same content-type), x-body-sha256
 *   /slow?ms=N    holds the request N ms (default 300) and counts concurrent requests
 *   /close        echoes, with Connection: close
 *   /chunked      answers 200 in three chunks (Transfer-Encoding: chunked)
 *   /cookies      echoes, with two Set-Cookie headers
 *   anything else echoes the request as JSON, with an x-app-custom response header
 */
class TestApp {
  constructor(port) {
    this.port = port;
    this.seen = [];
    this.active = 0;
    this.maxActive = 0;
    this.server = null;
  }

  async start() {
    const server = http.createServer((rq, rs) => this.handle(rq, rs));
    await new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.server = server;
    return this;
  }

  async stop() {
    const server = this.server;
    if (!server) return;
    this.server = null;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await within(5000, closed, "app server close");
  }

  resetCounters() {
    this.active = 0;
    this.maxActive = 0;
  }

  /** The recorded request whose URL contains `marker` (the last one). */
  find(marker) {
    for (let i = this.seen.length - 1; i >= 0; i--) if (this.seen[i].url.includes(marker)) return this.seen[i];
    return undefined;
  }

  handle(rq, rs) {
    const chunks = [];
    rq.on("data", (c) => chunks.push(c));
    rq.on("end", async () => {
      const body = Buffer.concat(chunks);
      const echo = {
        method: rq.method,
        url: rq.url,
        headers: rq.headers,
        body: body.toString("utf8"),
        length: body.length,
        sha256: sha256(body),
      };
      this.seen.push(echo);
      if (this.seen.length > 500) this.seen.splice(0, 100);
      const { pathname, searchParams } = new URL(rq.url, "http://app");
      try {
        if (pathname.startsWith("/status/")) {
          const code = Number(pathname.slice("/status/".length));
          const text = code === 204 || code === 304 ? "" : JSON.stringify({ appStatus: code, error: `the app answered ${code}` });
          rs.writeHead(code, { "content-type": "application/json", "x-app-status": String(code) });
          return rs.end(text);
        }
        if (pathname === "/raw") {
          rs.writeHead(200, {
            "content-type": rq.headers["content-type"] ?? "application/octet-stream",
            "x-body-sha256": echo.sha256,
          });
          return rs.end(body);
        }
        if (pathname === "/chunked") {
          rs.writeHead(200, { "content-type": "text/plain", "x-app-custom": "chunked" });
          for (const part of ["first,", "second,"]) {
            rs.write(part);
            await sleep(20);
          }
          return rs.end("third");
        }
        if (pathname === "/slow") {
          this.active++;
          this.maxActive = Math.max(this.maxActive, this.active);
          await sleep(Number(searchParams.get("ms") ?? 300));
          this.active--;
        }
        const headers = { "content-type": "application/json", "x-app-custom": "from-the-app" };
        // A HEAD answer may announce the length its GET would have (as Go's net/http and express do).
        if (rq.method === "HEAD" && pathname.endsWith("-len")) headers["content-length"] = "42";
        if (pathname === "/close") headers.connection = "close";
        if (pathname === "/cookies") headers["set-cookie"] = ["a=1; Path=/", "b=2; Path=/"];
        rs.writeHead(200, headers);
        rs.end(rq.method === "HEAD" ? undefined : JSON.stringify(echo));
      } catch (err) {
        rs.destroy(err);
      }
    });
  }
}

async function startApp(port) {
  return new TestApp(port ?? (await freePort())).start();
}

/** A daprd whose app channel points at app.port; extra: {args, env, apiToken}. */
function appDaprd(app, { args = [], ...rest } = {}) {
  return new Daprd({ ...rest, args: ["--app-port", String(app.port), ...args] });
}

/** Plain fetch that returns the raw bytes too: {status, headers, bytes}. */
async function fetchBytes(daprd, method, urlPath, { body, headers = {}, timeoutMs = 15_000 } = {}) {
  const res = await fetch(`${daprd.httpUrl}${urlPath}`, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, bytes };
}

/** The SDK's invoke under a time limit. */
function invoke(client, appId, method, verb, data, options) {
  return within(15_000, client.invoker.invoke(appId, method, verb, data, options), `invoker.invoke(${appId}, ${method}, ${verb})`);
}

/** Awaits an SDK HTTP invoke that must throw; returns {status, body}. */
async function sdkHttpFailure(promise, what) {
  try {
    const result = await promise;
    assert.fail(`${what}: expected an error, got ${JSON.stringify(result)}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    return sdkHttpError(err);
  }
}

// --- raw gRPC InvokeService (response metadata, querystring) ---

const pass = (b) => b;

function invokeServiceBytes(id, { method, verb = HTTPExtension_Verb.POST, querystring = "", data = Buffer.alloc(0), contentType = "" }) {
  const message = create(InvokeRequestSchema, {
    method,
    data: create(AnySchema, { value: data }),
    contentType,
    httpExtension: create(HTTPExtensionSchema, { verb, querystring }),
  });
  return Buffer.from(toBinary(InvokeServiceRequestSchema, create(InvokeServiceRequestSchema, { id, message })));
}

/** One InvokeService call; resolves {code, details, response, headers (metadata object)}. */
function rawInvokeService(daprd, request) {
  const client = new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure(), {
    "grpc.use_local_subchannel_pool": 1,
  });
  return within(
    15_000,
    new Promise((resolve) => {
      let headers = {};
      const call = client.makeUnaryRequest(
        "/dapr.proto.runtime.v1.Dapr/InvokeService",
        pass,
        pass,
        request,
        new grpc.Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, response) => {
          client.close();
          // A gRPC server may send an error's header metadata in its Trailers-Only answer.
          if (err) resolve({ code: err.code, details: err.details, headers: { ...(err.metadata?.getMap() ?? {}), ...headers } });
          else resolve({ code: 0, response: fromBinary(InvokeResponseSchema, response), headers });
        },
      );
      call.on("metadata", (md) => {
        headers = md.getMap();
      });
    }),
    "raw InvokeService",
  );
}

// ---------------------------------------------------------------------------------------------

describe("invoking the own app", { timeout: 300_000 }, () => {
  let app;
  let daprd;
  before(async () => {
    app = await startApp();
    daprd = appDaprd(app);
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  for (const p of PROTOCOLS) {
    describe(`through the SDK over ${p.name}`, () => {
      let client;
      before(() => {
        client = makeClient(daprd, p.protocol);
      });
      after(async () => client?.stop());

      test("POST with a JSON body reaches /<method> with verb, body and content-type; the app's JSON comes back", T, async () => {
        const data = { order: 7, note: `héllo ${uid()}`, items: [1, 2, 3] };
        const got = await invoke(client, daprd.appId, "echo", HttpMethod.POST, data);
        assert.equal(got?.method, "POST", JSON.stringify(got));
        assert.equal(got.url, "/echo", JSON.stringify(got));
        assert.match(got.headers["content-type"] ?? "", /^application\/json/, JSON.stringify(got.headers));
        assert.deepEqual(JSON.parse(got.body), data);
        assert.equal(got.length, Buffer.byteLength(JSON.stringify(data)));
      });

      test("GET, DELETE, PUT and PATCH keep their verb", T, async () => {
        for (const verb of [HttpMethod.GET, HttpMethod.DELETE, HttpMethod.PUT, HttpMethod.PATCH]) {
          const withBody = verb === HttpMethod.PUT || verb === HttpMethod.PATCH;
          const got = await invoke(client, daprd.appId, `things/${verb}`, verb, withBody ? { v: verb } : undefined);
          assert.equal(got?.method, verb.toUpperCase(), `${verb}: ${JSON.stringify(got)}`);
          assert.equal(got.url, `/things/${verb}`, `${verb}: ${JSON.stringify(got)}`);
          if (withBody) assert.deepEqual(JSON.parse(got.body), { v: verb }, `${verb}: ${JSON.stringify(got)}`);
        }
      });

      test("a method with slashes reaches the app as that path", T, async () => {
        const got = await invoke(client, daprd.appId, "orders/7/items", HttpMethod.GET);
        assert.equal(got?.url, "/orders/7/items", JSON.stringify(got));
      });

      // HTTP: the method text is part of the URL. gRPC: the SDK puts it in `method`, which Dapr
      // appends to the app's URL as is, so the query reaches the app either way.
      test("a query string in the method reaches the app verbatim", T, async () => {
        const got = await invoke(client, daprd.appId, "search?q=1&x=a%20b", HttpMethod.GET);
        assert.equal(got?.url, "/search?q=1&x=a%20b", JSON.stringify(got));
      });

      test("dapr-caller-app-id and dapr-callee-app-id are set; dapr-app-id and dapr-api-token are not", T, async () => {
        const got = await invoke(client, daprd.appId, `who-${uid()}`, HttpMethod.POST, { x: 1 });
        assert.equal(got?.headers?.["dapr-caller-app-id"], daprd.appId, JSON.stringify(got?.headers));
        assert.equal(got.headers["dapr-callee-app-id"], daprd.appId, JSON.stringify(got.headers));
        assert.equal(got.headers["dapr-app-id"], undefined, JSON.stringify(got.headers));
        assert.equal(got.headers["dapr-api-token"], undefined, JSON.stringify(got.headers));
      });

      if (p.name === "http") {
        test("a custom request header reaches the app", T, async () => {
          const value = `v-${uid()}`;
          const got = await invoke(client, daprd.appId, "hdr", HttpMethod.POST, { a: 1 }, { headers: { "x-custom-req": value } });
          assert.equal(got?.headers?.["x-custom-req"], value, JSON.stringify(got?.headers));
        });

        test("an app 404 / 503 makes the SDK throw with the app's status and body", T, async () => {
          for (const code of [404, 503, 400, 500]) {
            const { status, body } = await sdkHttpFailure(
              invoke(client, daprd.appId, `status/${code}`, HttpMethod.GET),
              `app ${code}`,
            );
            assert.equal(status, code, `app ${code}: body ${JSON.stringify(body)}`);
            assert.deepEqual(body, { appStatus: code, error: `the app answered ${code}` }, `app ${code}`);
          }
        });

        test("an app 201 / 204 is a success", T, async () => {
          const created = await invoke(client, daprd.appId, "status/201", HttpMethod.POST, { a: 1 });
          assert.deepEqual(created, { appStatus: 201, error: "the app answered 201" });
          const empty = await invoke(client, daprd.appId, "status/204", HttpMethod.DELETE);
          assert.equal(empty, "");
        });

        test("an unknown app id: 500 ERR_DIRECT_INVOKE with Dapr's message", T, async () => {
          const { status, body } = await sdkHttpFailure(invoke(client, "other", "x", HttpMethod.GET), "unknown app id");
          assert.equal(status, 500, JSON.stringify(body));
          assert.deepEqual(
            { errorCode: body?.errorCode, message: body?.message },
            { errorCode: "ERR_DIRECT_INVOKE", message: "failed to invoke, id: other, err: couldn't find service: other" },
          );
        });
      } else {
        test("an app status outside 2xx is a gRPC error: 404→NOT_FOUND, 503→UNAVAILABLE, 500→UNKNOWN, 400→INTERNAL, 401→UNAUTHENTICATED", T, async () => {
          const table = [
            [404, GrpcCode.NotFound],
            [503, GrpcCode.Unavailable],
            [500, Unknown],
            [400, GrpcCode.Internal],
            [401, GrpcCode.Unauthenticated],
            [429, GrpcCode.ResourceExhausted],
            [418, Unknown],
          ];
          for (const [status, code] of table) {
            await expectGrpcError(invoke(client, daprd.appId, `status/${status}`, HttpMethod.GET), code, { what: `app ${status}` });
          }
        });

        test("an app 201 is a success", T, async () => {
          const created = await invoke(client, daprd.appId, "status/201", HttpMethod.POST, { a: 1 });
          assert.deepEqual(created, { appStatus: 201, error: "the app answered 201" });
        });

        test("an unknown app id is an INTERNAL error naming the service", T, async () => {
          await expectGrpcError(invoke(client, "other", "x", HttpMethod.GET), GrpcCode.Internal, {
            messageIncludes: "couldn't find service: other",
            what: "unknown app id",
          });
        });

        test("\"a.b.c\" is an INVALID_ARGUMENT error", T, async () => {
          await expectGrpcError(invoke(client, "a.b.c", "x", HttpMethod.GET), GrpcCode.InvalidArgument, {
            messageIncludes: "invalid app id",
            what: "a.b.c",
          });
        });
      }

      test("a 1 MiB JSON body round-trips byte for byte", T, async () => {
        const data = { blob: randomBytes(768 * 1024).toString("base64"), tail: `ünïcødé ✓ ${uid()}` };
        const sent = Buffer.from(JSON.stringify(data));
        assert.ok(sent.length >= 1024 * 1024, `payload is ${sent.length} bytes`);
        const tag = uid();
        const got = await invoke(client, daprd.appId, `raw?tag=${tag}`, HttpMethod.POST, data);
        const seen = app.find(tag);
        assert.ok(seen, "the app did not get the call");
        assert.equal(seen.length, sent.length, "bytes the app received");
        assert.equal(seen.sha256, sha256(sent), "sha256 of what the app received");
        assert.deepEqual(got, data, "the app's answer as the SDK returned it");
      });
    });
  }

  describe("plain HTTP", () => {
    test("POST /v1.0/invoke/<id>/method/echo: verb, path, body, content-type, custom header; the answer's status, headers and body unchanged", T, async () => {
      const value = `v-${uid()}`;
      const res = await req(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/echo`, {
        json: { hello: "world" },
        headers: { "x-custom-req": value },
      });
      expectStatus(res, 200);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/, res.describe());
      assert.equal(res.headers.get("x-app-custom"), "from-the-app", res.describe());
      const got = res.json;
      assert.equal(got?.method, "POST", res.describe());
      assert.equal(got.url, "/echo", res.describe());
      assert.equal(got.body, JSON.stringify({ hello: "world" }), res.describe());
      assert.equal(got.headers["content-type"], "application/json", res.describe());
      assert.equal(got.headers["x-custom-req"], value, res.describe());
      assert.equal(got.headers["dapr-caller-app-id"], daprd.appId, res.describe());
      assert.equal(got.headers["dapr-callee-app-id"], daprd.appId, res.describe());
      assert.equal(got.headers["dapr-app-id"], undefined, res.describe());
      assert.equal(got.headers["content-length"], String(JSON.stringify({ hello: "world" }).length), res.describe());
    });

    test("a non-JSON content-type and body pass through as they are", T, async () => {
      const res = await req(daprd, "PUT", `/v1.0/invoke/${daprd.appId}/method/echo`, {
        body: "plain text, not JSON",
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
      expectStatus(res, 200);
      assert.equal(res.json?.method, "PUT", res.describe());
      assert.equal(res.json.body, "plain text, not JSON", res.describe());
      assert.equal(res.json.headers["content-type"], "text/plain; charset=utf-8", res.describe());
    });

    test("the query string passes through verbatim: ?a=1&b=%20x", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/q?a=1&b=%20x`);
      expectStatus(res, 200);
      assert.equal(res.json?.url, "/q?a=1&b=%20x", res.describe());
    });

    test("a method with slashes and a query: /orders/7/items?sort=desc", T, async () => {
      const res = await req(daprd, "DELETE", `/v1.0/invoke/${daprd.appId}/method/orders/7/items?sort=desc`);
      expectStatus(res, 200);
      assert.equal(res.json?.method, "DELETE", res.describe());
      assert.equal(res.json.url, "/orders/7/items?sort=desc", res.describe());
    });

    test("the dapr-app-id header form: POST /orders reaches the app as POST /orders", T, async () => {
      const res = await req(daprd, "POST", "/orders?src=header", {
        json: { n: 1 },
        headers: { "dapr-app-id": daprd.appId },
      });
      expectStatus(res, 200);
      assert.equal(res.json?.method, "POST", res.describe());
      assert.equal(res.json.url, "/orders?src=header", res.describe());
      assert.equal(res.json.body, JSON.stringify({ n: 1 }), res.describe());
      assert.equal(res.json.headers["dapr-app-id"], undefined, res.describe());
      assert.equal(res.json.headers["dapr-caller-app-id"], daprd.appId, res.describe());
      assert.equal(res.headers.get("x-app-custom"), "from-the-app", res.describe());
    });

    test("the dapr-app-id header form with GET on a nested path", T, async () => {
      const res = await req(daprd, "GET", "/api/v2/orders/9", { headers: { "dapr-app-id": daprd.appId } });
      expectStatus(res, 200);
      assert.equal(res.json?.method, "GET", res.describe());
      assert.equal(res.json.url, "/api/v2/orders/9", res.describe());
    });

    test("an app 503 comes back as 503 with the app's body and headers", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/status/503`);
      expectStatus(res, 503);
      assert.equal(res.text, JSON.stringify({ appStatus: 503, error: "the app answered 503" }), res.describe());
      assert.equal(res.headers.get("x-app-status"), "503", res.describe());
      assert.equal(res.headers.get("content-type"), "application/json", res.describe());
    });

    test("app 404, 400, 500, 201 and 204 are relayed as they are", T, async () => {
      for (const code of [404, 400, 500, 201]) {
        const res = await req(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/status/${code}`, { json: {} });
        expectStatus(res, code);
        assert.deepEqual(res.json, { appStatus: code, error: `the app answered ${code}` }, res.describe());
        assert.equal(res.headers.get("x-app-status"), String(code), res.describe());
      }
      const res = await req(daprd, "DELETE", `/v1.0/invoke/${daprd.appId}/method/status/204`);
      expectStatus(res, 204);
      assert.equal(res.text, "", res.describe());
    });

    test("a chunked answer comes back whole, with its headers", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/chunked`);
      expectStatus(res, 200);
      assert.equal(res.text, "first,second,third", res.describe());
      assert.equal(res.headers.get("content-type"), "text/plain", res.describe());
      assert.equal(res.headers.get("x-app-custom"), "chunked", res.describe());
    });

    test("a repeated response header (two Set-Cookie) comes back with both values", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/cookies`);
      expectStatus(res, 200);
      assert.deepEqual(res.headers.getSetCookie(), ["a=1; Path=/", "b=2; Path=/"], res.describe());
    });

    test("a 1 MiB binary body round-trips byte for byte", T, async () => {
      const body = randomBytes(1024 * 1024);
      const res = await fetchBytes(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/raw`, {
        body,
        headers: { "content-type": "application/octet-stream" },
      });
      assert.equal(res.status, 200, res.bytes.subarray(0, 300).toString());
      assert.equal(res.headers.get("x-body-sha256"), sha256(body), "what the app received");
      assert.equal(res.headers.get("content-type"), "application/octet-stream");
      assert.equal(res.bytes.length, body.length, "length of the answer");
      assert.ok(res.bytes.equals(body), "the answer differs from what was sent");
    });

    test("an unknown app id: 500 ERR_DIRECT_INVOKE \"couldn't find service\"", T, async () => {
      const res = await req(daprd, "POST", "/v1.0/invoke/other/method/x", { json: {} });
      const body = expectDaprError(res, 500, "ERR_DIRECT_INVOKE");
      assert.equal(body.message, "failed to invoke, id: other, err: couldn't find service: other", res.describe());
    });

    test("an unknown app id in the dapr-app-id header: 500 ERR_DIRECT_INVOKE", T, async () => {
      const res = await req(daprd, "GET", "/orders", { headers: { "dapr-app-id": "other" } });
      const body = expectDaprError(res, 500, "ERR_DIRECT_INVOKE");
      assert.equal(body.message, "failed to invoke, id: other, err: couldn't find service: other", res.describe());
    });

    test("\"a.b.c\": 400 ERR_DIRECT_INVOKE invalid app id", T, async () => {
      const res = await req(daprd, "GET", "/v1.0/invoke/a.b.c/method/x");
      expectDaprError(res, 400, "ERR_DIRECT_INVOKE", { messageIncludes: "invalid app id" });
    });

    test("an unknown path without dapr-app-id: 404 ERR_DIRECT_INVOKE, and the app sees nothing", T, async () => {
      const marker = `nowhere-${uid()}`;
      const res = await req(daprd, "GET", `/${marker}/x`);
      expectDaprError(res, 404, "ERR_DIRECT_INVOKE");
      assert.equal(app.find(marker), undefined);
    });
  });

  describe("raw gRPC InvokeService", () => {
    test("querystring, dapr-http-status and the app's headers as response metadata", T, async () => {
      const data = Buffer.from(JSON.stringify({ raw: true }));
      const r = await rawInvokeService(
        daprd,
        invokeServiceBytes(daprd.appId, { method: "grpc/echo", querystring: "a=1&b=%20x", data, contentType: "application/json" }),
      );
      assert.equal(r.code, 0, `code ${r.code}: ${r.details}`);
      const echo = JSON.parse(Buffer.from(r.response.data.value).toString());
      assert.equal(echo.method, "POST");
      assert.equal(echo.url, "/grpc/echo?a=1&b=%20x");
      assert.equal(echo.body, JSON.stringify({ raw: true }));
      assert.equal(echo.headers["content-type"], "application/json");
      assert.equal(echo.headers["dapr-caller-app-id"], daprd.appId);
      assert.match(r.response.contentType, /^application\/json/);
      assert.equal(r.headers["dapr-http-status"], "200", JSON.stringify(r.headers));
      assert.equal(r.headers["x-app-custom"], "from-the-app", JSON.stringify(r.headers));
    });

    test("verb NONE goes to the app as POST; an app 404 is NOT_FOUND with dapr-http-status 404", T, async () => {
      const none = await rawInvokeService(daprd, invokeServiceBytes(daprd.appId, { method: "none-verb", verb: HTTPExtension_Verb.NONE }));
      assert.equal(none.code, 0, `code ${none.code}: ${none.details}`);
      assert.equal(JSON.parse(Buffer.from(none.response.data.value).toString()).method, "POST");
      const nf = await rawInvokeService(daprd, invokeServiceBytes(daprd.appId, { method: "status/404", verb: HTTPExtension_Verb.GET }));
      assert.equal(nf.code, GrpcCode.NotFound, nf.details);
      assert.equal(nf.headers["dapr-http-status"], "404", JSON.stringify(nf.headers));
    });
  });

  describe("connections to the app", () => {
    test("without --app-max-concurrency 6 slow calls reach the app at the same time", T, async () => {
      app.resetCounters();
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/slow?ms=400&i=${i}`)),
      );
      for (const r of results) expectStatus(r, 200);
      assert.ok(app.maxActive >= 3, `the app saw at most ${app.maxActive} at once`);
    });

    test("the app answering Connection: close does not fail the next call", T, async () => {
      for (let i = 0; i < 5; i++) {
        const closing = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/close?i=${i}`);
        expectStatus(closing, 200, `close ${i}`);
        const next = await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/after-close?i=${i}`);
        expectStatus(next, 200, `call after close ${i}`);
        assert.equal(next.json?.url, `/after-close?i=${i}`, next.describe());
      }
    });

    test("the app closing idle keep-alive connections does not fail the next call (HTTP and SDK gRPC)", T, async () => {
      const grpcClient = makeClient(daprd, "grpc");
      try {
        for (let i = 0; i < 5; i++) {
          expectStatus(await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/warm?i=${i}`), 200);
          app.server.closeIdleConnections();
          if (i % 2 === 1) await sleep(100); // once with the FIN already there, once racing it
          const res = await req(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/after-idle?i=${i}`, { json: { i } });
          expectStatus(res, 200, `call ${i} after the app closed idle connections`);
          assert.equal(res.json?.body, JSON.stringify({ i }), res.describe());
          app.server.closeIdleConnections();
          if (i % 2 === 0) await sleep(100);
          const got = await invoke(grpcClient, daprd.appId, `after-idle-grpc?i=${i}`, HttpMethod.POST, { i });
          assert.equal(got?.url, `/after-idle-grpc?i=${i}`, JSON.stringify(got));
        }
      } finally {
        await grpcClient.stop();
      }
    });
  });
});

// A HEAD answer has no body whatever its headers say; the channel must not wait for one.
describe("HEAD through the channel", { timeout: 60_000 }, () => {
  let app;
  let daprd;
  before(async () => {
    app = await startApp();
    daprd = appDaprd(app);
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  for (const [what, method] of [
    ["without Content-Length", "head-check"],
    ["with Content-Length: 42", "head-check-len"],
  ]) {
    test(`HEAD is forwarded and the app's bodiless answer (${what}) comes back at once`, T, async () => {
      const started = Date.now();
      let res;
      try {
        res = await fetchBytes(daprd, "HEAD", `/v1.0/invoke/${daprd.appId}/method/${method}`, { timeoutMs: 3000 });
      } catch (err) {
        assert.fail(`HEAD /v1.0/invoke/${daprd.appId}/method/${method}: no answer after ${Date.now() - started} ms (${err.name}); the app answered 200 at once`);
      }
      assert.equal(app.find(`/${method}`)?.method, "HEAD");
      assert.equal(res.status, 200);
      assert.equal(res.bytes.length, 0);
      // The channel is still usable afterwards.
      expectStatus(await req(daprd, "GET", `/v1.0/invoke/${daprd.appId}/method/after-${method}`), 200);
    });
  }
});

describe("the app stops and comes back on the same port", { timeout: 120_000 }, () => {
  let app;
  let daprd;
  let client;
  before(async () => {
    app = await startApp();
    daprd = appDaprd(app);
    await daprd.start();
    client = makeClient(daprd, "grpc");
  }, HOOK);
  after(async () => {
    await client?.stop();
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  test("app down: 500 ERR_DIRECT_INVOKE \"error invoking app channel\"; back up: calls succeed without restarting daprd", { timeout: 60_000 }, async () => {
    const url = `/v1.0/invoke/${daprd.appId}/method/ping`;
    expectStatus(await req(daprd, "GET", url), 200, "before the app stops");
    assert.equal((await invoke(client, daprd.appId, "ping", HttpMethod.GET))?.url, "/ping");

    await app.stop();
    for (let i = 0; i < 3; i++) {
      const res = await req(daprd, "GET", url);
      const body = expectDaprError(res, 500, "ERR_DIRECT_INVOKE", { messageIncludes: "error invoking app channel" });
      assert.ok(body.message.startsWith(`failed to invoke, id: ${daprd.appId}, err: `), res.describe());
    }
    await expectGrpcError(invoke(client, daprd.appId, "ping", HttpMethod.GET), GrpcCode.Internal, {
      messageIncludes: "error invoking app channel",
      what: "gRPC invoke with the app down",
    });
    assert.equal(daprd.exit, null, "daprd must keep running");

    await app.start();
    const back = await req(daprd, "POST", url, { json: { back: true } });
    expectStatus(back, 200, "after the app restarted");
    assert.equal(back.json?.body, JSON.stringify({ back: true }), back.describe());
    assert.equal((await invoke(client, daprd.appId, "ping", HttpMethod.GET))?.url, "/ping");
    const sdkHttp = makeClient(daprd, "http");
    try {
      assert.equal((await invoke(sdkHttp, daprd.appId, "ping", HttpMethod.GET))?.url, "/ping");
    } finally {
      await sdkHttp.stop();
    }
  });
});

describe("daprd without --app-port", { timeout: 60_000 }, () => {
  const daprd = new Daprd({});
  before(() => daprd.start(), HOOK);
  after(() => daprd.stop(), HOOK);

  test("HTTP: 500 ERR_DIRECT_INVOKE \"app channel is not initialized\"", T, async () => {
    const res = await req(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/x`, { json: {} });
    const body = expectDaprError(res, 500, "ERR_DIRECT_INVOKE", { messageIncludes: "app channel is not initialized" });
    assert.equal(body.message, `failed to invoke, id: ${daprd.appId}, err: app channel is not initialized`, res.describe());
    const viaHeader = await req(daprd, "GET", "/orders", { headers: { "dapr-app-id": daprd.appId } });
    expectDaprError(viaHeader, 500, "ERR_DIRECT_INVOKE", { messageIncludes: "app channel is not initialized" });
  });

  test("SDK gRPC: an error mentioning the app channel", T, async () => {
    const client = makeClient(daprd, "grpc");
    try {
      await expectGrpcError(invoke(client, daprd.appId, "x", HttpMethod.POST, { a: 1 }), GrpcCode.Internal, {
        messageIncludes: "app channel is not initialized",
        what: "invoke without an app",
      });
    } finally {
      await client.stop();
    }
  });
});

describe("API tokens", { timeout: 120_000 }, () => {
  const SIDECAR_TOKEN = `sidecar-${uid()}`;
  const APP_TOKEN = `app-${uid()}`;
  let app;
  let protectedOnly;
  let withAppToken;
  before(async () => {
    app = await startApp();
    protectedOnly = appDaprd(app, { apiToken: SIDECAR_TOKEN });
    withAppToken = appDaprd(app, { apiToken: SIDECAR_TOKEN, env: { APP_API_TOKEN: APP_TOKEN } });
    await Promise.all([protectedOnly.start(), withAppToken.start()]);
  }, HOOK);
  after(async () => {
    await Promise.all([protectedOnly?.stop(), withAppToken?.stop()]);
    await app?.stop();
  }, HOOK);

  test("the caller's dapr-api-token is not forwarded to the app (plain HTTP)", T, async () => {
    const denied = await req(protectedOnly, "GET", `/v1.0/invoke/${protectedOnly.appId}/method/tok`);
    expectStatus(denied, 401, "no token");
    const res = await req(protectedOnly, "GET", `/v1.0/invoke/${protectedOnly.appId}/method/tok`, {
      headers: { "dapr-api-token": SIDECAR_TOKEN },
    });
    expectStatus(res, 200);
    assert.equal(res.json?.headers?.["dapr-api-token"], undefined, res.describe());
    assert.equal(res.json.headers["dapr-caller-app-id"], protectedOnly.appId, res.describe());
  });

  test("the dapr-app-id header form does not forward the caller's token either", T, async () => {
    const res = await req(protectedOnly, "GET", "/tok-header", {
      headers: { "dapr-api-token": SIDECAR_TOKEN, "dapr-app-id": protectedOnly.appId },
    });
    expectStatus(res, 200);
    assert.equal(res.json?.url, "/tok-header", res.describe());
    assert.equal(res.json.headers["dapr-api-token"], undefined, res.describe());
  });

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name} with the token: the app does not see it`, T, async () => {
      const client = makeClient(protectedOnly, p.protocol, { token: SIDECAR_TOKEN });
      try {
        const got = await invoke(client, protectedOnly.appId, "tok-sdk", HttpMethod.POST, { a: 1 });
        assert.equal(got?.url, "/tok-sdk", JSON.stringify(got));
        assert.equal(got.headers["dapr-api-token"], undefined, JSON.stringify(got.headers));
      } finally {
        await client.stop();
      }
    });
  }

  test("with APP_API_TOKEN the app sees dapr-api-token: <APP_API_TOKEN> (plain HTTP, SDK HTTP and gRPC)", T, async () => {
    const res = await req(withAppToken, "POST", `/v1.0/invoke/${withAppToken.appId}/method/app-tok`, {
      json: {},
      headers: { "dapr-api-token": SIDECAR_TOKEN },
    });
    expectStatus(res, 200);
    assert.equal(res.json?.headers?.["dapr-api-token"], APP_TOKEN, res.describe());
    const viaHeader = await req(withAppToken, "GET", "/app-tok-header", {
      headers: { "dapr-api-token": SIDECAR_TOKEN, "dapr-app-id": withAppToken.appId },
    });
    expectStatus(viaHeader, 200);
    assert.equal(viaHeader.json?.headers?.["dapr-api-token"], APP_TOKEN, viaHeader.describe());
    for (const p of PROTOCOLS) {
      const client = makeClient(withAppToken, p.protocol, { token: SIDECAR_TOKEN });
      try {
        const got = await invoke(client, withAppToken.appId, "app-tok-sdk", HttpMethod.GET);
        assert.equal(got?.headers?.["dapr-api-token"], APP_TOKEN, `${p.name}: ${JSON.stringify(got?.headers)}`);
      } finally {
        await client.stop();
      }
    }
  });
});

describe("--app-max-concurrency 2", { timeout: 120_000 }, () => {
  let app;
  let daprd;
  before(async () => {
    app = await startApp();
    daprd = appDaprd(app, { args: ["--app-max-concurrency", "2"] });
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    await app?.stop();
  }, HOOK);

  test("6 concurrent plain-HTTP calls holding 300 ms each: all succeed, never more than 2 at the app", T, async () => {
    app.resetCounters();
    const started = Date.now();
    const results = await within(
      20_000,
      Promise.all(Array.from({ length: 6 }, (_, i) => req(daprd, "POST", `/v1.0/invoke/${daprd.appId}/method/slow?ms=300&i=${i}`, { json: { i } }))),
      "6 concurrent calls",
    );
    const elapsed = Date.now() - started;
    results.forEach((r, i) => {
      expectStatus(r, 200, `call ${i}`);
      assert.equal(r.json?.url, `/slow?ms=300&i=${i}`, r.describe());
    });
    assert.ok(app.maxActive <= 2, `the app saw ${app.maxActive} requests at once`);
    assert.ok(app.maxActive >= 1);
    assert.ok(elapsed >= 850, `6 calls of 300 ms with 2 at a time took only ${elapsed} ms`);
  });

  for (const p of PROTOCOLS) {
    test(`6 concurrent SDK ${p.name} calls: all succeed, never more than 2 at the app`, T, async () => {
      const client = makeClient(daprd, p.protocol);
      try {
        app.resetCounters();
        const results = await within(
          20_000,
          Promise.all(Array.from({ length: 6 }, (_, i) => client.invoker.invoke(daprd.appId, `slow?ms=300&i=${i}`, HttpMethod.POST, { i }))),
          "6 concurrent SDK calls",
        );
        results.forEach((r, i) => assert.equal(r?.url, `/slow?ms=300&i=${i}`, JSON.stringify(r)));
        assert.ok(app.maxActive <= 2, `the app saw ${app.maxActive} requests at once`);
      } finally {
        await client.stop();
      }
    });
  }
});
