// Metadata, health and shutdown: GET/PUT /v1.0/metadata, the SDK's metadata client over both
// protocols, healthz, and how the process ends (shutdown API, SIGTERM).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { requireEnv } from "./lib/backends.mjs";
import { Daprd, PROTOCOLS, T, freePort, makeClient, sleep, uid, useDaprd, within } from "./lib/daprd.mjs";
import { expectDaprError, expectStatus, req } from "./lib/http.mjs";

const STORE = "statestore";

describe("metadata over plain HTTP", { timeout: 120_000 }, () => {
  const daprd = useDaprd({ components: [{ name: STORE, type: "state.in-memory" }] });

  test("GET /v1.0/metadata: 200 JSON with id, runtimeVersion, components, extended, enabledFeatures, appConnectionProperties", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/metadata");
    expectStatus(res, 200);
    assert.match(res.headers.get("content-type") ?? "", /application\/json/, res.describe());
    const m = res.json;
    assert.ok(m && typeof m === "object", res.describe());
    assert.equal(m.id, daprd.appId, res.describe());
    assert.equal(typeof m.runtimeVersion, "string", res.describe());
    assert.ok(m.runtimeVersion.length > 0, res.describe());
    assert.ok(Array.isArray(m.components), `components must be an array\n${res.describe()}`);
    const c = m.components.find((x) => x.name === STORE);
    assert.ok(c, res.describe());
    assert.equal(c.type, "state.in-memory", res.describe());
    assert.equal(c.version, "v1", res.describe());
    assert.ok(Array.isArray(c.capabilities), `capabilities must be an array\n${res.describe()}`);
    for (const cap of ["ETAG", "TRANSACTIONAL", "TTL"]) assert.ok(c.capabilities.includes(cap), `${cap}\n${res.describe()}`);
    assert.ok(m.extended && typeof m.extended === "object" && !Array.isArray(m.extended), `extended must be an object\n${res.describe()}`);
    assert.equal(m.extended.daprRuntimeVersion, m.runtimeVersion, `extended.daprRuntimeVersion\n${res.describe()}`);
    assert.ok(Array.isArray(m.enabledFeatures), `enabledFeatures must be an array\n${res.describe()}`);
    assert.ok(
      m.appConnectionProperties && typeof m.appConnectionProperties === "object" && !Array.isArray(m.appConnectionProperties),
      `appConnectionProperties must be an object\n${res.describe()}`,
    );
  });

  // Dapr 1.16 lists SchedulerReminders by default; this build has no scheduler yet, so it
  // must not claim the feature (an SDK could rely on it).
  test("enabledFeatures claims no feature this build lacks", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/metadata");
    expectStatus(res, 200);
    assert.ok(!res.json?.enabledFeatures?.includes("SchedulerReminders"), res.describe());
  });

  test("actorRuntime is always present with runtimeStatus and hostReady", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/metadata");
    const ar = res.json?.actorRuntime;
    assert.ok(ar && typeof ar === "object", `actorRuntime missing\n${res.describe()}`);
    assert.ok(["INITIALIZING", "DISABLED", "RUNNING"].includes(ar.runtimeStatus), res.describe());
    assert.equal(typeof ar.hostReady, "boolean", res.describe());
  });

  test("PUT /v1.0/metadata/{key}: 204, value shows up verbatim in extended", T, async () => {
    const key = `k${uid()}`;
    const value = `some value with spaces & "quotes" ${uid()}`;
    const put = await req(daprd, "PUT", `/v1.0/metadata/${key}`, { body: value, headers: { "content-type": "text/plain" } });
    expectStatus(put, 204);
    assert.equal(put.text, "", put.describe());
    const res = await req(daprd, "GET", "/v1.0/metadata");
    assert.equal(res.json?.extended?.[key], value, res.describe());
    const put2 = await req(daprd, "PUT", `/v1.0/metadata/${key}`, { body: "second", headers: { "content-type": "application/json" } });
    expectStatus(put2, 204);
    const res2 = await req(daprd, "GET", "/v1.0/metadata");
    assert.equal(res2.json?.extended?.[key], "second", `a second PUT overwrites\n${res2.describe()}`);
  });

  test("GET /v1.0/healthz: 204 with an empty body", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/healthz");
    expectStatus(res, 204);
    assert.equal(res.text, "", res.describe());
  });

  test("GET /v1.0/healthz/outbound: 204", T, async () => {
    expectStatus(await req(daprd, "GET", "/v1.0/healthz/outbound"), 204);
  });

  test("GET /v1.0/healthz?appid=<other>: 500 ERR_HEALTH_APPID_NOT_MATCH; own id: 204", T, async () => {
    const res = await req(daprd, "GET", `/v1.0/healthz?appid=someone-else`);
    expectDaprError(res, 500, "ERR_HEALTH_APPID_NOT_MATCH");
    expectStatus(await req(daprd, "GET", `/v1.0/healthz?appid=${daprd.appId}`), 204);
  });
});

