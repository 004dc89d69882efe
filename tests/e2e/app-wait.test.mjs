// With --app-port, daprd reports ready only once the app listens (as Dapr does): until then
// /v1.0/healthz is 500 and /v1.0/healthz/outbound 204, the wait costs no CPU to speak of,
// and a shutdown during the wait is clean.
import assert from "node:assert/strict";
import http from "node:http";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { Daprd, T, freePort, sleep, within } from "./lib/daprd.mjs";

// utime + stime of a process, in seconds.
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").replace(/^.*\) /, "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function listen(port) {
  const server = http.createServer((request, response) => {
    request.resume();
    response.end("app says hi");
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

describe("waiting for the app's port", () => {
  test("not ready while the app is away, idle while waiting, ready soon after it listens", T, async () => {
    const appPort = await freePort();
    const d = new Daprd({ ready: "outbound", args: ["--app-port", String(appPort)] });
    await d.start();
    let app;
    try {
      assert.equal((await fetch(`${d.httpUrl}/v1.0/healthz`)).status, 500);
      assert.equal((await fetch(`${d.httpUrl}/v1.0/healthz/outbound`)).status, 204);
      assert.match(d.logs(), new RegExp(`application protocol: http\\. waiting on port ${appPort}\\.`));

      await sleep(500);  // past the first short pauses
      const before = cpuSeconds(d.proc.pid);
      await sleep(2000);
      const used = cpuSeconds(d.proc.pid) - before;
      assert.ok(used <= 0.05, `daprd used ${used} CPU-s in 2 s of waiting`);

      app = await listen(appPort);
      const found = Date.now();
      await d.waitReady(3000);
      assert.ok(Date.now() - found < 1500, `ready ${Date.now() - found} ms after the app listened`);
      assert.match(d.logs(), new RegExp(`application discovered on port ${appPort}`));
      const answer = await fetch(`${d.httpUrl}/v1.0/invoke/${d.appId}/method/x`);
      assert.equal(await answer.text(), "app says hi");
    } finally {
      await d.stop();
      app?.closeAllConnections();
      if (app) await within(5000, new Promise((resolve) => app.close(resolve)), "app close");
    }
  });

  test("SIGTERM during the wait: daprd exits 0 at once", T, async () => {
    const d = new Daprd({ ready: "outbound", args: ["--app-port", String(await freePort())] });
    await d.start();
    const started = Date.now();
    const exit = await d.stop();
    assert.equal(exit.code, 0, d.logs());
    assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms to stop`);
  });
});
