// A Redis that goes away and comes back: daprd must report the failures as Dapr errors within a
// few seconds, keep answering healthz, and recover by itself once Redis is back on the same port.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { T, freePort, makeClient, tempDir, uid, useDaprd, waitFor, within } from "./lib/daprd.mjs";
import { GrpcCode, expectDaprError, expectGrpcError, expectStatus, req } from "./lib/http.mjs";

const STORE = "statestore";

class RedisServer {
  constructor(port) {
    this.port = port;
    this.dir = tempDir("redis");
    this.log = [];
  }
  async start() {
    this.exited = false;
    this.proc = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.dir],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.proc.stdout.on("data", (c) => this.log.push(c.toString()));
    this.proc.stderr.on("data", (c) => this.log.push(c.toString()));
    this.exitPromise = new Promise((resolve) => this.proc.on("exit", () => ((this.exited = true), resolve())));
    await waitFor(() => this.exited || this.log.join("").includes("Ready to accept connections"), {
      ms: 10_000,
      what: `redis-server on port ${this.port} ready`,
    });
    if (this.exited) throw new Error(`redis-server exited at start:\n${this.log.join("")}`);
  }
  async kill() {
    if (this.proc && !this.exited) {
      this.proc.kill("SIGKILL");
      await within(5000, this.exitPromise, "redis-server exit");
    }
  }
}

describe("redis outage", { timeout: 180_000 }, () => {
  let redis;
  before(async () => {
    redis = new RedisServer(await freePort());
    await redis.start();
  });
  after(async () => {
    await redis?.kill();
    if (redis && !process.env.DAPR_E2E_KEEP_TMP) rmSync(redis.dir, { recursive: true, force: true });
  });
  const daprd = useDaprd(() => ({
    components: [{ name: STORE, type: "state.redis", metadata: { redisHost: `127.0.0.1:${redis.port}` } }],
  }));
  const key = `outage-${uid()}`;
  let grpc;
  before(async () => {
    grpc = makeClient(daprd, "grpc");
    await within(15_000, grpc.start(), "client.start()");
  });

  test("save and get work while redis is up", T, async () => {
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "before" }] }), 204);
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`);
    expectStatus(got, 200);
    assert.equal(got.json, "before", got.describe());
  });

  test("redis killed: save 500 ERR_STATE_SAVE and get 500 ERR_STATE_GET within a few seconds", T, async () => {
    await redis.kill();
    const t0 = Date.now();
    let res;
    try {
      res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "during" }], timeoutMs: 10_000 });
    } catch (e) {
      assert.fail(`save got no answer within 10 s while redis is down: ${e.message}`);
    }
    expectDaprError(res, 500, "ERR_STATE_SAVE");
    let got;
    try {
      got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`, { timeoutMs: 10_000 });
    } catch (e) {
      assert.fail(`get got no answer within 10 s while redis is down: ${e.message}`);
    }
    expectDaprError(got, 500, "ERR_STATE_GET");
    assert.ok(Date.now() - t0 < 12_000, `both failures took ${Date.now() - t0} ms`);
  });

  test("gRPC GetState while redis is down: Internal", T, async () => {
    await expectGrpcError(within(10_000, grpc.state.get(STORE, key), "GetState"), GrpcCode.Internal, { what: "GetState" });
  });

  test("daprd keeps answering healthz and metadata while redis is down", T, async () => {
    expectStatus(await req(daprd, "GET", "/v1.0/healthz"), 204);
    expectStatus(await req(daprd, "GET", "/v1.0/metadata"), 200);
    assert.equal(daprd.exit, null, "daprd exited");
  });

  test("redis back on the same port: save and get succeed again without restarting daprd", { timeout: 45_000 }, async () => {
    const pid = daprd.proc.pid;
    await redis.start();
    await waitFor(
      async () => {
        const r = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "after" }], timeoutMs: 10_000 });
        return r.status === 204 ? r : false;
      },
      { ms: 20_000, every: 250, what: "save succeeds after redis restart" },
    );
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`);
    expectStatus(got, 200);
    assert.equal(got.json, "after", got.describe());
    assert.equal(await within(10_000, grpc.state.get(STORE, key), "GetState"), "after");
    assert.equal(daprd.proc.pid, pid);
    assert.equal(daprd.exit, null, "daprd must not have exited");
  });
});