for (const p of PROTOCOLS) {
  describe(`metadata through the SDK over ${p.name}`, { timeout: 120_000 }, () => {
    const daprd = useDaprd({ components: [{ name: STORE, type: "state.in-memory" }] });
    let client;
    before(() => {
      client = makeClient(daprd, p.protocol);
    });
    after(async () => client?.stop());

    test("client.start() resolves against a running sidecar", T, async () => {
      await within(15_000, client.start(), "client.start()");
      assert.equal(client.getIsInitialized(), true);
    });

    test("client.metadata.get(): id, components with capabilities, extended", T, async () => {
      const m = await within(10_000, client.metadata.get(), "metadata.get()");
      assert.equal(m.id, daprd.appId, JSON.stringify(m));
      const c = (m.components ?? []).find((x) => x.name === STORE);
      assert.ok(c, JSON.stringify(m));
      assert.equal(c.type, "state.in-memory", JSON.stringify(m));
      assert.equal(c.version, "v1", JSON.stringify(m));
      assert.ok(Array.isArray(c.capabilities) && c.capabilities.includes("ETAG"), JSON.stringify(m));
      assert.ok(m.extended && typeof m.extended.daprRuntimeVersion === "string", JSON.stringify(m));
    });

    test("client.metadata.set() then the value is in extended (SDK and plain HTTP)", T, async () => {
      const key = `sdk${uid()}`;
      const value = `v-${p.name}-${uid()}`;
      const ok = await within(10_000, client.metadata.set(key, value), "metadata.set()");
      assert.equal(ok, true, "metadata.set() reported failure");
      const m = await client.metadata.get();
      assert.equal(m.extended?.[key], value, JSON.stringify(m.extended));
      const res = await req(daprd, "GET", "/v1.0/metadata");
      assert.equal(res.json?.extended?.[key], value, res.describe());
    });
  });

  describe(`client.start() over ${p.name} waits for a sidecar that comes up later`, { timeout: 60_000 }, () => {
    let d;
    after(async () => d?.stop());
    test("start() polls until daprd answers", { timeout: 40_000 }, async () => {
      const httpPort = await freePort();
      const grpcPort = await freePort();
      const client = makeClient({ httpPort, grpcPort }, p.protocol);
      const started = client.start();
      started.catch(() => {}); // awaited below; keeps a failed start from surfacing as unhandled
      await sleep(1500);
      assert.equal(client.getIsInitialized(), false, "client must not be initialized before the sidecar exists");
      d = new Daprd({ components: [{ name: STORE, type: "state.in-memory" }], httpPort, grpcPort });
      await d.start();
      await within(20_000, started, "client.start()");
      assert.equal(client.getIsInitialized(), true);
      const m = await client.metadata.get();
      assert.equal(m.id, d.appId);
      await client.stop();
    });
  });
}

test("DAPR_TEST_REDIS_ADDR is set for the actorStateStore suite", () => {
  requireEnv("DAPR_TEST_REDIS_ADDR");
});

describe("redis with actorStateStore: true declares ACTOR", { timeout: 60_000 }, () => {
  const daprd = useDaprd(() => ({
    components: [
      { name: "actorstore", type: "state.redis", metadata: { redisHost: requireEnv("DAPR_TEST_REDIS_ADDR"), actorStateStore: "true" } },
    ],
  }));
  test("capabilities include ACTOR", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/metadata");
    const c = (res.json?.components ?? []).find((x) => x.name === "actorstore");
    assert.ok(c, res.describe());
    for (const cap of ["ETAG", "TRANSACTIONAL", "ACTOR"]) assert.ok(c.capabilities?.includes(cap), `${cap}\n${res.describe()}`);
  });
});

describe("shutdown", { timeout: 120_000 }, () => {
  const started = [];
  after(async () => {
    for (const d of started) await d.stop();
  });
  async function fresh() {
    const d = new Daprd({ components: [{ name: STORE, type: "state.in-memory" }] });
    started.push(d);
    await d.start();
    return d;
  }

  test("POST /v1.0/shutdown: 204, then the process exits with code 0", T, async () => {
    const d = await fresh();
    const res = await req(d, "POST", "/v1.0/shutdown");
    expectStatus(res, 204);
    const exit = await d.waitExit(10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status\n--- daprd output ---\n${d.logs()}`);
  });

  test("SDK sidecar.shutdown() over gRPC: the process exits with code 0", T, async () => {
    const d = await fresh();
    const client = makeClient(d, "grpc");
    await within(15_000, client.start(), "client.start()");
    await within(10_000, client.sidecar.shutdown(), "sidecar.shutdown()");
    const exit = await d.waitExit(10_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status\n--- daprd output ---\n${d.logs()}`);
  });

  test("SIGTERM: the process exits with code 0", T, async () => {
    const d = await fresh();
    d.proc.kill("SIGTERM");
    const exit = await d.waitExit(8_000);
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status\n--- daprd output ---\n${d.logs()}`);
  });

  test("after shutdown the ports are closed", T, async () => {
    const d = await fresh();
    expectStatus(await req(d, "POST", "/v1.0/shutdown"), 204);
    await d.waitExit(10_000);
    await assert.rejects(
      fetch(`${d.httpUrl}/v1.0/healthz`, { signal: AbortSignal.timeout(2000) }),
      "the HTTP port must not answer after exit",
    );
  });
});
