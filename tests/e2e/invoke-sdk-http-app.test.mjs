// The SDK's own HTTP server (DaprServer in HTTP mode, invoker.listen) as the callee: called
// through its sidecar with the SDK's client over HTTP and over gRPC.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CommunicationProtocolEnum, DaprServer, HttpMethod, LogLevel } from "@dapr/dapr";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, uid } from "./lib/daprd.mjs";

const silentLogger = { error() {}, warn() {}, info() {}, verbose() {}, debug() {} };

describe("invoking an HTTP app written with DaprServer", () => {
  let daprd, server;
  const appId = `sdkhttp-${uid(4)}`;

  before(async () => {
    const appPort = await freePort();
    // The sidecar first, ready for outbound calls only (it waits for the app's port); the
    // SDK server's own client needs the sidecar to start.
    daprd = new Daprd({ appId, ready: "outbound", args: ["--app-port", String(appPort)] });
    await daprd.start();
    server = new DaprServer({
      serverHost: "127.0.0.1",
      serverPort: String(appPort),
      communicationProtocol: CommunicationProtocolEnum.HTTP,
      clientOptions: { daprHost: "127.0.0.1", daprPort: String(daprd.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP },
      logger: { level: LogLevel.Error, service: silentLogger },
    });
    await server.invoker.listen("orders", async ({ body, query }) => ({ got: body, query }), { method: HttpMethod.POST });
    await server.invoker.listen("ping", async () => ({ pong: true }), { method: HttpMethod.GET });
    await server.start();
    await daprd.waitReady();
  }, HOOK);

  after(async () => {
    await server?.stop().catch(() => {});
    await daprd?.stop();
  }, HOOK);

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: POST with a JSON body reaches the handler; its answer comes back`, T, async () => {
      const answer = await makeClient(daprd, p.name).invoker.invoke(appId, "orders", HttpMethod.POST, { id: 7 });
      const got = typeof answer.got === "string" ? JSON.parse(answer.got) : answer.got;
      assert.deepEqual(got, { id: 7 });
    });

    test(`SDK over ${p.name}: GET reaches the GET handler`, T, async () => {
      const answer = await makeClient(daprd, p.name).invoker.invoke(appId, "ping", HttpMethod.GET);
      assert.deepEqual(answer, { pong: true });
    });
  }

  test("plain HTTP: the query string reaches the handler", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${appId}/method/orders?kind=fast`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ id: 8 }),
    });
    assert.equal(response.status, 200);
    const answer = await response.json();
    assert.match(JSON.stringify(answer.query), /fast/);
  });
});
