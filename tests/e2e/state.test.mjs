// State management through the official JS SDK (HTTP and gRPC) and plain HTTP, on every backend.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { StateConcurrencyEnum } from "@dapr/dapr";
import { BACKENDS, requireEnv } from "./lib/backends.mjs";
import { Daprd, PROTOCOLS, T, makeClient, uid, useDaprd, waitFor, within } from "./lib/daprd.mjs";
import {
  GrpcCode,
  expectDaprError,
  expectGrpcError,
  expectSdkHttpError,
  expectStatus,
  req,
} from "./lib/http.mjs";

const STORE = "statestore";
// A wrong but well-formed ETag is taken from the store itself: the ETag of the previous version of
// the key (see staleEtag), so the tests do not depend on the store's ETag format.
const BAD_ETAG = "not-an-etag"; // neither a number nor a UUID: invalid where the store parses ETags

/** The SDK's HTTP state.save/delete resolve to {error} instead of throwing; make both throw. */
async function ok(promise, what) {
  const r = await within(15_000, promise, what);
  if (r && r.error) {
    throw new Error(`${what} failed: ${r.error.message ?? r.error}`);
  }
  return r;
}

/** Query results over gRPC carry data as bytes; over HTTP as parsed JSON. */
function decodeData(d) {
  if (d instanceof Uint8Array) return JSON.parse(Buffer.from(d).toString("utf8"));
  return d;
}

async function withDaprd(opts, fn) {
  const d = new Daprd(opts);
  await d.start();
  try {
    return await fn(d);
  } finally {
    await d.stop();
  }
}

async function rawGet(d, key, store = STORE) {
  return req(d, "GET", `/v1.0/state/${store}/${encodeURIComponent(key)}`);
}

async function rawSave(d, items, store = STORE) {
  return req(d, "POST", `/v1.0/state/${store}`, { json: items });
}

/**
 * Writes "v0" then "v1" with save(value) and returns the ETag "v0" had: well formed, but stale.
 */
async function staleEtag(d, key, save) {
  await save("v0");
  const e0 = (await rawGet(d, key)).headers.get("etag");
  await save("v1");
  const cur = await rawGet(d, key);
  const e1 = cur.headers.get("etag");
  assert.ok(e0 && e1, `ETag header missing\n${cur.describe()}`);
  assert.notEqual(e0, e1, `ETag must change after a write\n${cur.describe()}`);
  return e0;
}

// A missing backend variable fails here explicitly (the suite's setup fails too, which only
// cancels its tests).
for (const backend of BACKENDS.filter((b) => b.env)) {
  test(`${backend.env} is set for the ${backend.name} suite`, () => {
    requireEnv(backend.env);
  });
}

