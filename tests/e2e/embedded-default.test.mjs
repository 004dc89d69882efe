// With no --resources-path (and no ~/.dapr/components), daprd serves an embedded SQLite
// `statestore` kept under $HOME/.dapr; its data survives a restart with the same HOME.
import assert from "node:assert/strict";
import { readdirSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Daprd, T, makeClient, tempDir, uid, within } from "./lib/daprd.mjs";
import { expectStatus, req } from "./lib/http.mjs";

function filesUnder(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out = out.concat(filesUnder(p));
    else out.push(p);
  }
  return out;
}

describe("embedded default state store", { timeout: 120_000 }, () => {
  const home = tempDir("home");
  const appId = `embedded-${uid(4)}`;
  const key = `persist-${uid()}`;
  const value = { kept: true, n: 7 };
  const procs = [];
  after(async () => {
    for (const d of procs) await d.stop();
    if (!process.env.DAPR_E2E_KEEP_TMP) rmSync(home, { recursive: true, force: true });
  });
  async function start() {
    const d = new Daprd({ appId, home, resources: false });
    procs.push(d);
    await d.start();
    return d;
  }

  test("metadata lists statestore of type state.sqlite; save and read a key", T, async () => {
    const d = await start();
    const md = await req(d, "GET", "/v1.0/metadata");
    expectStatus(md, 200);
    const c = (md.json?.components ?? []).find((x) => x.name === "statestore");
    assert.ok(c, `statestore missing\n${md.describe()}`);
    assert.equal(c.type, "state.sqlite", md.describe());
    for (const cap of ["ETAG", "TRANSACTIONAL", "TTL"]) assert.ok(c.capabilities?.includes(cap), `${cap}\n${md.describe()}`);
    expectStatus(await req(d, "POST", "/v1.0/state/statestore", { json: [{ key, value }] }), 204);
    const got = await req(d, "GET", `/v1.0/state/statestore/${key}`);
    expectStatus(got, 200);
    assert.deepEqual(got.json, value, got.describe());
    const client = makeClient(d, "grpc");
    await within(15_000, client.start(), "client.start()");
    assert.deepEqual(await client.state.get("statestore", key), value);
  });

  test("the data lives under $HOME/.dapr", T, () => {
    const files = filesUnder(path.join(home, ".dapr"));
    assert.ok(files.length > 0, `no files under ${home}/.dapr`);
  });

  test("after SIGTERM (exit 0) and a restart with the same HOME the key is still there", T, async () => {
    const first = procs[0];
    assert.ok(first, "first daprd missing (previous test failed)");
    const exit = await first.stop();
    assert.deepEqual(exit, { code: 0, signal: null }, `exit status\n${first.logs()}`);
    const d = await start();
    const got = await req(d, "GET", `/v1.0/state/statestore/${key}`);
    expectStatus(got, 200, "value must survive the restart");
    assert.deepEqual(got.json, value, got.describe());
  });
});
