// Deliveries under the component's inbound Resiliency policy (targets.components.<pubsub>.
// inbound), to an HTTP and a gRPC app (DaprServer): RETRY answers are retried by the sidecar
// after the policy's short delay (long before the broker's own redelivery would come), retries
// that run out send the message to the dead-letter topic, and an app that never answers is
// ended by the policy's timeout and the message delivered again.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DaprPubSubStatusEnum } from "@dapr/dapr";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, sdkServer, uid, waitFor } from "./lib/daprd.mjs";

const PUBSUB = "events";

const resiliency = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: inbound
spec:
  policies:
    timeouts:
      short: 500ms
    retries:
      quick:
        policy: constant
        duration: 50ms
        maxRetries: 2
  targets:
    components:
      ${PUBSUB}:
        inbound:
          timeout: short
          retry: quick
`;

for (const app of PROTOCOLS) {
  describe(`inbound resiliency for a ${app.name} app`, () => {
    let daprd, server;
    const attempts = new Map();  // message id -> [ms since publish of each attempt]
    const published = new Map(); // message id -> publish time
    const deadLetters = [];
    const seen = (id) => {
      if (!attempts.has(id)) attempts.set(id, []);
      attempts.get(id).push(Date.now() - published.get(id));
      return attempts.get(id).length;
    };

    before(async () => {
      const appPort = await freePort();
      daprd = new Daprd({
        appId: `psr-${app.name}-${uid(4)}`,
        ready: "outbound",
        args: ["--app-port", String(appPort), "--app-protocol", app.name],
        // The broker's own redelivery is slow, so a quick second attempt is the sidecar's.
        components: [{ name: PUBSUB, type: "pubsub.in-memory", metadata: { redeliverInterval: "30s" } }, resiliency],
      });
      await daprd.start();
      server = sdkServer(daprd, app, appPort);
      await server.pubsub.subscribe(PUBSUB, "flaky", async (data) =>
        seen(data.id) < 3 ? DaprPubSubStatusEnum.RETRY : DaprPubSubStatusEnum.SUCCESS);
      await server.pubsub.subscribeWithOptions(PUBSUB, "hopeless", {
        deadLetterTopic: "hopeless-dlq",
        callback: async (data) => { seen(data.id); return DaprPubSubStatusEnum.RETRY; },
      });
      await server.pubsub.subscribe(PUBSUB, "hopeless-dlq", async (data) => { deadLetters.push(data.id); });
      await server.pubsub.subscribe(PUBSUB, "silent", async (data) => {
        if (seen(data.id) === 1) await new Promise((resolve) => setTimeout(resolve, 3000));
        return DaprPubSubStatusEnum.SUCCESS;
      });
      await server.start();
      await daprd.waitReady();
    }, HOOK);

    after(async () => {
      await daprd?.stop();
      await server?.stop().catch(() => {});
    }, HOOK);

    const publish = async (topic) => {
      const id = uid(8);
      published.set(id, Date.now());
      const result = await makeClient(daprd, "http").pubsub.publish(PUBSUB, topic, { id });
      assert.equal(result.error, undefined);
      return id;
    };

    test("RETRY answers are retried by the sidecar after the policy's delay", T, async () => {
      const id = await publish("flaky");
      await waitFor(() => (attempts.get(id)?.length ?? 0) >= 3, { ms: 8000, what: "three attempts" });
      const times = attempts.get(id);
      // Well before the broker's 30 s redelivery: the retries were the policy's.
      assert.ok(times[2] < 5000, `attempts at ${times.join(", ")} ms`);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(attempts.get(id).length, 3, "acked after SUCCESS: not delivered again");
    });

    test("retries that run out send the message to the dead-letter topic", T, async () => {
      const id = await publish("hopeless");
      await waitFor(() => deadLetters.includes(id), { ms: 8000, what: "the dead letter" });
      assert.equal(attempts.get(id).length, 3, "the first attempt and maxRetries 2");
      assert.equal(deadLetters.filter((d) => d === id).length, 1);
    });

    test("an app that never answers is ended by the timeout and the message delivered again", T, async () => {
      const id = await publish("silent");
      await waitFor(() => (attempts.get(id)?.length ?? 0) >= 2, { ms: 8000, what: "the second attempt" });
      const [first, second] = attempts.get(id);
      assert.ok(second - first >= 450, `the second attempt came ${second - first} ms after the first`);
      assert.ok(second - first < 2500, `the second attempt came ${second - first} ms after the first`);
      await new Promise((resolve) => setTimeout(resolve, 3500));  // the first attempt's late answer
      assert.equal(attempts.get(id).length, 2);
    });
  });
}
