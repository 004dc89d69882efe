// Resource loading and component start-up as a user meets them: multi-document files,
// scopes, other kinds, and what a component that cannot start does to daprd (a fatal error
// naming it, within initTimeout, unless ignoreErrors lets daprd go on without it).
import assert from "node:assert/strict";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Daprd, T, componentYaml, tempDir, uid } from "./lib/daprd.mjs";
import { expectStatus, req } from "./lib/http.mjs";

const multiDocument = (appId) => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: mine
spec:
  type: state.in-memory
  version: v1
scopes:
- ${appId}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: theirs
spec:
  type: state.in-memory
  version: v1
scopes:
- some-other-app
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: ignored-for-now
spec:
  tracing:
    samplingRate: "1"
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: everyone
spec:
  type: state.in-memory
`;

// A TCP server that accepts and never answers: a backend that hangs.
function silentServer() {
  return new Promise((resolve) => {
    const sockets = new Set();
    const server = net.createServer((s) => sockets.add(s));
    server.listen(0, "127.0.0.1", () => resolve({
      port: server.address().port,
      close: () => {
        for (const s of sockets) s.destroy();
        server.close();
      },
    }));
  });
}

const hangingRedis = (name, port, extra = "") => `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: ${name}
spec:
  type: state.redis
  initTimeout: 1s
${extra}  metadata:
  - name: redisHost
    value: "127.0.0.1:${port}"
`;

describe("resource files", { timeout: 60_000 }, () => {
  const appId = `res-${uid(4)}`;
  const d = new Daprd({ appId, components: [multiDocument(appId)] });
  before(() => d.start(), T);
  after(() => d.stop());

  test("a multi-document file loads the components scoped to this app and skips other kinds", T, async () => {
    const md = await req(d, "GET", "/v1.0/metadata");
    expectStatus(md, 200);
    const names = (md.json.components ?? []).map((c) => c.name).sort();
    assert.deepEqual(names, ["everyone", "mine"], md.describe());
  });

  test("a component scoped to another app is not there", T, async () => {
    const res = await req(d, "GET", "/v1.0/state/theirs/k");
    expectStatus(res, 400);
    assert.equal(res.json?.errorCode, "ERR_STATE_STORE_NOT_FOUND", res.describe());
  });
});

// As Go's flag package: --resources-path (and --components-path) given several times load
// every folder; any other flag given twice takes its last value (here --log-level).
describe("repeated flags", { timeout: 60_000 }, () => {
  const extra = tempDir("more-resources");
  mkdirSync(extra, { recursive: true });
  writeFileSync(path.join(extra, "second.yaml"), componentYaml({ name: "second", type: "state.in-memory" }));
  const d = new Daprd({ appId: `flags-${uid(4)}`, components: [{ name: "first", type: "state.in-memory" }],
                        args: ["--resources-path", extra, "--log-level", "debug", "--log-level", "warn"] });
  before(() => d.start(), T);
  after(() => d.stop());

  test("every resources path is loaded, and a repeated flag takes its last value", T, async () => {
    const md = await req(d, "GET", "/v1.0/metadata");
    expectStatus(md, 200);
    assert.deepEqual((md.json.components ?? []).map((c) => c.name).sort(), ["first", "second"], md.describe());
    // At warn, the start-up's info lines are not written.
    assert.doesNotMatch(d.logs(), /level=info/, d.logs());
  });
});

describe("components that cannot start", { timeout: 60_000 }, () => {
  let backend;
  before(async () => {
    backend = await silentServer();
  });
  after(() => backend.close());

  test("a hanging backend stops daprd after initTimeout, naming the component", T, async () => {
    const d = new Daprd({ components: [hangingRedis("stuck", backend.port)] });
    const started = Date.now();
    await assert.rejects(d.start(), /exited early \(code 1/);
    const took = Date.now() - started;
    const logs = d.logs();
    assert.match(logs, /component stuck \(state\.redis\/v1\)/, logs);
    assert.match(logs, /init timed out after 1000ms/, logs);
    assert.ok(took < 2900, `daprd gave up after ${took} ms; initTimeout is 1 s (redis' own read timeout is 3 s)`);
  });

  test("with ignoreErrors daprd starts without it and serves the rest", T, async () => {
    const good = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: good
spec:
  type: state.in-memory
`;
    const d = new Daprd({ components: [hangingRedis("stuck", backend.port, "  ignoreErrors: true\n"), good] });
    await d.start();
    try {
      const md = await req(d, "GET", "/v1.0/metadata");
      assert.deepEqual((md.json.components ?? []).map((c) => c.name), ["good"], md.describe());
      expectStatus(await req(d, "POST", "/v1.0/state/good", { json: [{ key: "k", value: 1 }] }), 204);
      const missing = await req(d, "GET", "/v1.0/state/stuck/k");
      expectStatus(missing, 400);
      assert.equal(missing.json?.errorCode, "ERR_STATE_STORE_NOT_FOUND", missing.describe());
    } finally {
      await d.stop();
    }
  });

  test("an unknown component type is a fatal error naming it", T, async () => {
    const d = new Daprd({ components: [{ name: "odd", type: "state.nosuchthing" }] });
    await assert.rejects(d.start(), /exited early \(code 1/);
    assert.match(d.logs(), /component odd \(state\.nosuchthing\/v1\).*couldn't find component/, d.logs());
  });

  test("malformed YAML is a fatal error naming the file", T, async () => {
    const d = new Daprd({ components: ["kind: Component\nmetadata: {name: x\n  spec: ["] });
    await assert.rejects(d.start(), /exited early \(code 1/);
    assert.match(d.logs(), /component-0\.yaml: invalid YAML/, d.logs());
  });
});
