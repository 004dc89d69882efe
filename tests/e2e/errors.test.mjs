// Error statuses and bodies of the state API: plain HTTP (status + {"errorCode","message"}) and
// gRPC through the SDK (status code, ErrorInfo reason) for the same mistakes.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { PROTOCOLS, T, makeClient, uid, useDaprd, within } from "./lib/daprd.mjs";
import {
  GrpcCode,
  errorInfo,
  expectDaprError,
  expectGrpcError,
  expectSdkHttpError,
  expectStatus,
  grpcErrorInfoReason,
  req,
} from "./lib/http.mjs";

const STORE = "statestore";
const MAX_MB = 1;

/**
 * POST with node's http client (what the SDK's HTTP client is built on). Resolves with the response
 * even if writing the rest of the body then fails; rejects only when no response arrived at all.
 */
function postRaw(daprd, path, body, timeoutMs = 15_000) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(body);
    const r = http.request(
      {
        host: "127.0.0.1",
        port: daprd.httpPort,
        method: "POST",
        path,
        headers: { "content-type": "application/json", "content-length": data.length },
        timeout: timeoutMs,
      },
      (res) => {
        let text = "";
        res.on("data", (c) => (text += c));
        res.on("end", () => resolve({ status: res.statusCode, text }));
        res.on("error", () => resolve({ status: res.statusCode, text }));
      },
    );
    r.on("timeout", () => r.destroy(new Error(`no response within ${timeoutMs} ms`)));
    r.on("error", reject);
    r.end(data);
  });
}

