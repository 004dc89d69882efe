// Streaming subscriptions (SubscribeTopicEventsAlpha1, gRPC only): a client holds a
// bidirectional stream, gets each published message as event_message and acks it with
// event_processed. The JS SDK has no call for it, so the stream is driven with grpc-js and
// the SDK's own generated protos; the publishers are the SDK's clients over HTTP and gRPC.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import grpc from "@grpc/grpc-js";
import {
  SubscribeTopicEventsRequestAlpha1Schema,
  SubscribeTopicEventsResponseAlpha1Schema,
} from "@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js";
import { Daprd, HOOK, PROTOCOLS, T, makeClient, tempDir, uid, waitFor, within } from "./lib/daprd.mjs";

const METHOD = "/dapr.proto.runtime.v1.Dapr/SubscribeTopicEventsAlpha1";
const SUCCESS = 0, RETRY = 1, DROP = 2;
const pass = (b) => b;

// One streaming subscription, as a client holds it.
class Stream {
  constructor(daprd) {
    this.client = new grpc.Client(`127.0.0.1:${daprd.grpcPort}`, grpc.credentials.createInsecure());
    this.call = this.client.makeBidiStreamRequest(METHOD, pass, pass);
    this.received = [];
    this.waiters = [];
    this.status = new Promise((resolve) => this.call.on("status", resolve));
    this.call.on("error", () => {});  // the status says it
    this.call.on("data", (bytes) => {
      const message = fromBinary(SubscribeTopicEventsResponseAlpha1Schema, bytes).subscribeTopicEventsResponseType;
      this.received.push(message);
      this.waiters.splice(0).forEach((wake) => wake());
    });
  }
  send(type) { this.call.write(Buffer.from(toBinary(SubscribeTopicEventsRequestAlpha1Schema,
    create(SubscribeTopicEventsRequestAlpha1Schema, { subscribeTopicEventsRequestType: type })))); }
  subscribe(pubsubName, topic, extra = {}) { this.send({ case: "initialRequest", value: { pubsubName, topic, ...extra } }); }
  ack(id, status) { this.send({ case: "eventProcessed", value: { id, status: { status } } }); }
  // The received messages after the first `from`, once there are n of them.
  async events(n, from = 0) {
    const events = () => this.received.filter((m) => m.case === "eventMessage").slice(from);
    while (events().length < n) {
      await within(8000, new Promise((resolve) => this.waiters.push(resolve)), `${n} events`);
    }
    return events().map((m) => m.value);
  }
  async initialResponse() {
    while (!this.received.some((m) => m.case === "initialResponse")) {
      await within(8000, new Promise((resolve) => this.waiters.push(resolve)), "initial_response");
    }
  }
  async close() {
    this.call.end();
    const status = await within(8000, this.status, "end of the stream");
    this.client.close();
    return status;
  }
}

const dataOf = (event) => JSON.parse(Buffer.from(event.data).toString());

async function subscriptionTypes(daprd, topic) {
  const metadata = await (await fetch(`${daprd.httpUrl}/v1.0/metadata`)).json();
  return (metadata.subscriptions ?? []).filter((s) => s.topic === topic).map((s) => s.type);
}

