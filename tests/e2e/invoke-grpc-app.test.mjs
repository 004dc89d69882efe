// Service invocation of a gRPC app (--app-protocol grpc): the callee is the SDK's own
// DaprServer in gRPC mode (AppCallback/OnInvoke), called through its sidecar with the SDK's
// client over HTTP and over gRPC, and with plain HTTP for what the SDK hides (the HTTP
// status a gRPC failure of the app turns into).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import grpc from "@grpc/grpc-js";
import { CommunicationProtocolEnum, DaprServer, HttpMethod, LogLevel } from "@dapr/dapr";
import { InvokeRequestSchema, InvokeResponseSchema } from "@dapr/dapr/proto/dapr/proto/common/v1/common_pb.js";
import { makeCertificates } from "./lib/certs.mjs";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, tempDir, uid, within } from "./lib/daprd.mjs";

const silentLogger = { error() {}, warn() {}, info() {}, verbose() {}, debug() {} };

describe("invoking a gRPC app (DaprServer in gRPC mode)", () => {
  let daprd, server;
  const appId = `grpcapp-${uid(4)}`;

  before(async () => {
    const appPort = await freePort();
    // daprd first, ready for outbound calls only: it is not ready until the app listens,
    // and the app's own client needs the sidecar.
    daprd = new Daprd({ appId, ready: "outbound", args: ["--app-port", String(appPort), "--app-protocol", "grpc"] });
    await daprd.start();
    server = new DaprServer({
      serverHost: "127.0.0.1",
      serverPort: String(appPort),
      communicationProtocol: CommunicationProtocolEnum.GRPC,
      clientOptions: {
        daprHost: "127.0.0.1",
        daprPort: String(daprd.grpcPort),
        communicationProtocol: CommunicationProtocolEnum.GRPC,
      },
      logger: { level: LogLevel.Error, service: silentLogger },
    });
    await server.invoker.listen("hello", async ({ body, query, metadata }) => ({
      got: body ? JSON.parse(body) : null,
      query,
      contentType: metadata.contentType,
    }), { method: HttpMethod.POST });
    await server.invoker.listen("fetch", async ({ query }) => ({ query }), { method: HttpMethod.GET });
    await server.start();
    await daprd.waitReady();
  }, HOOK);

  after(async () => {
    // daprd first: the app's gRPC server waits for daprd's connection to it to close.
    await daprd?.stop();
    await server?.stop().catch(() => {});
  }, HOOK);

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: POST reaches the app's handler with its body; the answer comes back`, T, async () => {
      const client = makeClient(daprd, p.name);
      const answer = await client.invoker.invoke(appId, "hello", HttpMethod.POST, { n: 7 });
      assert.deepEqual(answer.got, { n: 7 });
      assert.equal(answer.contentType, "application/json");
    });
  }

  test("plain HTTP: the verb and query string reach the app (HTTPExtension)", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${appId}/method/fetch?a=1&b=2`);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "application/json");
    assert.deepEqual(await response.json(), { query: "a=1&b=2" });
  });

  test("plain HTTP: a gRPC failure of the app becomes an HTTP status with the status as JSON", T, async () => {
    // The SDK's server answers UNIMPLEMENTED for a method nobody registered... or an empty
    // answer: whichever it does, daprd must relay it as Dapr maps it.
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${appId}/method/nobody`, { method: "POST" });
    if (response.status === 200) {
      assert.equal(await response.text(), "", "an unhandled method gets the SDK's empty answer");
    } else {
      assert.equal(response.headers.get("content-type"), "application/json");
      const status = await response.json();
      assert.equal(typeof status.code, "number");
      assert.equal(typeof status.message, "string");
    }
  });
});

describe("a gRPC app that is not there", () => {
  let daprd;
  before(async () => {
    const appPort = await freePort();
    daprd = new Daprd({ ready: "outbound", args: ["--app-port", String(appPort), "--app-protocol", "grpc"] });
    await daprd.start();
  }, HOOK);
  after(async () => daprd?.stop(), HOOK);

  test("daprd waits for the app: /v1.0/healthz 500, /v1.0/healthz/outbound 204", T, async () => {
    assert.equal((await fetch(`${daprd.httpUrl}/v1.0/healthz`)).status, 500);
    assert.equal((await fetch(`${daprd.httpUrl}/v1.0/healthz/outbound`)).status, 204);
    assert.match(daprd.logs(), /application protocol: grpc\. waiting on port \d+/);
  });

  test("500 ERR_DIRECT_INVOKE naming the app channel", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/x`, { method: "POST" });
    assert.equal(response.status, 500);
    const body = await response.json();
    assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
    assert.match(body.message, new RegExp(`^failed to invoke, id: ${daprd.appId}, err: error invoking app channel: grpc://127\\.0\\.0\\.1:\\d+`));
  });
});