describe("state errors over plain HTTP", { timeout: 120_000 }, () => {
  const daprd = useDaprd({
    components: [{ name: STORE, type: "state.in-memory" }],
    maxRequestSizeMb: MAX_MB,
  });

  describe("unknown store: 400 ERR_STATE_STORE_NOT_FOUND", () => {
    const cases = [
      ["GET", "/v1.0/state/nope/k", undefined],
      ["POST", "/v1.0/state/nope", [{ key: "k", value: 1 }]],
      ["DELETE", "/v1.0/state/nope/k", undefined],
      ["POST", "/v1.0/state/nope/bulk", { keys: ["k"] }],
      ["POST", "/v1.0/state/nope/transaction", { operations: [{ operation: "upsert", request: { key: "k", value: 1 } }] }],
      ["POST", "/v1.0-alpha1/state/nope/query", { filter: { EQ: { a: "b" } } }],
    ];
    for (const [method, path, json] of cases) {
      test(`${method} ${path}`, T, async () => {
        const res = await req(daprd, method, path, { json });
        expectDaprError(res, 400, "ERR_STATE_STORE_NOT_FOUND", { messageIncludes: "state store nope is not found" });
      });
    }

    // Dapr looks the store up before it reads the body, so even an empty request is refused.
    for (const [path, json] of [
      ["/v1.0/state/nope", []],
      ["/v1.0/state/nope/bulk", { keys: [] }],
      ["/v1.0/state/nope/transaction", { operations: [] }],
    ]) {
      test(`POST ${path} with an empty ${JSON.stringify(json)} body`, T, async () => {
        const res = await req(daprd, "POST", path, { json });
        expectDaprError(res, 400, "ERR_STATE_STORE_NOT_FOUND");
      });
    }

    test("the body carries ErrorInfo{reason: DAPR_STATE_NOT_FOUND, domain: dapr.io}", T, async () => {
      const res = await req(daprd, "GET", "/v1.0/state/nope/k");
      const body = expectDaprError(res, 400, "ERR_STATE_STORE_NOT_FOUND");
      const info = errorInfo(body);
      assert.ok(info, `details must contain a google.rpc.ErrorInfo\n${res.describe()}`);
      assert.equal(info.reason, "DAPR_STATE_NOT_FOUND", res.describe());
      assert.equal(info.domain, "dapr.io", res.describe());
      // pkg/api/errors/state.go NotFound: metadata {"appID": <id>} and no ResourceInfo (skipResourceInfo).
      assert.deepEqual(info.metadata, { appID: daprd.appId }, `ErrorInfo.metadata\n${res.describe()}`);
      const ri = body.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.ResourceInfo");
      assert.equal(ri, undefined, `Dapr sends no ResourceInfo for a missing store\n${res.describe()}`);
    });
  });

  describe("malformed JSON: 400 ERR_MALFORMED_REQUEST", () => {
    for (const path of [`/v1.0/state/${STORE}`, `/v1.0/state/${STORE}/bulk`, `/v1.0/state/${STORE}/transaction`]) {
      test(`POST ${path}`, T, async () => {
        const res = await req(daprd, "POST", path, { body: '[{"key": "k", "value": ', headers: { "content-type": "application/json" } });
        expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
      });
    }

    test("save body that is an object instead of an array", T, async () => {
      const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: { key: "k", value: 1 } });
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
  });

  test("save with an empty key: 400 ERR_MALFORMED_REQUEST", T, async () => {
    const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key: "", value: 1 }] });
    expectDaprError(res, 400, "ERR_MALFORMED_REQUEST", { messageIncludes: "key" });
  });

  test('save without a "key" field: 400 ERR_MALFORMED_REQUEST', T, async () => {
    const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ value: 1 }] });
    expectDaprError(res, 400, "ERR_MALFORMED_REQUEST", { messageIncludes: "key" });
  });

  test("a failed item leaves nothing half-saved: second item without key rejects the whole request", T, async () => {
    const key = `half-${uid()}`;
    const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: 1 }, { value: 2 }] });
    expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    expectStatus(await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`), 204, "first item must not have been saved");
  });

  describe('key containing "||": 400 ERR_MALFORMED_REQUEST', () => {
    test("save", T, async () => {
      const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key: "a||b", value: 1 }] });
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("get", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/state/${STORE}/a||b`);
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("get with the key URL-encoded", T, async () => {
      const res = await req(daprd, "GET", `/v1.0/state/${STORE}/${encodeURIComponent("a||b")}`);
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("delete", T, async () => {
      const res = await req(daprd, "DELETE", `/v1.0/state/${STORE}/a||b`);
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("bulk get", T, async () => {
      const res = await req(daprd, "POST", `/v1.0/state/${STORE}/bulk`, { json: { keys: ["fine", "a||b"] } });
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("transaction upsert", T, async () => {
      const res = await req(daprd, "POST", `/v1.0/state/${STORE}/transaction`, {
        json: { operations: [{ operation: "upsert", request: { key: "a||b", value: 1 } }] },
      });
      expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
    });
    test("the body carries ErrorInfo reason DAPR_STATE_ILLEGAL_KEY and a field violation", T, async () => {
      const res = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key: "a||b", value: 1 }] });
      const body = expectDaprError(res, 400, "ERR_MALFORMED_REQUEST");
      assert.equal(errorInfo(body)?.reason, "DAPR_STATE_ILLEGAL_KEY", res.describe());
      const bad = body.details.find((d) => d["@type"] === "type.googleapis.com/google.rpc.BadRequest");
      assert.ok(bad, `details must contain a google.rpc.BadRequest\n${res.describe()}`);
      assert.equal(bad.field_violations?.[0]?.field, "a||b", res.describe());
    });
  });

  test("transaction with an unknown operation: 400 ERR_NOT_SUPPORTED_STATE_OPERATION, nothing applied", T, async () => {
    const key = `txu-${uid()}`;
    const res = await req(daprd, "POST", `/v1.0/state/${STORE}/transaction`, {
      json: {
        operations: [
          { operation: "upsert", request: { key, value: 1 } },
          { operation: "frobnicate", request: { key: "x" } },
        ],
      },
    });
    expectDaprError(res, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION");
    expectStatus(await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`), 204, "the valid upsert must not have been applied");
  });

  test("empty transaction and empty save array: 204", T, async () => {
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}/transaction`, { json: { operations: [] } }), 204);
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [] }), 204);
  });

  test(`a body over --dapr-http-max-request-size ${MAX_MB} MB: 4xx, then the sidecar still serves`, T, async () => {
    const key = `big-${uid()}`;
    const res = await postRaw(daprd, `/v1.0/state/${STORE}`, JSON.stringify([{ key, value: "x".repeat(2 * 1024 * 1024) }]));
    assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx status, got ${res.status}: ${res.text}`);
    expectStatus(await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`), 204, "the oversized value must not be stored");
    const small = `small-${uid()}`;
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key: small, value: "ok" }] }), 204);
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${small}`);
    expectStatus(got, 200);
    expectStatus(await req(daprd, "GET", "/v1.0/healthz"), 204);
  });

  // A server that answers before reading the whole body must not reset the connection under the
  // client's feet (Go's net/http half-closes and drains for a while: "rstAvoidanceDelay"), or the
  // client loses the answer and sees EPIPE/ECONNRESET instead. Repeat to catch the race.
  test("oversized bodies always get their 4xx answer (no reset before the client reads it)", { timeout: 60_000 }, async () => {
    const outcomes = [];
    for (const mb of [2, 2, 2, 8, 8, 8, 8, 8]) {
      const body = JSON.stringify([{ key: `big-${uid()}`, value: "x".repeat(mb * 1024 * 1024) }]);
      try {
        const res = await postRaw(daprd, `/v1.0/state/${STORE}`, body);
        outcomes.push(`${mb} MB: ${res.status}`);
      } catch (e) {
        outcomes.push(`${mb} MB: no response (${e.code ?? e.message})`);
      }
    }
    assert.ok(outcomes.every((o) => / 4\d\d$/.test(o)), `every oversized request must get a 4xx: ${outcomes.join("; ")}`);
  });

  test("a body just under the limit is accepted", T, async () => {
    const key = `under-${uid()}`;
    const value = "y".repeat(512 * 1024);
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value }] }), 204);
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`);
    expectStatus(got, 200);
    assert.equal(got.json, value, "value round-trips");
  });
});

