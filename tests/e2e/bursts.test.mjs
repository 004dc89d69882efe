// A burst of concurrent calls must be queued and answered, never refused: SDKs fire many
// calls at once (Promise.all), and a sidecar that sheds them breaks apps that work on Dapr.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { PROTOCOLS, makeClient, uid, useDaprd, within } from "./lib/daprd.mjs";

const STORE = "statestore";
const CALLS = 300;

for (const backend of ["state.in-memory", "state.sqlite"]) {
  describe(`bursts of ${CALLS} calls on ${backend}`, { timeout: 120_000 }, () => {
    const dbPath = `/tmp/dapr-e2e-burst-${uid()}.db`;
    after(() => {
      for (const suffix of ["", "-wal", "-shm"]) rmSync(dbPath + suffix, { force: true });
    });
    const daprd = useDaprd(() => ({
      components: [{
        name: STORE,
        type: backend,
        metadata: backend === "state.sqlite" ? { connectionString: dbPath } : {},
      }],
    }));
    for (const { name } of PROTOCOLS) {
      let client;
      before(async () => {
        client = makeClient(daprd, name);
        await within(15_000, client.start(), "client.start()");
      });
      test(`${name}: ${CALLS} concurrent saves, then ${CALLS} concurrent gets, all answered`, { timeout: 60_000 }, async () => {
        const prefix = `burst-${name}-${uid()}`;
        const saves = await Promise.allSettled(
          Array.from({ length: CALLS }, (_, i) => client.state.save(STORE, [{ key: `${prefix}-${i}`, value: { i } }])),
        );
        const failedSaves = saves.filter((r) => r.status === "rejected" || r.value?.error);
        assert.equal(failedSaves.length, 0, `failed saves: ${JSON.stringify(failedSaves.slice(0, 3).map((r) => String(r.reason ?? JSON.stringify(r.value))))}`);
        const gets = await Promise.allSettled(Array.from({ length: CALLS }, (_, i) => client.state.get(STORE, `${prefix}-${i}`)));
        const rejected = gets.filter((r) => r.status === "rejected");
        assert.equal(rejected.length, 0, `failed gets: ${rejected.slice(0, 3).map((r) => String(r.reason)).join("; ")}`);
        gets.forEach((r, i) => assert.deepEqual(r.value, { i }, `value of key ${i}`));
      });
    }
  });
}
