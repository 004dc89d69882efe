// Service invocation between two sidecars on one machine: "alpha" calls "beta" by its app id.
// Both daprds share one HOME, so they find each other in the local name-resolution registry
// (~/.dapr/nameresolution.db) with no configuration; the call goes alpha's sidecar ->
// beta's sidecar (internal gRPC, ServiceInvocation/CallLocal) -> beta's app and back.
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { mkdirSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import grpc from "@grpc/grpc-js";
import { HttpMethod } from "@dapr/dapr";
import {
  HTTPExtensionSchema,
  HTTPExtension_Verb,
  InvokeRequestSchema,
  InvokeResponseSchema,
} from "@dapr/dapr/proto/dapr/proto/common/v1/common_pb.js";
import { InvokeServiceRequestSchema } from "@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, tempDir, stopApp, uid, waitFor, within } from "./lib/daprd.mjs";
import { expectGrpcError } from "./lib/http.mjs";

// An app that echoes what it got as JSON; /status/<n> answers status n.
async function startEchoApp(port) {
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const status = /^\/status\/(\d+)/.exec(request.url);
      response.writeHead(status ? Number(status[1]) : 200, {
        "content-type": "application/json",
        "x-echo": "beta",
      });
      response.end(JSON.stringify({
        method: request.method,
        url: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      }));
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

describe("invocation between two sidecars (local registry)", () => {
  const home = path.join(tempDir("shared"), "home");
  mkdirSync(home, { recursive: true });
  const betaId = `beta-${uid(4)}`;
  let alpha, beta, betaApp, betaAppPort;

  before(async () => {
    betaAppPort = await freePort();
    betaApp = await startEchoApp(betaAppPort);
    beta = new Daprd({ appId: betaId, home, args: ["--app-port", String(betaAppPort)] });
    await beta.start();
    alpha = new Daprd({ appId: `alpha-${uid(4)}`, home });
    await alpha.start();
  }, HOOK);

  after(async () => {
    await alpha?.stop();
    await beta?.stop();
    await stopApp(betaApp);
  }, HOOK);

  test("plain HTTP: verb, path, query, body and headers reach beta's app; its answer comes back", T, async () => {
    const response = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/orders/7?x=1&y=%20z`, {
      method: "PUT",
      headers: { "content-type": "text/plain", "x-trace-me": "yes" },
      body: "hello beta",
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-echo"), "beta");
    const seen = await response.json();
    assert.equal(seen.method, "PUT");
    assert.equal(seen.url, "/orders/7?x=1&y=%20z");
    assert.equal(seen.body, "hello beta");
    assert.equal(seen.headers["content-type"], "text/plain");
    assert.equal(seen.headers["x-trace-me"], "yes");
    assert.equal(seen.headers["dapr-caller-app-id"], alpha.appId);
    assert.equal(seen.headers["dapr-callee-app-id"], betaId);
  });

  const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
  const PARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;
  const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

  test("plain HTTP: beta's app sees the caller's trace with a new span id, and its tracestate", T, async () => {
    const response = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/traced`, {
      headers: { traceparent: PARENT, tracestate: "vendor=abc" },
    });
    const seen = await response.json();
    const [, traceId, spanId, flags] = TRACEPARENT.exec(seen.headers.traceparent) ?? [];
    assert.equal(traceId, TRACE_ID, seen.headers.traceparent);
    assert.notEqual(spanId, "00f067aa0ba902b7");
    assert.equal(flags, "01");
    assert.equal(seen.headers.tracestate, "vendor=abc");
  });

  test("plain HTTP: without a traceparent (or with a bad one) the app sees a new trace", T, async () => {
    const traces = new Set();
    for (const headers of [{}, { traceparent: "00-nothex-00f067aa0ba902b7-01" }]) {
      const seen = await (await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/t`, { headers })).json();
      const [, traceId, , flags] = TRACEPARENT.exec(seen.headers.traceparent) ?? [];
      assert.ok(traceId, seen.headers.traceparent);
      assert.equal(flags, "00");
      traces.add(traceId);
    }
    assert.equal(traces.size, 2);
  });

  test("gRPC InvokeService: traceparent and tracestate metadata reach beta's app", T, async () => {
    const client = new grpc.Client(`127.0.0.1:${alpha.grpcPort}`, grpc.credentials.createInsecure());
    const request = toBinary(InvokeServiceRequestSchema, create(InvokeServiceRequestSchema, {
      id: betaId,
      message: create(InvokeRequestSchema, {
        method: "traced",
        data: create(AnySchema, { value: new Uint8Array() }),
        httpExtension: create(HTTPExtensionSchema, { verb: HTTPExtension_Verb.GET }),
      }),
    }));
    const metadata = new grpc.Metadata();
    metadata.set("traceparent", PARENT);
    metadata.set("tracestate", "vendor=grpc");
    try {
      const bytes = await within(10_000, new Promise((resolve, reject) => {
        client.makeUnaryRequest("/dapr.proto.runtime.v1.Dapr/InvokeService", (b) => b, (b) => b,
          Buffer.from(request), metadata, (err, response) => (err ? reject(err) : resolve(response)));
      }), "InvokeService");
      const seen = JSON.parse(Buffer.from(fromBinary(InvokeResponseSchema, bytes).data.value).toString());
      assert.equal(TRACEPARENT.exec(seen.headers.traceparent)?.[1], TRACE_ID, seen.headers.traceparent);
      assert.equal(seen.headers.tracestate, "vendor=grpc");
    } finally {
      client.close();
    }
  });

  test("plain HTTP: the dapr-app-id header form reaches beta's app", T, async () => {
    const response = await fetch(`${alpha.httpUrl}/orders`, {
      method: "POST",
      headers: { "dapr-app-id": betaId, "content-type": "application/json" },
      body: JSON.stringify({ id: 1 }),
    });
    assert.equal(response.status, 200);
    const seen = await response.json();
    assert.equal(seen.url, "/orders");
    assert.deepEqual(JSON.parse(seen.body), { id: 1 });
  });

  test("plain HTTP: beta's app status and body are relayed unchanged", T, async () => {
    const response = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/status/503`);
    assert.equal(response.status, 503);
    assert.equal((await response.json()).url, "/status/503");
  });

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: invoker.invoke reaches beta's app and returns its answer`, T, async () => {
      const client = makeClient(alpha, p.name);
      const seen = await client.invoker.invoke(betaId, "echo", HttpMethod.POST, { n: 42 });
      assert.equal(seen.method, "POST");
      assert.equal(seen.url, "/echo");
      assert.deepEqual(JSON.parse(seen.body), { n: 42 });
      assert.equal(seen.headers["dapr-caller-app-id"], alpha.appId);
    });
  }

  test("an app id nobody registered: 500 ERR_DIRECT_INVOKE couldn't find service", T, async () => {
    const response = await fetch(`${alpha.httpUrl}/v1.0/invoke/nobody-${uid(4)}/method/x`);
    assert.equal(response.status, 500);
    const body = await response.json();
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(body.message, /^failed to invoke, id: nobody-\w+, err: couldn't find service: nobody-\w+$/);
  });

  test("SDK over gRPC: an app id nobody registered is an INTERNAL error", T, async () => {
    const client = makeClient(alpha, "grpc");
    await expectGrpcError(client.invoker.invoke(`nobody-${uid(4)}`, "x", HttpMethod.GET), 13, {
      what: "InvokeService to an unknown app",
    });
  });

  test("beta's app down: the error names beta and the app channel; back up: calls work again", T, async () => {
    await stopApp(betaApp);
    betaApp = null;
    const down = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/x`);
    assert.equal(down.status, 500);
    const body = await down.json();
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(body.message, new RegExp(`^failed to invoke, id: ${betaId}, err: error invoking app channel`));
    betaApp = await startEchoApp(betaAppPort);
    const up = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/again`);
    assert.equal(up.status, 200);
    assert.equal((await up.json()).url, "/again");
  });

  test("beta's sidecar stopped: it leaves the registry and alpha says it cannot find it", T, async () => {
    await beta.stop();
    await waitFor(async () => {
      const response = await fetch(`${alpha.httpUrl}/v1.0/invoke/${betaId}/method/x`);
      const body = await response.json();
      return response.status === 500 && /couldn't find service/.test(body.message);
    }, { ms: 5000, what: "beta gone from the registry" });
  });
});