describe("no state store configured at all", { timeout: 60_000 }, () => {
  // An empty resources folder: no components, and no embedded default store.
  const daprd = useDaprd({ components: [] });

  for (const [method, path, json] of [
    ["GET", "/v1.0/state/statestore/k", undefined],
    ["POST", "/v1.0/state/statestore", [{ key: "k", value: 1 }]],
    ["DELETE", "/v1.0/state/statestore/k", undefined],
    ["POST", "/v1.0/state/statestore/bulk", { keys: ["k"] }],
    ["POST", "/v1.0/state/statestore/transaction", { operations: [] }],
    ["POST", "/v1.0/state/statestore", []],
    ["POST", "/v1.0/state/statestore/bulk", { keys: [] }],
  ]) {
    test(`${method} ${path} ${JSON.stringify(json) ?? ""}: 500 ERR_STATE_STORE_NOT_CONFIGURED`, T, async () => {
      const res = await req(daprd, method, path, { json });
      const body = expectDaprError(res, 500, "ERR_STATE_STORE_NOT_CONFIGURED");
      assert.equal(errorInfo(body)?.reason, "DAPR_STATE_NOT_CONFIGURED", res.describe());
    });
  }

  test("ERR_STATE_STORE_NOT_CONFIGURED details: ErrorInfo metadata {appID}", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/state/statestore/k");
    const body = expectDaprError(res, 500, "ERR_STATE_STORE_NOT_CONFIGURED", { messageIncludes: "is not configured" });
    assert.deepEqual(errorInfo(body)?.metadata, { appID: daprd.appId }, res.describe());
  });

  test("metadata lists no state store", T, async () => {
    const res = await req(daprd, "GET", "/v1.0/metadata");
    expectStatus(res, 200);
    const states = (res.json?.components ?? []).filter((c) => String(c.type).startsWith("state."));
    assert.deepEqual(states, [], res.describe());
  });

  test("gRPC GetState: FailedPrecondition", T, async () => {
    const client = makeClient(daprd, "grpc");
    await within(15_000, client.start(), "client.start()");
    await expectGrpcError(client.state.get("statestore", "k"), GrpcCode.FailedPrecondition, {
      what: "GetState",
      messageIncludes: "is not configured",
    });
  });

  test("gRPC GetState: the status carries ErrorInfo reason DAPR_STATE_NOT_CONFIGURED", T, async () => {
    const client = makeClient(daprd, "grpc");
    await within(15_000, client.start(), "client.start()");
    const err = await expectGrpcError(client.state.get("statestore", "k"), GrpcCode.FailedPrecondition, { what: "GetState" });
    assert.equal(grpcErrorInfoReason(err), "DAPR_STATE_NOT_CONFIGURED", `details: ${JSON.stringify(err.details)}`);
  });
});