describe("streaming subscriptions", () => {
  let daprd;

  before(async () => {
    daprd = new Daprd({
      components: [
        { name: "events", type: "pubsub.in-memory", metadata: { redeliverInterval: "100ms" } },
        { name: "durable", type: "pubsub.sqlite",
          metadata: { connectionString: `${tempDir("stream")}/pubsub.db`, redeliverInterval: "100ms" } },
      ],
    });
    await daprd.start();
  }, HOOK);

  after(async () => { await daprd?.stop(); }, HOOK);

  for (const client of PROTOCOLS) {
    test(`published over ${client.name}: events come on the stream, RETRY has one sent again, then SUCCESS acks it`, T, async () => {
      const topic = `s-${client.name}-${uid(4)}`;
      const stream = new Stream(daprd);
      stream.subscribe("events", topic);
      await stream.initialResponse();
      assert.deepEqual(await subscriptionTypes(daprd, topic), ["STREAMING"]);
      const publisher = makeClient(daprd, client.name);
      for (const n of [1, 2, 3]) await publisher.pubsub.publish("events", topic, { n });
      const first = await stream.events(3);
      assert.deepEqual(first.map(dataOf).map((d) => d.n).sort(), [1, 2, 3]);
      assert.ok(first.every((e) => e.topic === topic && e.pubsubName === "events" && e.specVersion === "1.0"));
      const again = first.find((e) => dataOf(e).n === 2);
      for (const event of first) stream.ack(event.id, event === again ? RETRY : SUCCESS);
      const [redelivered] = await stream.events(1, 3);
      assert.equal(redelivered.id, again.id);
      stream.ack(redelivered.id, SUCCESS);
      await new Promise((resolve) => setTimeout(resolve, 400));  // several redelivery intervals
      assert.equal((await stream.events(0)).length, 4, "acked: nothing sent again");
      assert.equal((await stream.close()).code, grpc.status.OK);
      await waitFor(async () => (await subscriptionTypes(daprd, topic)).length === 0, { what: "the subscription gone" });
    });
  }

  test("events not acked when the stream ends go to the next stream of the topic", T, async () => {
    const topic = `durable-${uid(4)}`;
    const first = new Stream(daprd);
    first.subscribe("durable", topic);
    await first.initialResponse();
    await makeClient(daprd, "grpc").pubsub.publish("durable", topic, { kept: true });
    const [event] = await first.events(1);
    await first.close();  // without an answer
    await waitFor(async () => (await subscriptionTypes(daprd, topic)).length === 0, { what: "the first stream gone" });
    const second = new Stream(daprd);
    second.subscribe("durable", topic);
    const [again] = await second.events(1);
    assert.equal(again.id, event.id);
    assert.deepEqual(dataOf(again), { kept: true });
    second.ack(again.id, SUCCESS);
    await second.close();
  });

  test("DROP with a dead-letter topic sends the event there", T, async () => {
    const topic = `drop-${uid(4)}`;
    const dlq = new Stream(daprd);
    dlq.subscribe("events", `${topic}-dlq`);
    await dlq.initialResponse();
    const stream = new Stream(daprd);
    stream.subscribe("events", topic, { deadLetterTopic: `${topic}-dlq` });
    await stream.initialResponse();
    await makeClient(daprd, "http").pubsub.publish("events", topic, { poison: 1 });
    const [event] = await stream.events(1);
    stream.ack(event.id, DROP);
    const [dead] = await dlq.events(1);
    assert.equal(dead.id, event.id);
    dlq.ack(dead.id, SUCCESS);
    await stream.close();
    await dlq.close();
  });

  test("a second stream for a topic already subscribed is refused, the first goes on", T, async () => {
    const topic = `dup-${uid(4)}`;
    const first = new Stream(daprd);
    first.subscribe("events", topic);
    await first.initialResponse();
    const second = new Stream(daprd);
    second.subscribe("events", topic);
    const status = await within(8000, second.status, "the refusal");
    assert.equal(status.code, grpc.status.ALREADY_EXISTS, status.details);
    await makeClient(daprd, "http").pubsub.publish("events", topic, { still: "here" });
    const [event] = await first.events(1);
    first.ack(event.id, SUCCESS);
    assert.equal((await first.close()).code, grpc.status.OK);
  });

  test("bad first messages end the stream with a clear error", T, async () => {
    const cases = [
      [(s) => s.ack("x", SUCCESS), grpc.status.INVALID_ARGUMENT, /initial_request/],
      [(s) => s.subscribe("", "t"), grpc.status.INVALID_ARGUMENT, /pubsub name/],
      [(s) => s.subscribe("events", ""), grpc.status.INVALID_ARGUMENT, /topic/],
      [(s) => s.subscribe("nope", "t"), grpc.status.NOT_FOUND, /nope/],
      [(s) => s.call.write(Buffer.from([0xff, 0xff, 0xff])), grpc.status.INVALID_ARGUMENT, /parse/],
    ];
    for (const [send, code, message] of cases) {
      const stream = new Stream(daprd);
      send(stream);
      const status = await within(8000, stream.status, "the error");
      stream.client.close();
      assert.equal(status.code, code, status.details);
      assert.match(status.details, message);
    }
    assert.equal(daprd.exit, null, "daprd still runs");
  });
});