describe("--app-max-concurrency 2 with a gRPC app", () => {
  let daprd, server;
  let active = 0;
  let maxActive = 0;
  const appId = `grpcmax-${uid(4)}`;

  before(async () => {
    const appPort = await freePort();
    daprd = new Daprd({
      appId, ready: "outbound",
      args: ["--app-port", String(appPort), "--app-protocol", "grpc", "--app-max-concurrency", "2"],
    });
    await daprd.start();
    server = new DaprServer({
      serverHost: "127.0.0.1",
      serverPort: String(appPort),
      communicationProtocol: CommunicationProtocolEnum.GRPC,
      clientOptions: { daprHost: "127.0.0.1", daprPort: String(daprd.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC },
      logger: { level: LogLevel.Error, service: silentLogger },
    });
    await server.invoker.listen("slow", async () => {
      active += 1;
      maxActive = Math.max(maxActive, active);
      await new Promise((resolve) => setTimeout(resolve, 300));
      active -= 1;
      return { ok: true };
    }, { method: HttpMethod.POST });
    await server.start();
    await daprd.waitReady();
  }, HOOK);

  after(async () => {
    await daprd?.stop();
    await server?.stop().catch(() => {});
  }, HOOK);

  test("6 concurrent calls holding 300 ms each: all answered, never more than 2 at the app", T, async () => {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 6 }, () =>
      fetch(`${daprd.httpUrl}/v1.0/invoke/${appId}/method/slow`, { method: "POST", body: "{}" })));
    const elapsed = Date.now() - started;
    for (const r of results) assert.equal(r.status, 200);
    assert.equal(maxActive, 2, `the app saw ${maxActive} calls at once`);
    assert.ok(elapsed >= 850, `6 calls of 300 ms two at a time took only ${elapsed} ms`);
  });
});

describe("a gRPC app over TLS (--app-protocol grpcs)", () => {
  let server, daprd;
  const appId = `grpcs-${uid(4)}`;

  before(async () => {
    const certs = makeCertificates(tempDir("grpcs"));
    // AppCallback/OnInvoke answering the method name and body it got, as JSON; and a custom
    // service for the gRPC proxy.
    server = new grpc.Server();
    const raw = (path) => ({ path, requestStream: false, responseStream: false,
      requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b });
    server.addService({ OnInvoke: raw("/dapr.proto.runtime.v1.AppCallback/OnInvoke") }, {
      OnInvoke: (call, callback) => {
        const request = fromBinary(InvokeRequestSchema, call.request);
        const answer = JSON.stringify({ method: request.method, body: Buffer.from(request.data?.value ?? []).toString() });
        const response = create(InvokeResponseSchema, {
          data: create(AnySchema, { value: Buffer.from(answer) }), contentType: "application/json",
        });
        callback(null, Buffer.from(toBinary(InvokeResponseSchema, response)));
      },
    });
    server.addService({ Say: raw("/e2e.Tls/Say") }, { Say: (call, callback) => callback(null, Buffer.from("over tls")) });
    const appPort = await freePort();
    const credentials = grpc.ServerCredentials.createSsl(null, [
      { cert_chain: Buffer.from(certs.serverCert), private_key: Buffer.from(certs.serverKey) },
    ]);
    await new Promise((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${appPort}`, credentials, (e) => (e ? reject(e) : resolve())));
    daprd = new Daprd({ appId, args: ["--app-port", String(appPort), "--app-protocol", "grpcs"] });
    await daprd.start();
  }, HOOK);

  after(async () => {
    await daprd?.stop();
    server?.forceShutdown();
  }, HOOK);

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: the call reaches the app over TLS (certificate not checked, as in Dapr)`, T, async () => {
      const answer = await makeClient(daprd, p.name).invoker.invoke(appId, "secure", HttpMethod.POST, { n: 1 });
      assert.deepEqual(answer, { method: "secure", body: '{"n":1}' });
    });
  }

  test("gRPC proxying to the grpcs app", T, async () => {
    const client = new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set("dapr-app-id", appId);
    try {
      const reply = await within(10_000, new Promise((resolve, reject) =>
        client.makeUnaryRequest("/e2e.Tls/Say", (b) => b, (b) => b, Buffer.alloc(0), md,
          (err, response) => (err ? reject(err) : resolve(response)))), "proxied call");
      assert.equal(reply.toString(), "over tls");
    } finally {
      client.close();
    }
  });
});
