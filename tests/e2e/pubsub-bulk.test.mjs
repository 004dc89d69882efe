// Bulk subscribe: the SDK's DaprServer subscribes with subscribeBulk (an HTTP app and a gRPC
// app), messages arrive in batches of at most maxMessagesCount (a part batch once
// maxAwaitDurationMs has passed), and each entry's status decides for that entry alone:
// SUCCESS acks it, RETRY has it delivered again, DROP acks it without success.
// The SDK's bulk handler is wrapped to see each batch as the sidecar sent it.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DaprPubSubStatusEnum } from "@dapr/dapr";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, sdkServer, uid, waitFor } from "./lib/daprd.mjs";

const PUBSUB = "events";
const MAX = 20;  // above the broker's concurrency of 10: a batch needs as many unanswered at once

// Wraps the SDK's handler of one bulk delivery; returns the batches seen ({type, topic, size}).
function watchBatches(server, protocol) {
  const impl = server.daprServer.getServerImpl();
  const batches = [];
  if (protocol === "http") {
    const original = impl.processBulkSubscribeMessage.bind(impl);
    impl.processBulkSubscribeMessage = async (routeObj, req) => {
      const body = req.body ?? {};
      batches.push({ type: body.type, topic: body.topic, pubsubname: body.pubsubname, size: body.entries?.length ?? 0,
                     contentTypes: (body.entries ?? []).map((e) => e.contentType) });
      return original(routeObj, req);
    };
  } else {
    const original = impl.onBulkTopicEventAlpha1.bind(impl);
    impl.onBulkTopicEventAlpha1 = async (request, context) => {
      batches.push({ type: request.type, topic: request.topic, pubsubname: request.pubsubName,
                     size: request.entries.length, contentTypes: request.entries.map((e) => e.contentType) });
      return original(request, context);
    };
  }
  return batches;
}

for (const app of PROTOCOLS) {
  describe(`bulk subscribe to a ${app.name} app`, () => {
    let daprd, server, batches;
    const seen = new Map();  // id -> deliveries

    before(async () => {
      const appPort = await freePort();
      daprd = new Daprd({
        appId: `psb-${app.name}-${uid(4)}`,
        ready: "outbound",
        args: ["--app-port", String(appPort), "--app-protocol", app.name],
        components: [{ name: PUBSUB, type: "pubsub.in-memory", metadata: { redeliverInterval: "100ms" } }],
      });
      await daprd.start();
      server = sdkServer(daprd, app, appPort);
      batches = watchBatches(server, app.name);
      await server.pubsub.subscribeBulk(PUBSUB, "bulk-in", async (data) => {
        const n = (seen.get(data.id) ?? 0) + 1;
        seen.set(data.id, n);
        if (data.id.startsWith("retry-") && n === 1) return DaprPubSubStatusEnum.RETRY;
        if (data.id.startsWith("drop-")) return DaprPubSubStatusEnum.DROP;
        return DaprPubSubStatusEnum.SUCCESS;
      }, { maxMessagesCount: MAX, maxAwaitDurationMs: 300 });
      await server.start();
      await daprd.waitReady();
    }, HOOK);

    after(async () => {
      await daprd?.stop();
      await server?.stop().catch(() => {});
    }, HOOK);

    test("the metadata API shows the bulk subscription", T, async () => {
      const metadata = await (await fetch(`${daprd.httpUrl}/v1.0/metadata`)).json();
      const bulk = metadata.subscriptions.find((s) => s.topic === "bulk-in");
      assert.ok(bulk, JSON.stringify(metadata.subscriptions));
    });

    for (const client of PROTOCOLS) {
      test(`published over ${client.name}: messages arrive in batches of at most ${MAX}, each entry answered alone`, T, async () => {
        const tag = uid(6);
        const ids = Array.from({ length: 45 }, (_, i) => `ok-${tag}-${i}`);
        ids.push(`retry-${tag}`, `drop-${tag}`);
        const before = batches.length;
        const result = await makeClient(daprd, client.name).pubsub.publishBulk(PUBSUB, "bulk-in", ids.map((id) => ({ id })));
        assert.equal(result.failedMessages.length, 0);
        await waitFor(() => ids.every((id) => seen.has(id)) && seen.get(`retry-${tag}`) >= 2,
                      { ms: 8000, what: "every entry, and the retried one twice" });
        const mine = batches.slice(before);
        assert.ok(mine.every((b) => b.size >= 1 && b.size <= MAX), `batch sizes ${mine.map((b) => b.size)}`);
        assert.ok(mine.some((b) => b.size === MAX), `a full batch among ${mine.map((b) => b.size)}`);
        assert.ok(mine.every((b) => b.type === "com.dapr.event.sent.bulk" && b.topic === "bulk-in" && b.pubsubname === PUBSUB));
        assert.ok(mine.every((b) => b.contentTypes.every((t) => t === "application/cloudevents+json")));
        await new Promise((resolve) => setTimeout(resolve, 600));  // several redelivery intervals
        assert.equal(seen.get(`retry-${tag}`), 2, "RETRY: delivered again, then acked");
        assert.equal(seen.get(`drop-${tag}`), 1, "DROP: acked, not delivered again");
        assert.ok(ids.filter((id) => id.startsWith("ok-")).every((id) => seen.get(id) === 1), "SUCCESS: once each");
      });
    }

    test("a part batch goes once maxAwaitDurationMs has passed", T, async () => {
      const id = `ok-alone-${uid(6)}`;
      const started = Date.now();
      await makeClient(daprd, "http").pubsub.publish(PUBSUB, "bulk-in", { id });
      await waitFor(() => seen.has(id), { ms: 5000, what: "the lone message" });
      const waited = Date.now() - started;
      assert.ok(waited >= 250, `delivered after ${waited} ms: it should wait for the batch to fill`);
      assert.ok(waited < 3000, `delivered after ${waited} ms`);
    });
  });
}