describe("three sidecars in the local registry: two instances of one app id", () => {
  const home = path.join(tempDir("three"), "home");
  mkdirSync(home, { recursive: true });
  const gammaId = `gamma-${uid(4)}`;
  const apps = [];
  const sidecars = [];
  let caller;

  // An app answering its own name.
  async function named(name) {
    const port = await freePort();
    const server = http.createServer((request, response) => {
      request.resume();
      response.end(name);
    });
    await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
    apps.push(server);
    return port;
  }

  before(async () => {
    for (const name of ["one", "two"]) {
      const d = new Daprd({ appId: gammaId, home, args: ["--app-port", String(await named(name))] });
      await d.start();
      sidecars.push(d);
    }
    caller = new Daprd({ appId: `caller-${uid(4)}`, home });
    await caller.start();
  }, HOOK);

  after(async () => {
    await caller?.stop();
    for (const d of sidecars) await d.stop();
    for (const server of apps) await stopApp(server);
  }, HOOK);

  test("calls are spread over both instances, with no configuration", T, async () => {
    const answers = [];
    for (let i = 0; i < 10; i++) {
      answers.push(await (await fetch(`${caller.httpUrl}/v1.0/invoke/${gammaId}/method/who`)).text());
    }
    assert.equal(answers.filter((a) => a === "one").length, 5, answers.join(","));
    assert.equal(answers.filter((a) => a === "two").length, 5, answers.join(","));
  });

  test("one instance stops: every call goes to the other, none fails", T, async () => {
    await sidecars[0].stop();
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const response = await fetch(`${caller.httpUrl}/v1.0/invoke/${gammaId}/method/who`);
      assert.equal(response.status, 200, await response.clone().text());
      answers.push(await response.text());
    }
    assert.deepEqual([...new Set(answers)], ["two"]);
  });
});
