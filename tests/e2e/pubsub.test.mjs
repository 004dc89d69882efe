// Publish and subscribe through one sidecar with the in-memory broker: the SDK's client
// publishes (over HTTP and gRPC) and the SDK's DaprServer subscribes (an HTTP app and a
// gRPC app), covering delivery, routing rules, RETRY, DROP to a dead-letter topic, bulk
// publish, the metadata API's subscriptions and Dapr's publish errors.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { after, before, describe, test } from "node:test";
import { DaprPubSubStatusEnum } from "@dapr/dapr";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, sdkServer, uid, waitFor } from "./lib/daprd.mjs";

const PUBSUB = "events";

// What one subscriber saw, by topic.
class Inbox {
  constructor() { this.byTopic = new Map(); }
  add(topic, data, headers) {
    if (!this.byTopic.has(topic)) this.byTopic.set(topic, []);
    this.byTopic.get(topic).push({ data, headers });
  }
  of(topic) { return this.byTopic.get(topic) ?? []; }
  async wait(topic, n, what) {
    await waitFor(() => this.of(topic).length >= n, { ms: 8000, what: what ?? `${n} deliveries on ${topic}` });
    return this.of(topic);
  }
}

for (const app of PROTOCOLS) {
  describe(`pub/sub to a ${app.name} app (DaprServer)`, () => {
    let daprd, server;
    const inbox = new Inbox();
    const retries = new Map();  // message id -> times seen
    const appId = `ps-${app.name}-${uid(4)}`;

    before(async () => {
      const appPort = await freePort();
      daprd = new Daprd({
        appId,
        ready: "outbound",
        args: ["--app-port", String(appPort), "--app-protocol", app.name, "--dapr-http-max-request-size", "1"],
        components: [{ name: PUBSUB, type: "pubsub.in-memory", metadata: { redeliverInterval: "100ms" } },
                     { name: "scoped", type: "pubsub.in-memory", metadata: { publishingScopes: `${appId}=open` } }],
      });
      await daprd.start();
      server = sdkServer(daprd, app, appPort);
      await server.pubsub.subscribe(PUBSUB, "orders", async (data, headers) => { inbox.add("orders", data, headers); });
      await server.pubsub.subscribeWithOptions(PUBSUB, "routed", {
        route: { rules: [{ match: 'event.data.kind == "big"', path: "/big" }], default: "/small" },
      });
      server.pubsub.subscribeToRoute(PUBSUB, "routed", "big", async (data) => { inbox.add("routed-big", data); });
      server.pubsub.subscribeToRoute(PUBSUB, "routed", "small", async (data) => { inbox.add("routed-small", data); });
      await server.pubsub.subscribe(PUBSUB, "flaky", async (data) => {
        const seen = (retries.get(data.id) ?? 0) + 1;
        retries.set(data.id, seen);
        if (seen < 3) return DaprPubSubStatusEnum.RETRY;
        inbox.add("flaky", data);
        return DaprPubSubStatusEnum.SUCCESS;
      });
      await server.pubsub.subscribeWithOptions(PUBSUB, "poison", {
        deadLetterTopic: "poison-dlq",
        callback: async () => DaprPubSubStatusEnum.DROP,
      });
      // The dead-letter topic is a topic like any other: the app subscribes to it.
      await server.pubsub.subscribe(PUBSUB, "poison-dlq", async (data) => { inbox.add("poison-dlq", data); });
      await server.pubsub.subscribe(PUBSUB, "bulk", async (data) => { inbox.add("bulk", data); });
      await server.start();
      await daprd.waitReady();
    }, HOOK);

    after(async () => {
      // The sidecar first: a gRPC DaprServer waits for its connections to close.
      await daprd?.stop();
      await server?.stop().catch(() => {});
    }, HOOK);

    test("the metadata API lists the app's subscriptions, with their rules", T, async () => {
      const metadata = await (await fetch(`${daprd.httpUrl}/v1.0/metadata`)).json();
      const topics = metadata.subscriptions.map((s) => s.topic).sort();
      assert.ok(["orders", "routed", "flaky", "poison", "bulk"].every((t) => topics.includes(t)), topics.join());
      const routed = metadata.subscriptions.find((s) => s.topic === "routed");
      assert.equal(routed.pubsubname, PUBSUB);
      assert.equal(routed.type, "PROGRAMMATIC");
      assert.equal(routed.rules[0].match, 'event.data.kind == "big"');
      assert.match(routed.rules[0].path, /big$/);  // the SDK names the path after pubsub and topic
      assert.equal(metadata.subscriptions.find((s) => s.topic === "poison").deadLetterTopic, "poison-dlq");
      assert.ok(metadata.components.some((c) => c.name === PUBSUB && c.type === "pubsub.in-memory"));
    });

    for (const client of PROTOCOLS) {
      test(`published over ${client.name}: a JSON message arrives as sent`, T, async () => {
        const id = uid(8);
        const result = await makeClient(daprd, client.name).pubsub.publish(PUBSUB, "orders", { id, n: 1 });
        assert.equal(result.error, undefined);
        await waitFor(() => inbox.of("orders").some((m) => m.data.id === id), { ms: 8000, what: `order ${id}` });
        assert.deepEqual(inbox.of("orders").find((m) => m.data.id === id).data, { id, n: 1 });
      });

      test(`published over ${client.name}: routing rules choose the path`, T, async () => {
        const id = uid(8);
        const c = makeClient(daprd, client.name);
        await c.pubsub.publish(PUBSUB, "routed", { id, kind: "big" });
        await c.pubsub.publish(PUBSUB, "routed", { id, kind: "tiny" });
        await waitFor(() => inbox.of("routed-big").some((m) => m.data.id === id) &&
                            inbox.of("routed-small").some((m) => m.data.id === id), { ms: 8000, what: "both routes" });
        assert.ok(inbox.of("routed-big").filter((m) => m.data.id === id).every((m) => m.data.kind === "big"));
        assert.ok(inbox.of("routed-small").filter((m) => m.data.id === id).every((m) => m.data.kind === "tiny"));
      });

      test(`published over ${client.name}: RETRY has the message delivered again until SUCCESS`, T, async () => {
        const id = uid(8);
        await makeClient(daprd, client.name).pubsub.publish(PUBSUB, "flaky", { id });
        await waitFor(() => inbox.of("flaky").some((m) => m.data.id === id), { ms: 8000, what: "the third attempt" });
        assert.equal(retries.get(id), 3);
      });

      test(`published over ${client.name}: DROP sends the message to the dead-letter topic`, T, async () => {
        const id = uid(8);
        await makeClient(daprd, client.name).pubsub.publish(PUBSUB, "poison", { id });
        await waitFor(() => inbox.of("poison-dlq").some((m) => m.data.id === id), { ms: 8000, what: "the dead letter" });
      });

      test(`bulk published over ${client.name}: every entry arrives`, T, async () => {
        const ids = [uid(8), uid(8), uid(8)];
        const result = await makeClient(daprd, client.name).pubsub.publishBulk(PUBSUB, "bulk", ids.map((id) => ({ id })));
        assert.deepEqual(result.failedMessages, []);
        await waitFor(() => ids.every((id) => inbox.of("bulk").some((m) => m.data.id === id)), { ms: 8000, what: "3 entries" });
      });

      test(`published over ${client.name}: an unknown pub/sub is an error`, T, async () => {
        // The SDK's HTTP client reports it in the result, its gRPC client throws.
        let error;
        try {
          error = (await makeClient(daprd, client.name).pubsub.publish("nope", "orders", { a: 1 })).error;
        } catch (e) {
          error = e;
        }
        assert.ok(error, "the SDK reports the failure");
        assert.match(inspect(error, { depth: 5 }), /pubsub nope not found/);
      });
    }

    test("plain HTTP: Dapr's status and error codes for bad publishes", T, async () => {
      const post = (path, body = "{}", type = "application/json") =>
        fetch(`${daprd.httpUrl}${path}`, { method: "POST", headers: { "content-type": type }, body });
      let res = await post("/v1.0/publish/nope/orders");
      assert.equal(res.status, 404);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_NOT_FOUND");
      res = await post(`/v1.0/publish/${PUBSUB}`);
      assert.equal(res.status, 404);
      assert.equal((await res.json()).errorCode, "ERR_TOPIC_NAME_EMPTY");
      res = await post("/v1.0/publish/scoped/closed");
      assert.equal(res.status, 403);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_FORBIDDEN");
      res = await post("/v1.0/publish/scoped/open");
      assert.equal(res.status, 204);
      res = await post(`/v1.0/publish/${PUBSUB}/orders`, "{not json", "application/cloudevents+json");
      assert.equal(res.status, 500);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_CLOUD_EVENTS_SER");
      res = await post(`/v1.0/publish/${PUBSUB}/orders?metadata.rawPayload=maybe`);
      assert.equal(res.status, 400);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_REQUEST_METADATA");
      res = await post(`/v1.0-alpha1/publish/bulk/${PUBSUB}/bulk`,
                       JSON.stringify([{ entryId: "1", event: {}, contentType: "application/json" },
                                       { entryId: "1", event: {}, contentType: "application/json" }]));
      assert.equal(res.status, 400);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_EVENTS_SER");
      res = await post(`/v1.0-alpha1/publish/bulk/${PUBSUB}/bulk`, "[oops");
      assert.equal(res.status, 400);
      assert.equal((await res.json()).errorCode, "ERR_PUBSUB_EVENTS_SER");
      // Over the 1 MiB request limit: refused whole (Dapr's 400), and the sidecar serves on.
      res = await post(`/v1.0/publish/${PUBSUB}/orders`, JSON.stringify({ big: "x".repeat(2 << 20) }));
      assert.equal(res.status, 400);
      assert.equal((await res.json()).errorCode, "ERR_MALFORMED_REQUEST");
      assert.equal((await fetch(`${daprd.httpUrl}/v1.0/healthz`)).status, 204);
    });

    test("plain HTTP: the CloudEvent the app gets carries Dapr's fields", T, async () => {
      const id = uid(8);
      const res = await fetch(`${daprd.httpUrl}/v1.0/publish/${PUBSUB}/orders`, {
        method: "POST", headers: { "content-type": "application/json", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
        body: JSON.stringify({ id }),
      });
      assert.equal(res.status, 204);
      await waitFor(() => inbox.of("orders").some((m) => m.data.id === id), { ms: 8000, what: "the order" });
      if (app.name === "http") {
        const headers = inbox.of("orders").find((m) => m.data.id === id).headers;
        assert.equal(headers["content-type"], "application/cloudevents+json");
        assert.equal(headers.pubsubname, PUBSUB);
        assert.match(headers.traceparent ?? "", /^00-0af7651916cd43dd8448eb211c80319c-/);
      }
    });
  });
}
