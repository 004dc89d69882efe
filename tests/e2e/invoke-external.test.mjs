// Invoking non-Dapr HTTP services: HTTPEndpoint resources by name (base URL with a path,
// fixed headers, client TLS with a root CA and a client certificate), a URL as the app id,
// and an app served over HTTPS (--app-protocol https). Certificates are made by the test
// with the openssl command; every server listens on 127.0.0.1.
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import { HttpMethod } from "@dapr/dapr";
import { makeCertificates } from "./lib/certs.mjs";
import { Daprd, HOOK, PROTOCOLS, T, freePort, makeClient, tempDir, within } from "./lib/daprd.mjs";

// Echoes what it got as JSON: method, url, headers, body, and the client certificate's CN.
function echo(request, response) {
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const peer = request.socket.getPeerCertificate?.();
    response.writeHead(200, { "content-type": "application/json", "x-served-by": "external" });
    response.end(JSON.stringify({
      method: request.method, url: request.url, headers: request.headers,
      body: Buffer.concat(chunks).toString(), clientCN: peer?.subject?.CN ?? null,
    }));
  });
}

async function listen(server) {
  const port = await freePort();
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { server, port };
}

async function close(entry) {
  if (!entry) return;
  entry.server.closeAllConnections();
  await within(5000, new Promise((resolve) => entry.server.close(resolve)), "server close");
}

// A YAML block scalar holding a PEM.
const pem = (text, indent) => "|\n" + text.trim().split("\n").map((l) => " ".repeat(indent) + l).join("\n");

function endpointYaml(name, baseUrl, { headers = {}, tls } = {}) {
  const lines = ["apiVersion: dapr.io/v1alpha1", "kind: HTTPEndpoint", `metadata:\n  name: ${name}`, "spec:", `  baseUrl: ${baseUrl}`];
  const entries = Object.entries(headers);
  if (entries.length) {
    lines.push("  headers:");
    for (const [k, v] of entries) lines.push(`  - name: ${k}`, `    value: ${JSON.stringify(v)}`);
  }
  if (tls) {
    lines.push("  clientTLS:");
    for (const [field, value] of Object.entries(tls)) lines.push(`    ${field}:`, `      value: ${pem(value, 8)}`);
  }
  return lines.join("\n") + "\n";
}

