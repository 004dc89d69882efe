// An app whose subscription list is wrong (a match expression outside the supported CEL
// subset, or not JSON at all): the sidecar logs it, starts no subscription, and serves on.
import assert from "node:assert/strict";
import http from "node:http";
import { after, describe, test } from "node:test";
import { Daprd, T, freePort, stopApp } from "./lib/daprd.mjs";

const ANSWERS = {
  "a match outside the CEL subset": JSON.stringify([{ pubsubname: "events", topic: "t",
    routes: { rules: [{ match: "event.data.items.all(x, x > 1)", path: "/t" }] } }]),
  "a body that is not JSON": "[{oops",
};

for (const [what, answer] of Object.entries(ANSWERS)) {
  describe(`an app answering /dapr/subscribe with ${what}`, () => {
    let daprd, server;
    after(async () => { await daprd?.stop(); await stopApp(server); });

    test("the sidecar starts, subscribes to nothing, says why, and still publishes", T, async () => {
      const appPort = await freePort();
      server = http.createServer((req, res) => {
        res.setHeader("content-type", "application/json");
        res.end(req.url === "/dapr/subscribe" ? answer : "");
      });
      await new Promise((resolve) => server.listen(appPort, "127.0.0.1", resolve));
      daprd = new Daprd({ args: ["--app-port", String(appPort)],
                          components: [{ name: "events", type: "pubsub.in-memory" }] });
      await daprd.start();
      const metadata = await (await fetch(`${daprd.httpUrl}/v1.0/metadata`)).json();
      assert.equal(metadata.subscriptions, undefined);
      assert.match(daprd.logs(), /could not read the app's subscriptions/);
      const res = await fetch(`${daprd.httpUrl}/v1.0/publish/events/t`, { method: "POST", body: "hi" });
      assert.equal(res.status, 204);
    });
  });
}
