// The Configuration resource (`daprd --config FILE`): spec.nameResolution picks the resolver
// and its settings, spec.features shows in the metadata API, and a configuration that cannot
// be used stops daprd with a message naming the problem.
import assert from "node:assert/strict";
import http from "node:http";
import path from "node:path";
import { writeFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import grpc from "@grpc/grpc-js";
import { HttpMethod } from "@dapr/dapr";
import { GetMetadataResponseSchema } from "@dapr/dapr/proto/dapr/proto/runtime/v1/dapr_pb.js";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, tempDir, uid, within } from "./lib/daprd.mjs";

function writeConfig(dir, text) {
  const file = path.join(dir, `config-${uid(4)}.yaml`);
  writeFileSync(file, text);
  return file;
}

// An app answering with its own name and the path it was called on.
async function startNamedApp(name) {
  const port = await freePort();
  const server = http.createServer((request, response) => {
    request.resume();
    request.on("end", () => {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ name, url: request.url }));
    });
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port };
}

describe("Configuration: spec.nameResolution picks the registry", () => {
  const dir = tempDir("config");
  // Different HOMEs: only the registry file named in the Configuration is shared.
  const registry = path.join(dir, "shared-registry.db");
  const config = writeConfig(dir, `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: appconfig
spec:
  tracing:
    samplingRate: "1"
  features:
    - name: ProxyFeatureX
      enabled: true
    - name: Disabled
      enabled: false
  nameResolution:
    component: sqlite
    version: v1
    configuration:
      connectionString: ${JSON.stringify(registry)}
      updateInterval: 2s
`);
  const betaId = `beta-${uid(4)}`;
  let alpha, beta, app;

  before(async () => {
    app = await startNamedApp("beta-app");
    beta = new Daprd({ appId: betaId, args: ["--config", config, "--app-port", String(app.port)] });
    await beta.start();
    alpha = new Daprd({ appId: `alpha-${uid(4)}`, args: ["--config", config] });
    await alpha.start();
  }, HOOK);

  after(async () => {
    await alpha?.stop();
    await beta?.stop();
    if (app) {
      app.server.closeAllConnections();
      await within(5000, new Promise((resolve) => app.server.close(resolve)), "app close");
    }
  }, HOOK);

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: alpha finds beta through the registry the Configuration names`, T, async () => {
      const client = makeClient(alpha, p.name);
      const answer = await client.invoker.invoke(betaId, "hello", HttpMethod.GET);
      assert.deepEqual(answer, { name: "beta-app", url: "/hello" });
    });

  }

  test("SDK over HTTP: metadata lists the enabled features only", T, async () => {
    const metadata = await makeClient(alpha, "http").metadata.get();
    assert.deepEqual(metadata.enabledFeatures, ["ProxyFeatureX"]);
  });

  // The SDK's gRPC metadata call drops enabled_features, so GetMetadata is called raw.
  test("gRPC GetMetadata: enabled_features lists the enabled features only", T, async () => {
    const client = new grpc.Client(`127.0.0.1:${alpha.grpcPort}`, grpc.credentials.createInsecure());
    try {
      const bytes = await new Promise((resolve, reject) => {
        client.makeUnaryRequest("/dapr.proto.runtime.v1.Dapr/GetMetadata", (b) => b, (b) => b,
          Buffer.alloc(0), (err, response) => (err ? reject(err) : resolve(response)));
      });
      assert.deepEqual(fromBinary(GetMetadataResponseSchema, bytes).enabledFeatures, ["ProxyFeatureX"]);
    } finally {
      client.close();
    }
  });

  test("a sidecar without that Configuration (its own HOME registry) cannot see beta", T, async () => {
    const loner = new Daprd({ appId: `loner-${uid(4)}` });
    await loner.start();
    try {
      const response = await fetch(`${loner.httpUrl}/v1.0/invoke/${betaId}/method/hello`);
      assert.equal(response.status, 500);
      assert.match((await response.json()).message, /couldn't find service/);
    } finally {
      await loner.stop();
    }
  });
});

describe("Configuration that cannot be used: daprd stops and says why", () => {
  const dir = tempDir("badconfig");
  const cases = [
    {
      what: "an unknown name resolution component",
      text: "kind: Configuration\nmetadata: {name: c}\nspec:\n  nameResolution: {component: nosuchresolver}\n",
      expect: /name resolution nameresolution\.nosuchresolver v1: .*couldn't find/,
    },
    {
      what: "malformed YAML",
      text: "kind: Configuration\nspec: {nameResolution: [\n",
      expect: /configuration: .*config-\w+\.yaml: invalid Configuration/,
    },
    {
      what: "a file without a Configuration",
      text: "kind: Component\nmetadata: {name: x}\n",
      expect: /config-\w+\.yaml: no document of kind Configuration/,
    },
  ];
  for (const c of cases) {
    test(`${c.what}: exit code 1 and a message`, T, async () => {
      const d = new Daprd({ args: ["--config", writeConfig(dir, c.text)] });
      await assert.rejects(d.start(), /exited early \(code 1/);
      assert.match(d.logs(), c.expect, d.logs());
    });
  }

  test("a --config file that does not exist: exit code 1 naming it", T, async () => {
    const missing = path.join(dir, "missing.yaml");
    const d = new Daprd({ args: ["--config", missing] });
    await assert.rejects(d.start(), /exited early \(code 1/);
    assert.match(d.logs(), /configuration file .*missing\.yaml cannot be read/, d.logs());
  });
});