describe("non-Dapr endpoints", () => {
  let certs, plain, secure, mutual, daprd;

  before(async () => {
    certs = makeCertificates(tempDir("certs"));
    plain = await listen(http.createServer(echo));
    secure = await listen(https.createServer({ cert: certs.serverCert, key: certs.serverKey }, echo));
    mutual = await listen(https.createServer({
      cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, requestCert: true, rejectUnauthorized: true,
    }, echo));
    daprd = new Daprd({
      components: [
        endpointYaml("ext-http", `http://127.0.0.1:${plain.port}/base/`, { headers: { "x-api-key": "k-123" } }),
        endpointYaml("ext-https", `https://127.0.0.1:${secure.port}`, { tls: { rootCA: certs.ca } }),
        endpointYaml("ext-untrusted", `https://127.0.0.1:${secure.port}`),
        endpointYaml("ext-mtls", `https://127.0.0.1:${mutual.port}`,
          { tls: { rootCA: certs.ca, certificate: certs.clientCert, privateKey: certs.clientKey } }),
        endpointYaml("ext-mtls-nocert", `https://127.0.0.1:${mutual.port}`, { tls: { rootCA: certs.ca } }),
      ],
    });
    await daprd.start();
  }, HOOK);

  after(async () => {
    await daprd?.stop();
    await close(plain);
    await close(secure);
    await close(mutual);
  }, HOOK);

  test("by name: base path, query, body and the endpoint's headers reach the service; no caller id", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/ext-http/method/orders/1?x=2`, {
      method: "PUT", headers: { "content-type": "text/plain" }, body: "hello",
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("x-served-by"), "external");
    const seen = await response.json();
    assert.equal(seen.method, "PUT");
    assert.equal(seen.url, "/base/orders/1?x=2");
    assert.equal(seen.body, "hello");
    assert.equal(seen.headers["x-api-key"], "k-123");
    assert.equal(seen.headers.host, `127.0.0.1:${plain.port}`);
    assert.match(seen.headers.traceparent, /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(seen.headers["dapr-caller-app-id"], undefined);
  });

  test("a URL as the app id, over plain HTTP", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/http://127.0.0.1:${plain.port}/method/hello?q=1`);
    assert.equal(response.status, 200);
    const seen = await response.json();
    assert.equal(seen.url, "/hello?q=1");
    assert.equal(seen.headers["x-api-key"], undefined);
  });

  for (const p of PROTOCOLS) {
    test(`SDK over ${p.name}: invoker.invoke by HTTPEndpoint name`, T, async () => {
      const seen = await makeClient(daprd, p.name).invoker.invoke("ext-http", "sdk", HttpMethod.POST, { n: 1 });
      assert.equal(seen.url, "/base/sdk");
      assert.deepEqual(JSON.parse(seen.body), { n: 1 });
    });

    test(`SDK over ${p.name}: an HTTPS endpoint trusted through its clientTLS.rootCA`, T, async () => {
      const seen = await makeClient(daprd, p.name).invoker.invoke("ext-https", "secure", HttpMethod.GET);
      assert.equal(seen.url, "/secure");
    });
  }

  test("HTTPS without the endpoint's CA: 500 ERR_DIRECT_INVOKE, certificate not trusted", T, async () => {
    for (const target of ["ext-untrusted", `https://127.0.0.1:${secure.port}`]) {
      const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${target}/method/x`);
      assert.equal(response.status, 500, target);
      const body = await response.json();
      assert.equal(body.errorCode, "ERR_DIRECT_INVOKE");
      assert.match(body.message, /certificate verify failed/, body.message);
    }
  });

  test("mutual TLS: the endpoint's client certificate is presented; without one the server refuses", T, async () => {
    const ok = await fetch(`${daprd.httpUrl}/v1.0/invoke/ext-mtls/method/m`);
    assert.equal(ok.status, 200);
    assert.equal((await ok.json()).clientCN, "e2e-client");
    const refused = await fetch(`${daprd.httpUrl}/v1.0/invoke/ext-mtls-nocert/method/m`);
    assert.equal(refused.status, 500);
    assert.equal((await refused.json()).errorCode, "ERR_DIRECT_INVOKE");
  });

  test("a URL nobody listens on, or a malformed one: 500 ERR_DIRECT_INVOKE; the sidecar carries on", T, async () => {
    const closed = await freePort();
    for (const url of [`http://127.0.0.1:${closed}`, "http://127.0.0.1:99999"]) {
      const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${url}/method/x`);
      assert.equal(response.status, 500, url);
      assert.equal((await response.json()).errorCode, "ERR_DIRECT_INVOKE");
    }
    assert.equal((await fetch(`${daprd.httpUrl}/v1.0/invoke/ext-http/method/still`)).status, 200);
  });

  test("metadata lists the HTTPEndpoints", T, async () => {
    const metadata = await (await fetch(`${daprd.httpUrl}/v1.0/metadata`)).json();
    assert.deepEqual(metadata.httpEndpoints.map((e) => e.name).sort(),
      ["ext-http", "ext-https", "ext-mtls", "ext-mtls-nocert", "ext-untrusted"]);
  });
});

describe("an app served over HTTPS (--app-protocol https)", () => {
  let app, daprd;
  before(async () => {
    const certs = makeCertificates(tempDir("appcerts"));
    app = await listen(https.createServer({ cert: certs.serverCert, key: certs.serverKey }, echo));
    daprd = new Daprd({ args: ["--app-port", String(app.port), "--app-protocol", "https"] });
    await daprd.start();
  }, HOOK);
  after(async () => {
    await daprd?.stop();
    await close(app);
  }, HOOK);

  test("calls to the own app go over TLS (its certificate is not checked, as in Dapr)", T, async () => {
    const response = await fetch(`${daprd.httpUrl}/v1.0/invoke/${daprd.appId}/method/tls`);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).url, "/tls");
  });
});

describe("HTTPEndpoints that cannot be used stop daprd", () => {
  const cases = [
    ["a baseUrl that is not http(s)", endpointYaml("bad", "ftp://127.0.0.1:1"), /HTTPEndpoint bad: spec\.baseUrl must start with http/],
    ["a rootCA that is not a certificate", endpointYaml("badca", "https://127.0.0.1:1", { tls: { rootCA: "not a pem" } }), /HTTPEndpoint badca: clientTLS\.rootCA/],
    ["a bad port", endpointYaml("badport", "http://127.0.0.1:notaport"), /HTTPEndpoint badport: baseUrl .*bad port/],
  ];
  for (const [what, yaml, expected] of cases) {
    test(`${what}: exit code 1 naming the endpoint`, T, async () => {
      const d = new Daprd({ components: [yaml] });
      await assert.rejects(d.start(), /exited early \(code 1/);
      assert.match(d.logs(), expected, d.logs());
    });
  }
});