for (const backend of BACKENDS) {
  describe(`state on ${backend.name}`, { timeout: 600_000 }, () => {
    let inst;
    before(() => {
      inst = backend.create();
    });
    const daprd = useDaprd(() => ({ components: [inst.component(STORE)] }));
    after(() => inst?.cleanup());

    test("metadata lists the store with its type, version and capabilities", T, async () => {
      const res = await req(daprd, "GET", "/v1.0/metadata");
      expectStatus(res, 200);
      const comp = (res.json?.components ?? []).find((c) => c.name === STORE);
      assert.ok(comp, `component ${STORE} missing\n${res.describe()}`);
      assert.equal(comp.type, backend.type, res.describe());
      assert.equal(comp.version, "v1", res.describe());
      for (const cap of backend.caps) {
        assert.ok(comp.capabilities?.includes(cap), `capability ${cap} missing\n${res.describe()}`);
      }
      for (const cap of backend.noCaps) {
        assert.ok(!comp.capabilities?.includes(cap), `capability ${cap} must not be declared\n${res.describe()}`);
      }
    });

    // Dapr adds ACTOR to every state store that has both ETAG and TRANSACTIONAL
    // (pkg/runtime/runtime.go getComponentsCapabilitesMap), whether or not it is the actor store.
    test("capabilities include ACTOR (ETAG + TRANSACTIONAL)", T, async () => {
      const res = await req(daprd, "GET", "/v1.0/metadata");
      const comp = (res.json?.components ?? []).find((c) => c.name === STORE);
      assert.ok(comp?.capabilities?.includes("ACTOR"), `capability ACTOR missing\n${res.describe()}`);
    });

    describe("plain HTTP", () => {
      test("GET of a missing key: 204, empty body, no ETag", T, async () => {
        const res = await rawGet(daprd, `missing-${uid()}`);
        expectStatus(res, 204);
        assert.equal(res.text, "", res.describe());
        assert.equal(res.headers.get("etag"), null, res.describe());
      });

      test("save 204, GET 200 with the value and an ETag header", T, async () => {
        const key = `h-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: { b: 1, a: "x" } }]), 204);
        const res = await rawGet(daprd, key);
        expectStatus(res, 200);
        assert.deepEqual(res.json, { a: "x", b: 1 }, res.describe());
        assert.match(res.headers.get("content-type") ?? "", /application\/json/, res.describe());
        const etag = res.headers.get("etag");
        assert.ok(etag && etag.length > 0, `ETag header missing\n${res.describe()}`);
      });

      test("keys with spaces, slashes and non-ASCII: the URL segment is unescaped", T, async () => {
        const key = `a key/with + ü-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: "odd" }]), 204);
        const res = await rawGet(daprd, key); // encodeURIComponent: "/" travels as %2F
        expectStatus(res, 200);
        assert.equal(res.json, "odd", res.describe());
        const bulk = await req(daprd, "POST", `/v1.0/state/${STORE}/bulk`, { json: { keys: [key] } });
        assert.equal(bulk.json?.[0]?.key, key, bulk.describe());
        assert.equal(bulk.json?.[0]?.data, "odd", bulk.describe());
        const del = await req(daprd, "DELETE", `/v1.0/state/${STORE}/${encodeURIComponent(key)}`);
        expectStatus(del, 204);
        expectStatus(await rawGet(daprd, key), 204);
      });

      test("GET with consistency=strong and metadata.* query parameters: 200", T, async () => {
        const key = `cs-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: 5, options: { consistency: "strong" } }]), 204);
        const res = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}?consistency=strong&metadata.someKey=v`);
        expectStatus(res, 200);
        assert.equal(res.text, "5", res.describe());
      });

      test("a JSON string value saved over HTTP is stored as JSON (with quotes)", T, async () => {
        const key = `hs-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: "DeathStar" }]), 204);
        const res = await rawGet(daprd, key);
        expectStatus(res, 200);
        assert.equal(res.text, '"DeathStar"', res.describe());
      });

      test("the ETag changes on every write; the current ETag with first-write succeeds", T, async () => {
        const key = `e-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: 1 }]), 204);
        const e1 = (await rawGet(daprd, key)).headers.get("etag");
        assert.ok(e1, "first ETag missing");
        const r = await rawSave(daprd, [{ key, value: 2, etag: e1, options: { concurrency: "first-write" } }]);
        expectStatus(r, 204, "save with the current etag");
        const got = await rawGet(daprd, key);
        expectStatus(got, 200);
        assert.equal(got.text, "2", got.describe());
        const e2 = got.headers.get("etag");
        assert.ok(e2, `second ETag missing\n${got.describe()}`);
        assert.notEqual(e2, e1, `ETag must change after a write\n${got.describe()}`);
      });

      const httpSave = (key) => async (value) => expectStatus(await rawSave(daprd, [{ key, value }]), 204);

      test("save with a stale ETag and first-write: 409 ERR_STATE_SAVE, value unchanged", T, async () => {
        const key = `ew-${uid()}`;
        const stale = await staleEtag(daprd, key, httpSave(key));
        const r = await rawSave(daprd, [{ key, value: "new", etag: stale, options: { concurrency: "first-write" } }]);
        expectDaprError(r, 409, "ERR_STATE_SAVE");
        const got = await rawGet(daprd, key);
        assert.equal(got.text, '"v1"', got.describe());
      });

      test(`save with a malformed ETag: ${backend.malformedEtagStatus} ERR_STATE_SAVE`, T, async () => {
        const key = `em-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key, value: "orig" }]), 204);
        const r = await rawSave(daprd, [{ key, value: "new", etag: BAD_ETAG, options: { concurrency: "first-write" } }]);
        expectDaprError(r, backend.malformedEtagStatus, "ERR_STATE_SAVE");
        const got = await rawGet(daprd, key);
        assert.equal(got.text, '"orig"', got.describe());
      });

      test("DELETE with a stale If-Match: 409 ERR_STATE_DELETE; with the current one: 204", T, async () => {
        const key = `ed-${uid()}`;
        const stale = await staleEtag(daprd, key, httpSave(key));
        const etag = (await rawGet(daprd, key)).headers.get("etag");
        const bad = await req(daprd, "DELETE", `/v1.0/state/${STORE}/${key}?concurrency=first-write`, {
          headers: { "If-Match": stale },
        });
        expectDaprError(bad, 409, "ERR_STATE_DELETE");
        expectStatus(await rawGet(daprd, key), 200, "key must survive a failed delete");
        const good = await req(daprd, "DELETE", `/v1.0/state/${STORE}/${key}?concurrency=first-write`, {
          headers: { "If-Match": etag },
        });
        expectStatus(good, 204);
        expectStatus(await rawGet(daprd, key), 204, "key must be gone");
      });

      test("bulk GET: data and etag for present keys, just {key} for a missing one, in order", T, async () => {
        const k1 = `b1-${uid()}`, k2 = `b2-${uid()}`, missing = `bm-${uid()}`;
        expectStatus(await rawSave(daprd, [{ key: k1, value: { n: 1 } }, { key: k2, value: "two" }]), 204);
        const res = await req(daprd, "POST", `/v1.0/state/${STORE}/bulk`, { json: { keys: [k1, missing, k2] } });
        expectStatus(res, 200);
        assert.ok(Array.isArray(res.json), res.describe());
        assert.deepEqual(res.json.map((i) => i.key), [k1, missing, k2], res.describe());
        assert.deepEqual(res.json[0].data, { n: 1 }, res.describe());
        assert.equal(res.json[2].data, "two", res.describe());
        assert.ok(typeof res.json[0].etag === "string" && res.json[0].etag.length > 0, res.describe());
        assert.deepEqual(res.json[1], { key: missing }, `missing key must be just {key}\n${res.describe()}`);
      });

      test("bulk GET with no keys: 200 []", T, async () => {
        const res = await req(daprd, "POST", `/v1.0/state/${STORE}/bulk`, { json: { keys: [] } });
        expectStatus(res, 200);
        assert.deepEqual(res.json, [], res.describe());
      });

      test("PUT /v1.0/state/{store} saves like POST", T, async () => {
        const key = `put-${uid()}`;
        expectStatus(await req(daprd, "PUT", `/v1.0/state/${STORE}`, { json: [{ key, value: { via: "put" } }] }), 204);
        const got = await rawGet(daprd, key);
        expectStatus(got, 200);
        assert.deepEqual(got.json, { via: "put" }, got.describe());
      });

      test(`TTL: ${backend.ttlExpireTimeHeader ? "metadata.ttlExpireTime header, then " : ""}gone after expiry`, T, async () => {
        const key = `ttl-${uid()}`;
        const before = Date.now();
        expectStatus(await rawSave(daprd, [{ key, value: "short", metadata: { ttlInSeconds: "1" } }]), 204);
        const res = await rawGet(daprd, key);
        expectStatus(res, 200, "value must be readable right after saving");
        if (backend.ttlExpireTimeHeader) {
          const exp = res.headers.get("metadata.ttlexpiretime");
          assert.ok(exp, `metadata.ttlExpireTime header missing\n${res.describe()}`);
          const t = Date.parse(exp);
          assert.ok(!Number.isNaN(t), `ttlExpireTime is not a date: ${exp}`);
          // RFC 3339 with whole seconds: allow a second either way.
          assert.ok(t > before - 1500 && t < Date.now() + 3000, `ttlExpireTime ${exp} is not ~1 s from now`);
        }
        await waitFor(async () => (await rawGet(daprd, key)).status === 204, { ms: 3500, what: "TTL key gone" });
      });

      if (!backend.query) {
        test("query is not supported: 500 ERR_STATE_STORE_NOT_SUPPORTED", T, async () => {
          const res = await req(daprd, "POST", `/v1.0-alpha1/state/${STORE}/query`, {
            json: { filter: { EQ: { a: "b" } } },
          });
          expectDaprError(res, 500, "ERR_STATE_STORE_NOT_SUPPORTED");
        });
      } else {
        test("query over plain HTTP: 200 {results:[{key,data,etag}]}, keys without the app-id prefix", T, async () => {
          const run = uid();
          const key = `hq-${run}`;
          expectStatus(await rawSave(daprd, [{ key, value: { run, color: "red" } }]), 204);
          const res = await req(daprd, "POST", `/v1.0-alpha1/state/${STORE}/query`, {
            json: { filter: { EQ: { run } } },
          });
          expectStatus(res, 200);
          assert.equal(res.json?.results?.length, 1, res.describe());
          assert.equal(res.json.results[0].key, key, res.describe());
          assert.deepEqual(res.json.results[0].data, { run, color: "red" }, res.describe());
          assert.ok(res.json.results[0].etag, `etag missing\n${res.describe()}`);
        });

        test("query with no match: 204", T, async () => {
          const res = await req(daprd, "POST", `/v1.0-alpha1/state/${STORE}/query`, {
            json: { filter: { EQ: { run: `nothing-${uid()}` } } },
          });
          expectStatus(res, 204);
        });
      }
    });

    if (backend.shared) {
      describe("key prefixes (second sidecar on the same data)", () => {
        test("another app id does not see this app's key (appid||key)", { timeout: 60_000 }, async () => {
          const key = `p-${uid()}`;
          expectStatus(await rawSave(daprd, [{ key, value: "from-a" }]), 204);
          if (inst.rawKeyExists) {
            assert.ok(inst.rawKeyExists(`${daprd.appId}||${key}`), `backend has no raw key ${daprd.appId}||${key}`);
            assert.ok(!inst.rawKeyExists(key), `backend must not hold the bare key ${key}`);
          }
          if (backend.name === "sqlite" && hasSqlite3()) {
            const n = execFileSync("sqlite3", [inst.file, `SELECT count(*) FROM state WHERE key = '${daprd.appId}||${key}'`], {
              encoding: "utf8",
              timeout: 10_000,
            }).trim();
            assert.equal(n, "1", `sqlite table "state" must hold key ${daprd.appId}||${key}`);
          }
          await withDaprd({ components: [inst.component(STORE)] }, async (b) => {
            const res = await rawGet(b, key);
            expectStatus(res, 204, `app ${b.appId} must not see ${daprd.appId}'s key`);
            expectStatus(await rawSave(b, [{ key, value: "from-b" }]), 204);
            const mine = await rawGet(b, key);
            assert.equal(mine.text, '"from-b"', mine.describe());
          });
          const still = await rawGet(daprd, key);
          assert.equal(still.text, '"from-a"', `the other app's write must not touch this app's key\n${still.describe()}`);
        });

        test("with keyPrefix none two app ids share keys", { timeout: 60_000 }, async () => {
          const key = `none-${uid()}`;
          const comp = inst.component(STORE, { keyPrefix: "none" });
          await withDaprd({ components: [comp] }, async (c) => {
            expectStatus(await rawSave(c, [{ key, value: "shared" }]), 204);
            await withDaprd({ components: [comp] }, async (d) => {
              const res = await rawGet(d, key);
              expectStatus(res, 200, `app ${d.appId} (keyPrefix none) must see the key saved by ${c.appId}`);
              assert.equal(res.text, '"shared"', res.describe());
            });
          });
          if (inst.rawKeyExists) assert.ok(inst.rawKeyExists(key), `backend must hold the bare key ${key}`);
          const res = await rawGet(daprd, key);
          expectStatus(res, 204, "an app with the default appid prefix must not see a bare key");
        });
      });
    }

    for (const p of PROTOCOLS) {
      describe(`SDK over ${p.name}`, () => {
        let client;
        before(() => {
          client = makeClient(daprd, p.protocol);
        });
        after(async () => {
          await client?.stop();
        });
        const k = (name) => `${p.name}-${name}-${uid()}`;

        test("client.start() finds the sidecar", T, async () => {
          await within(15_000, client.start(), "client.start()");
          assert.equal(client.getIsInitialized(), true);
        });

        test("save, get, delete", T, async () => {
          const key = k("sgd");
          const value = { name: "Luke", planet: { name: "Tatooine" }, tags: ["jedi", 1, true, null] };
          await ok(client.state.save(STORE, [{ key, value }]), "save");
          assert.deepEqual(await within(10_000, client.state.get(STORE, key)), value);
          await ok(client.state.delete(STORE, key), "delete");
          assert.equal(await within(10_000, client.state.get(STORE, key)), "");
        });

        test("get of a missing key returns an empty string", T, async () => {
          const got = await within(10_000, client.state.get(STORE, k("missing")));
          assert.equal(got, "", `SDK over ${p.name} returned ${JSON.stringify(got)} for a missing key`);
        });

        test("JSON values come back as JSON, strings as strings, numbers as numbers", T, async () => {
          const ko = k("obj"), ks = k("str"), kn = k("num");
          await ok(
            client.state.save(STORE, [
              { key: ko, value: { a: [1, 2, { b: "c" }], d: 1.5 } },
              { key: ks, value: "hello world" },
              { key: kn, value: 42 },
            ]),
            "save",
          );
          assert.deepEqual(await client.state.get(STORE, ko), { a: [1, 2, { b: "c" }], d: 1.5 });
          assert.equal(await client.state.get(STORE, ks), "hello world");
          assert.equal(await client.state.get(STORE, kn), 42);
          // What daprd stored, seen through plain HTTP: HTTP saves JSON (a string keeps its quotes),
          // gRPC saves the raw bytes the SDK sent.
          const raw = await rawGet(daprd, ks);
          expectStatus(raw, 200);
          assert.equal(raw.text, p.name === "http" ? '"hello world"' : "hello world", raw.describe());
          const rawObj = await rawGet(daprd, ko);
          assert.deepEqual(JSON.parse(rawObj.text), { a: [1, 2, { b: "c" }], d: 1.5 }, rawObj.describe());
        });

        test("a value saved over the other protocol is readable", T, async () => {
          const key = k("cross");
          const other = makeClient(daprd, p.name === "http" ? "grpc" : "http");
          try {
            await ok(other.state.save(STORE, [{ key, value: { from: "other" } }]), "save via other protocol");
            assert.deepEqual(await within(10_000, client.state.get(STORE, key)), { from: "other" });
          } finally {
            await other.stop();
          }
        });

        test("getBulk returns every requested key, a missing key without data", T, async () => {
          const k1 = k("bulk1"), k2 = k("bulk2"), missing = k("bulkmissing");
          await ok(client.state.save(STORE, [{ key: k1, value: { v: 1 } }, { key: k2, value: "two" }]), "save");
          const items = await within(10_000, client.state.getBulk(STORE, [k1, k2, missing]));
          assert.ok(Array.isArray(items), JSON.stringify(items));
          assert.deepEqual(items.map((i) => i.key), [k1, k2, missing]);
          assert.deepEqual(items[0].data, { v: 1 });
          assert.equal(items[1].data, "two");
          assert.ok(items[0].etag, `etag missing: ${JSON.stringify(items[0])}`);
          if (p.name === "http") {
            // Raw daprd JSON: a missing key is just {"key": ...}.
            assert.deepEqual(items[2], { key: missing });
          } else {
            // The gRPC SDK maps the empty BulkStateItem to data "" and etag "".
            assert.deepEqual(items[2], { key: missing, data: "", etag: "" });
          }
        });

        test("transaction: upsert + delete applied together", T, async () => {
          const k1 = k("tx1"), k2 = k("tx2");
          await ok(client.state.save(STORE, [{ key: k1, value: "old" }, { key: k2, value: "doomed" }]), "save");
          await within(
            10_000,
            client.state.transaction(STORE, [
              { operation: "upsert", request: { key: k1, value: "new" } },
              { operation: "delete", request: { key: k2 } },
            ]),
            "transaction",
          );
          assert.equal(await client.state.get(STORE, k1), "new");
          assert.equal(await client.state.get(STORE, k2), "");
        });

        const sdkSave = (key) => (value) => ok(client.state.save(STORE, [{ key, value }]), "save");

        test("transaction: all or nothing when one operation fails (stale ETag)", T, async () => {
          const k1 = k("txa1"), k3 = k("txa3");
          const stale = await staleEtag(daprd, k1, sdkSave(k1));
          const tx = () =>
            within(
              10_000,
              client.state.transaction(STORE, [
                { operation: "upsert", request: { key: k3, value: "must-not-exist" } },
                {
                  operation: "upsert",
                  request: {
                    key: k1,
                    value: "changed",
                    etag: stale,
                    options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE },
                  },
                },
              ]),
              "transaction",
            );
          // Dapr reports any failure of Multi as ERR_STATE_TRANSACTION (HTTP 500, gRPC Internal).
          if (p.name === "http") {
            await expectSdkHttpError(tx(), 500, "ERR_STATE_TRANSACTION", "transaction");
          } else {
            await expectGrpcError(tx(), GrpcCode.Internal, { what: "ExecuteStateTransaction" });
          }
          assert.equal(await client.state.get(STORE, k1), "v1", "k1 must be unchanged");
          assert.equal(await client.state.get(STORE, k3), "", "the other upsert must have been rolled back");
        });

        test("save and delete with a stale ETag fail (409 / Aborted)", T, async () => {
          const key = k("etag");
          const stale = await staleEtag(daprd, key, sdkSave(key));
          const badSave = client.state.save(STORE, [
            { key, value: "v2", etag: stale, options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } },
          ]);
          const badDelete = () =>
            client.state.delete(STORE, key, { etag: stale, concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE });
          if (p.name === "http") {
            await expectSdkHttpError(badSave, 409, "ERR_STATE_SAVE", "save");
            await expectSdkHttpError(badDelete(), 409, "ERR_STATE_DELETE", "delete");
          } else {
            await expectGrpcError(badSave, GrpcCode.Aborted, { what: "SaveState" });
            await expectGrpcError(badDelete(), GrpcCode.Aborted, { what: "DeleteState" });
          }
          assert.equal(await client.state.get(STORE, key), "v1");
        });

        test("40 concurrent save+get pairs all see their own value", T, async () => {
          const base = k("par");
          const results = await within(
            20_000,
            Promise.all(
              Array.from({ length: 40 }, async (_, i) => {
                const key = `${base}-${i}`;
                await ok(client.state.save(STORE, [{ key, value: { i } }]), `save ${key}`);
                return client.state.get(STORE, key);
              }),
            ),
            "concurrent save+get",
          );
          assert.deepEqual(results, Array.from({ length: 40 }, (_, i) => ({ i })));
        });

        test("TTL: ttlInSeconds=1 makes the key disappear", T, async () => {
          const key = k("ttl");
          await ok(client.state.save(STORE, [{ key, value: "short-lived" }], { metadata: { ttlInSeconds: "1" } }), "save");
          const savedAt = Date.now();
          assert.equal(await client.state.get(STORE, key), "short-lived", "readable right after saving");
          await waitFor(async () => (await client.state.get(STORE, key)) === "", { ms: 3500, what: "TTL key gone" });
          assert.ok(Date.now() - savedAt >= 700, "the key vanished before its TTL");
        });

        if (backend.query) {
          test("query with filter, sort and paging", T, async () => {
            const run = uid();
            const colors = ["red", "blue", "green"];
            const items = [1, 2, 3, 4, 5, 6].map((n) => ({
              key: `${p.name}-q${n}-${run}`,
              value: { run, n, color: colors[(n - 1) % 3] },
            }));
            await ok(client.state.save(STORE, items), "save");
            const q = {
              filter: { AND: [{ EQ: { run } }, { IN: { color: ["red", "blue"] } }] },
              sort: [{ key: "n", order: "DESC" }],
              page: { limit: 3 },
            };
            const page1 = await within(10_000, client.state.query(STORE, q), "query page 1");
            const got1 = page1.results.map((r) => ({ key: r.key, data: decodeData(r.data) }));
            const want = (n) => ({ key: `${p.name}-q${n}-${run}`, data: { run, n, color: colors[(n - 1) % 3] } });
            assert.deepEqual(got1, [want(5), want(4), want(2)], `page 1: ${JSON.stringify(page1)}`);
            assert.ok(page1.token, `page 1 must carry a continuation token: ${JSON.stringify(page1)}`);
            for (const r of page1.results) assert.ok(r.etag, `etag missing: ${JSON.stringify(r)}`);
            const page2 = await within(
              10_000,
              client.state.query(STORE, { ...q, page: { limit: 3, token: page1.token } }),
              "query page 2",
            );
            const got2 = page2.results.map((r) => ({ key: r.key, data: decodeData(r.data) }));
            assert.deepEqual(got2, [want(1)], `page 2: ${JSON.stringify(page2)}`);
          });
        } else {
          test("query is refused by a store without QUERY_API", T, async () => {
            const q = { filter: { EQ: { a: "b" } } };
            if (p.name === "http") {
              await expectSdkHttpError(client.state.query(STORE, q), 500, "ERR_STATE_STORE_NOT_SUPPORTED", "query");
            } else {
              await expectGrpcError(client.state.query(STORE, q), GrpcCode.Internal, { what: "QueryStateAlpha1" });
            }
          });
        }
      });
    }
  });
}

let sqlite3Present;
function hasSqlite3() {
  if (sqlite3Present === undefined) {
    try {
      execFileSync("sqlite3", ["-version"], { stdio: "ignore", timeout: 5000 });
      sqlite3Present = true;
    } catch {
      sqlite3Present = false;
    }
  }
  return sqlite3Present;
}
