// pubsub.redis (Redis Streams) loses nothing: not when Redis restarts (with its append-only
// file on) during a stream of publishes, not when daprd is SIGKILLed with deliveries in
// flight. Counted over real processes: published N, delivered >= N distinct, lost 0.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { after, describe, test } from "node:test";
import { Daprd, freePort, stopApp, tempDir, uid, waitFor, within } from "./lib/daprd.mjs";
import { lostOf, startCountingSubscriber } from "./lib/subscriber.mjs";

// A private redis-server that fsyncs every write, so a SIGKILL loses no acked XADD.
class DurableRedis {
  constructor(port) {
    this.port = port;
    this.dir = tempDir("redis-aof");
  }
  async start() {
    this.exited = false;
    let log = "";
    this.proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "",
      "--appendonly", "yes", "--appendfsync", "always", "--dir", this.dir], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout.on("data", (c) => { log += c; });
    this.exitPromise = new Promise((resolve) => this.proc.on("exit", () => ((this.exited = true), resolve())));
    await waitFor(() => this.exited || log.includes("Ready to accept connections"), { ms: 10_000, what: "redis ready" });
    if (this.exited) throw new Error(`redis-server exited at start:\n${log}`);
  }
  async kill() {
    if (this.proc && !this.exited) {
      this.proc.kill("SIGKILL");
      await within(5000, this.exitPromise, "redis-server exit");
    }
  }
}

async function publish(daprd, topic, n) {
  try {
    const res = await fetch(`${daprd.httpUrl}/v1.0/publish/pubsub/${topic}`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ n }),
      signal: AbortSignal.timeout(5000),
    });
    const body = await res.text();
    return { status: res.status, errorCode: body ? JSON.parse(body).errorCode : undefined };
  } catch {
    return { status: 0 };
  }
}

describe("pubsub.redis at least once", { timeout: 180_000 }, () => {
  const cleanup = [];
  after(async () => { for (const fn of cleanup.reverse()) await fn(); });

  async function setUp(topic) {
    const redis = new DurableRedis(await freePort());
    await redis.start();
    cleanup.push(async () => { await redis.kill(); rmSync(redis.dir, { recursive: true, force: true }); });
    const appPort = await freePort();
    const app = await startCountingSubscriber(appPort, { topic });
    cleanup.push(() => stopApp(app.server));
    const opts = {
      appId: `psredis-${uid(4)}`,
      args: ["--app-port", String(appPort)],
      components: [{ name: "pubsub", type: "pubsub.redis", metadata: {
        redisHost: `127.0.0.1:${redis.port}`, processingTimeout: "1s", redeliverInterval: "500ms" } }],
    };
    return { redis, app, opts };
  }

  test("a Redis restart during a stream of publishes loses no acked publish", async () => {
    const { redis, app, opts } = await setUp("orders");
    const daprd = new Daprd(opts);
    cleanup.push(() => daprd.stop());
    await daprd.start();
    const acked = new Set();
    let refused = 0;
    const codes = new Set();
    for (let n = 0; acked.size < 300; n++) {
      if (n === 100) {
        await redis.kill();
        setTimeout(() => redis.start(), 500);  // back while publishes keep coming
      }
      const { status, errorCode } = await publish(daprd, "orders", n);
      if (status === 204) acked.add(n);
      else (refused++, codes.add(`${status} ${errorCode}`));
      assert.ok(n < 5000, "publishes never recovered");
    }
    assert.ok(refused > 0, "the restart was seen by publishers (some publishes refused)");
    // A dead broker is Dapr's publish error, never a silent drop; the sidecar stays healthy.
    assert.deepEqual([...codes], ["500 ERR_PUBSUB_PUBLISH_MESSAGE"]);
    assert.equal((await fetch(`${daprd.httpUrl}/v1.0/healthz`)).status, 204);
    await waitFor(() => lostOf(acked, app.state) === 0, { ms: 30_000, every: 200, what: "every acked publish delivered" });
    console.log(`redis restart: published ${acked.size} acked (${refused} refused while down), ` +
                `delivered ${app.state.seen.size} distinct, lost ${lostOf(acked, app.state)}`);
  });

  test("a SIGKILL of daprd with deliveries in flight loses nothing", async () => {
    const { app, opts } = await setUp("inflight");
    app.state.accepting = false;
    let daprd = new Daprd(opts);
    await daprd.start();
    const N = 200;
    for (let n = 0; n < N; n++) assert.equal((await publish(daprd, "inflight", n)).status, 204);
    await waitFor(() => app.state.attempts > 0, { ms: 5000, what: "a first (failing) delivery" });
    daprd.proc.kill("SIGKILL");
    await daprd.waitExit(5000);
    app.state.accepting = true;
    daprd = new Daprd(opts);
    cleanup.push(() => daprd.stop());
    await daprd.start();
    await waitFor(() => lostOf(Array(N).keys(), app.state) === 0, { ms: 60_000, every: 200, what: `${N} distinct deliveries` });
    console.log(`daprd SIGKILL: published ${N}, delivered ${app.state.seen.size} distinct ` +
                `(${app.state.attempts} attempts), lost ${lostOf(Array(N).keys(), app.state)}`);
  });
});
