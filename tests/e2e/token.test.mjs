// DAPR_API_TOKEN on daprd: every API call needs the dapr-api-token header/metadata, except healthz.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PROTOCOLS, T, makeClient, uid, useDaprd, within } from "./lib/daprd.mjs";
import { GrpcCode, expectGrpcError, expectStatus, req } from "./lib/http.mjs";

const STORE = "statestore";
const TOKEN = `tok-${uid(8)}`;

describe("API token", { timeout: 180_000 }, () => {
  const daprd = useDaprd({ components: [{ name: STORE, type: "state.in-memory" }], apiToken: TOKEN });

  describe("plain HTTP", () => {
    const guarded = [
      ["GET", `/v1.0/state/${STORE}/k`, undefined],
      ["POST", `/v1.0/state/${STORE}`, [{ key: "k", value: 1 }]],
      ["GET", "/v1.0/metadata", undefined],
      ["PUT", "/v1.0/metadata/x", "y"],
      ["POST", "/v1.0/shutdown", undefined],
    ];
    for (const [method, path, body] of guarded) {
      test(`${method} ${path} without a token: 401 "invalid api token"`, T, async () => {
        const res = await req(daprd, method, path, typeof body === "string" ? { body } : { json: body });
        expectStatus(res, 401);
        assert.match(res.text, /invalid api token/, res.describe());
      });
    }

    test("a wrong token: 401", T, async () => {
      const res = await req(daprd, "GET", "/v1.0/metadata", { headers: { "dapr-api-token": `${TOKEN}x` } });
      expectStatus(res, 401);
    });

    test("healthz and healthz/outbound need no token: 204", T, async () => {
      expectStatus(await req(daprd, "GET", "/v1.0/healthz"), 204);
      expectStatus(await req(daprd, "GET", "/v1.0/healthz/outbound"), 204);
    });

    test("the sidecar is still up after the refused shutdown", T, async () => {
      await req(daprd, "POST", "/v1.0/shutdown");
      expectStatus(await req(daprd, "GET", "/v1.0/healthz"), 204);
      assert.equal(daprd.exit, null, "daprd exited although the shutdown call had no token");
    });

    test("the right token works: save 204, get 200, metadata 200", T, async () => {
      const h = { "dapr-api-token": TOKEN };
      const key = `t-${uid()}`;
      expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "secret" }], headers: h }), 204);
      const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`, { headers: h });
      expectStatus(got, 200);
      assert.equal(got.json, "secret", got.describe());
      const md = await req(daprd, "GET", "/v1.0/metadata", { headers: h });
      expectStatus(md, 200);
      assert.equal(md.json?.id, daprd.appId, md.describe());
    });
  });

  for (const p of PROTOCOLS) {
    describe(`SDK over ${p.name}`, () => {
      test("with daprApiToken: start, save, get, metadata", T, async () => {
        const client = makeClient(daprd, p.protocol, { token: TOKEN });
        try {
          await within(15_000, client.start(), "client.start()");
          const key = `${p.name}-${uid()}`;
          const r = await client.state.save(STORE, [{ key, value: { ok: true } }]);
          assert.ok(!r?.error, `save failed: ${r?.error?.message}`);
          assert.deepEqual(await client.state.get(STORE, key), { ok: true });
          const m = await client.metadata.get();
          assert.equal(m.id, daprd.appId);
        } finally {
          await client.stop();
        }
      });

      // client.start() would poll for 30 s before giving up; mark the client initialised so the
      // call goes straight to the sidecar and the refusal is what the test sees.
      test("without a token: the call is refused", T, async () => {
        const client = makeClient(daprd, p.protocol);
        client.daprClient.setIsInitialized(true);
        try {
          if (p.name === "grpc") {
            await expectGrpcError(client.state.get(STORE, "k"), GrpcCode.Unauthenticated, { what: "GetState" });
            await expectGrpcError(client.metadata.get(), GrpcCode.Unauthenticated, { what: "GetMetadata" });
          } else {
            let err;
            try {
              await client.state.get(STORE, "k");
            } catch (e) {
              err = e;
            }
            assert.ok(err, "get without a token must fail");
            assert.equal(JSON.parse(err.message).status, 401, err.message);
          }
        } finally {
          await client.stop();
        }
      });

      test("with a wrong token: the call is refused", T, async () => {
        const client = makeClient(daprd, p.protocol, { token: `${TOKEN}-wrong` });
        client.daprClient.setIsInitialized(true);
        try {
          if (p.name === "grpc") {
            await expectGrpcError(client.state.get(STORE, "k"), GrpcCode.Unauthenticated, { what: "GetState" });
          } else {
            let err;
            try {
              await client.state.get(STORE, "k");
            } catch (e) {
              err = e;
            }
            assert.ok(err, "get with a wrong token must fail");
            assert.equal(JSON.parse(err.message).status, 401, err.message);
          }
        } finally {
          await client.stop();
        }
      });
    });
  }
});
