// The embedded default broker (pubsub.sqlite, daprd with no resources path) keeps every
// published message through a SIGKILL of the sidecar: published N, delivered >= N distinct,
// lost 0, counted over real processes.
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { Daprd, freePort, stopApp, tempDir, uid, waitFor } from "./lib/daprd.mjs";
import { lostOf, startCountingSubscriber } from "./lib/subscriber.mjs";

describe("the embedded pub/sub across a SIGKILL of daprd", () => {
  const cleanup = [];
  after(async () => { for (const fn of cleanup.reverse()) await fn(); });

  test("every message published before the kill is delivered after the restart", { timeout: 90_000 }, async () => {
    const N = 200;
    const home = tempDir("durable");
    const appPort = await freePort();
    const { server, state } = await startCountingSubscriber(appPort, { topic: "durable" });
    state.accepting = false;
    cleanup.push(() => stopApp(server));
    const appId = `durable-${uid(4)}`;
    const opts = { appId, home, resources: false, args: ["--app-port", String(appPort)] };
    let daprd = new Daprd(opts);
    cleanup.push(() => daprd.stop());
    await daprd.start();
    for (let n = 0; n < N; n++) {
      const res = await fetch(`${daprd.httpUrl}/v1.0/publish/pubsub/durable`, {
        method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ n }),
      });
      assert.equal(res.status, 204, `publish ${n}`);
    }
    await waitFor(() => state.attempts > 0, { ms: 5000, what: "a first (failing) delivery" });
    daprd.proc.kill("SIGKILL");
    await daprd.waitExit(5000);
    state.accepting = true;
    daprd = new Daprd(opts);
    await daprd.start();
    await waitFor(() => state.seen.size >= N, { ms: 60_000, every: 200, what: `${N} distinct deliveries` });
    const lost = lostOf(Array(N).keys(), state);
    console.log(`published ${N}, delivered ${state.seen.size} distinct (${state.attempts} attempts), lost ${lost}`);
    assert.equal(lost, 0);
  });
});