for (const p of PROTOCOLS) {
  describe(`state errors through the SDK over ${p.name}`, { timeout: 120_000 }, () => {
    const daprd = useDaprd({ components: [{ name: STORE, type: "state.in-memory" }], maxRequestSizeMb: MAX_MB });
    let client;
    before(async () => {
      client = makeClient(daprd, p.protocol, { maxBodySizeMb: 8 });
      await within(15_000, client.start(), "client.start()");
    });
    after(async () => client?.stop());

    if (p.name === "http") {
      test("get from an unknown store: 400 ERR_STATE_STORE_NOT_FOUND", T, async () => {
        await expectSdkHttpError(client.state.get("nope", "k"), 400, "ERR_STATE_STORE_NOT_FOUND", "get");
      });
      test("save to an unknown store: 400 ERR_STATE_STORE_NOT_FOUND (SDK resolves to {error})", T, async () => {
        await expectSdkHttpError(client.state.save("nope", [{ key: "k", value: 1 }]), 400, "ERR_STATE_STORE_NOT_FOUND", "save");
      });
      test('get of a key with "||": 400 ERR_MALFORMED_REQUEST', T, async () => {
        await expectSdkHttpError(client.state.get(STORE, "a||b"), 400, "ERR_MALFORMED_REQUEST", "get");
      });
      test("transaction with an unknown operation: 400 ERR_NOT_SUPPORTED_STATE_OPERATION", T, async () => {
        await expectSdkHttpError(
          client.state.transaction(STORE, [{ operation: "frobnicate", request: { key: "k" } }]),
          400,
          "ERR_NOT_SUPPORTED_STATE_OPERATION",
          "transaction",
        );
      });
    } else {
      const unknownStoreCalls = () => ({
          GetState: () => client.state.get("nope", "k"),
          SaveState: () => client.state.save("nope", [{ key: "k", value: 1 }]),
          DeleteState: () => client.state.delete("nope", "k"),
          GetBulkState: () => client.state.getBulk("nope", ["k"]),
          ExecuteStateTransaction: () => client.state.transaction("nope", [{ operation: "upsert", request: { key: "k", value: "1" } }]),
          QueryStateAlpha1: () => client.state.query("nope", { filter: { EQ: { a: "b" } } }),
      });
      test("unknown store: InvalidArgument on every call", T, async () => {
        for (const [what, call] of Object.entries(unknownStoreCalls())) {
          await expectGrpcError(call(), GrpcCode.InvalidArgument, { what, messageIncludes: "state store nope is not found" });
        }
      });
      test("unknown store: the status carries ErrorInfo reason DAPR_STATE_NOT_FOUND", T, async () => {
        for (const [what, call] of Object.entries(unknownStoreCalls())) {
          const err = await expectGrpcError(call(), GrpcCode.InvalidArgument, { what });
          assert.equal(grpcErrorInfoReason(err), "DAPR_STATE_NOT_FOUND", `${what} details: ${JSON.stringify(err.details)}`);
        }
      });
      test("SaveState with no items to an unknown store: InvalidArgument", T, async () => {
        await expectGrpcError(client.state.save("nope", []), GrpcCode.InvalidArgument, { what: "SaveState([])" });
      });
      test("save with an empty key: InvalidArgument", T, async () => {
        await expectGrpcError(client.state.save(STORE, [{ key: "", value: 1 }]), GrpcCode.InvalidArgument, { what: "SaveState" });
      });
      const illegalKeyCalls = () => ({
        GetState: () => client.state.get(STORE, "a||b"),
        SaveState: () => client.state.save(STORE, [{ key: "a||b", value: 1 }]),
        DeleteState: () => client.state.delete(STORE, "a||b"),
        GetBulkState: () => client.state.getBulk(STORE, ["ok", "a||b"]),
      });
      test('key with "||": InvalidArgument', T, async () => {
        for (const [what, call] of Object.entries(illegalKeyCalls())) {
          await expectGrpcError(call(), GrpcCode.InvalidArgument, { what });
        }
      });
      test('key with "||": the status carries ErrorInfo reason DAPR_STATE_ILLEGAL_KEY', T, async () => {
        for (const [what, call] of Object.entries(illegalKeyCalls())) {
          const err = await expectGrpcError(call(), GrpcCode.InvalidArgument, { what });
          assert.equal(grpcErrorInfoReason(err), "DAPR_STATE_ILLEGAL_KEY", `${what} details: ${JSON.stringify(err.details)}`);
        }
      });
      test("transaction with an unknown operation: Unimplemented", T, async () => {
        await expectGrpcError(
          client.state.transaction(STORE, [{ operation: "frobnicate", request: { key: "k", value: "v" } }]),
          GrpcCode.Unimplemented,
          { what: "ExecuteStateTransaction" },
        );
      });
      test(`a message over the ${MAX_MB} MB limit: ResourceExhausted, then the sidecar still serves`, T, async () => {
        const key = `big-${uid()}`;
        await expectGrpcError(
          client.state.save(STORE, [{ key, value: "x".repeat(2 * 1024 * 1024) }]),
          GrpcCode.ResourceExhausted,
          { what: "SaveState (2 MB)" },
        );
        await client.state.save(STORE, [{ key, value: "small" }]);
        assert.equal(await client.state.get(STORE, key), "small");
      });
    }
  });
}
