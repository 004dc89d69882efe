// Harness for the e2e suites: starts the real daprd binary on OS-chosen ports with its own
// temporary HOME and resources folder, waits for /v1.0/healthz, and stops it again.
// Everything a test needs to talk to a sidecar (plain fetch, @dapr/dapr clients) lives here.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { randomBytes } from "node:crypto";
import { after, before } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CommunicationProtocolEnum, DaprClient, DaprServer, LogLevel } from "@dapr/dapr";

const here = path.dirname(fileURLToPath(import.meta.url));
export const E2E_DIR = path.resolve(here, "..");
export const REPO_ROOT = path.resolve(E2E_DIR, "../..");
export const DAPRD_BIN = process.env.DAPRD_BIN || path.join(REPO_ROOT, "build/bin/daprd");
const TMP_ROOT = process.env.DAPR_E2E_TMP || path.join(E2E_DIR, ".tmp");
const VERBOSE = !!process.env.DAPR_E2E_VERBOSE;

// The SDK silently picks these up from the environment; the tests must control them.
for (const name of ["DAPR_API_TOKEN", "DAPR_HTTP_ENDPOINT", "DAPR_GRPC_ENDPOINT", "DAPR_HTTP_PORT", "DAPR_GRPC_PORT"]) {
  delete process.env[name];
}

/** Default per-test options: every test gets a bounded run time. */
export const T = { timeout: 30_000 };
/** Options for hooks that start sidecars. */
export const HOOK = { timeout: 30_000 };

export const PROTOCOLS = [
  { name: "http", protocol: CommunicationProtocolEnum.HTTP },
  { name: "grpc", protocol: CommunicationProtocolEnum.GRPC },
];

export function uid(n = 6) {
  return randomBytes(n).toString("hex");
}

// Ports this process has handed out: the OS may offer a just-closed port again, and two
// sidecars (or one sidecar's HTTP and gRPC ports) must never be given the same one.
const handedOut = new Set();

function bindEphemeral() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A port that was free a moment ago and that this process has not handed out before. */
export async function freePort() {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await bindEphemeral();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no unused free port found in 100 attempts");
}

/** A fresh directory under tests/e2e/.tmp (git-ignored). */
export function tempDir(prefix = "d") {
  const dir = path.join(TMP_ROOT, `${prefix}-${process.pid}-${uid(4)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Component YAML. metadata: {name: value} (values are strings). */
export function componentYaml({ name, type, version = "v1", metadata = {}, scopes }) {
  const lines = [
    "apiVersion: dapr.io/v1alpha1",
    "kind: Component",
    "metadata:",
    `  name: ${JSON.stringify(name)}`,
    "spec:",
    `  type: ${JSON.stringify(type)}`,
    `  version: ${JSON.stringify(version)}`,
    "  metadata:",
  ];
  const entries = Object.entries(metadata);
  if (entries.length === 0) lines[lines.length - 1] = "  metadata: []";
  for (const [k, v] of entries) {
    lines.push(`  - name: ${JSON.stringify(k)}`, `    value: ${JSON.stringify(String(v))}`);
  }
  if (scopes) {
    lines.push("scopes:");
    for (const s of scopes) lines.push(`- ${JSON.stringify(s)}`);
  }
  return lines.join("\n") + "\n";
}

const running = new Set();
process.on("exit", () => {
  for (const d of running) {
    try {
      d.proc.kill("SIGKILL");
    } catch {}
  }
});

/**
 * One daprd process.
 * opts: appId, components: [{name,type,version,metadata,scopes} | yaml string],
 *       resources: false to pass no --resources-path at all, home: reuse a HOME dir,
 *       env: extra environment, args: extra flags, apiToken, maxRequestSizeMb,
 *       httpPort/grpcPort: fixed ports, logLevel, startTimeoutMs,
 *       ready: "healthz" (default: wait for /v1.0/healthz 204) or "outbound" (wait for
 *       /v1.0/healthz/outbound 204 only: with --app-port, daprd is not ready until the app listens).
 */
export class Daprd {
  constructor(opts = {}) {
    this.opts = opts;
    this.appId = opts.appId ?? `e2e-${uid(4)}`;
    this.logLines = [];
    this.proc = null;
    this.exit = null; // {code, signal} once exited
  }

  get httpUrl() {
    return `http://127.0.0.1:${this.httpPort}`;
  }

  logs() {
    return this.logLines.join("");
  }

  async start() {
    if (!existsSync(DAPRD_BIN)) {
      throw new Error(`daprd binary not found at ${DAPRD_BIN} (build it first or set DAPRD_BIN)`);
    }
    const o = this.opts;
    this.dir = tempDir(this.appId);
    this.home = o.home ?? path.join(this.dir, "home");
    mkdirSync(this.home, { recursive: true });
    this.httpPort = o.httpPort ?? (await freePort());
    this.grpcPort = o.grpcPort ?? (await freePort());
    this.metricsPort = await freePort();
    const args = [
      "--app-id", this.appId,
      "--dapr-http-port", String(this.httpPort),
      "--dapr-grpc-port", String(this.grpcPort),
      "--metrics-port", String(this.metricsPort),
      "--dapr-listen-addresses", "127.0.0.1",
      "--dapr-internal-grpc-listen-address", "127.0.0.1",
      "--log-level", o.logLevel ?? "info",
    ];
    if (o.resources !== false) {
      this.resourcesDir = path.join(this.dir, "resources");
      mkdirSync(this.resourcesDir, { recursive: true });
      (o.components ?? []).forEach((c, i) => {
        const yaml = typeof c === "string" ? c : componentYaml(c);
        writeFileSync(path.join(this.resourcesDir, `component-${i}.yaml`), yaml);
      });
      args.push("--resources-path", this.resourcesDir);
    }
    if (o.maxRequestSizeMb !== undefined) args.push("--dapr-http-max-request-size", String(o.maxRequestSizeMb));
    args.push(...(o.args ?? []));

    const env = { ...process.env, HOME: this.home, ...(o.env ?? {}) };
    delete env.NAMESPACE;
    if (o.apiToken) env.DAPR_API_TOKEN = o.apiToken;

    this.args = args;
    this.proc = spawn(DAPRD_BIN, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    running.add(this);
    const collect = (stream) => (chunk) => {
      const s = chunk.toString();
      this.logLines.push(s);
      if (this.logLines.length > 4000) this.logLines.splice(0, 1000);
      if (VERBOSE) process.stderr.write(`[daprd ${this.appId} ${stream}] ${s}`);
    };
    this.proc.stdout.on("data", collect("out"));
    this.proc.stderr.on("data", collect("err"));
    this.exited = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        running.delete(this);
        resolve(this.exit);
      });
      this.proc.on("error", (err) => {
        this.logLines.push(`spawn error: ${err}\n`);
        this.exit = { code: null, signal: null, error: err };
        running.delete(this);
        resolve(this.exit);
      });
    });

    const route = o.ready === "outbound" ? "/v1.0/healthz/outbound" : "/v1.0/healthz";
    const failure = await this.#poll204(route, o.startTimeoutMs ?? 10_000);
    if (!failure) return this;
    await this.stop();
    throw new Error(`${failure}\ncommand: ${DAPRD_BIN} ${args.join(" ")}\n--- daprd output ---\n${this.logs()}--- end ---`);
  }

  /** Waits for /v1.0/healthz to answer 204 (e.g. once the app listens); throws after ms. */
  async waitReady(ms = 10_000) {
    const failure = await this.#poll204("/v1.0/healthz", ms);
    if (failure) throw new Error(`${failure}\n--- daprd output ---\n${this.logs()}--- end ---`);
  }

  // Polls the route until 204; returns undefined then, else why not.
  async #poll204(route, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer";
    while (Date.now() < deadline) {
      if (this.exit) break;
      try {
        const res = await fetch(`${this.httpUrl}${route}`, { signal: AbortSignal.timeout(1000) });
        await res.arrayBuffer();
        if (res.status === 204) return undefined;
        last = `status ${res.status}`;
      } catch (e) {
        last = String(e.cause?.code ?? e.message);
      }
      await sleep(50);
    }
    return this.exit
      ? `daprd exited early (code ${this.exit.code}, signal ${this.exit.signal})`
      : `GET ${route} did not answer 204 within ${timeoutMs} ms (last: ${last})`;
  }

  /** Waits for the process to exit; rejects after ms. */
  async waitExit(ms) {
    if (this.exit) return this.exit;
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`daprd ${this.appId} did not exit within ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGTERM, then SIGKILL after 5 s. Returns the exit {code, signal}. */
  async stop({ keepDir = false } = {}) {
    if (this.proc && !this.exit) {
      this.proc.kill("SIGTERM");
      try {
        await this.waitExit(5000);
      } catch {
        this.proc.kill("SIGKILL");
        await this.waitExit(5000).catch(() => {});
      }
    }
    if (!keepDir && !this.opts.keepDir && this.dir && !process.env.DAPR_E2E_KEEP_TMP) {
      rmSync(this.dir, { recursive: true, force: true });
    }
    return this.exit;
  }
}

/**
 * Starts a daprd in a `before` hook of the enclosing describe and stops it in `after`.
 * optsOrFn may be a function, evaluated inside the hook (so a missing env variable fails the suite).
 * Returns the Daprd object (usable once the hook ran).
 */
export function useDaprd(optsOrFn = {}) {
  const holder = new Daprd({});
  before(async () => {
    const opts = typeof optsOrFn === "function" ? await optsOrFn() : optsOrFn;
    Object.assign(holder, new Daprd(opts));
    await holder.start();
  }, HOOK);
  after(async () => {
    await holder.stop();
  }, HOOK);
  return holder;
}

const silentLogger = { error() {}, warn() {}, info() {}, verbose() {}, debug() {} };

// The SDK's DaprServer as an app of `daprd` on appPort, speaking app.protocol (an entry of
// PROTOCOLS) both ways; quiet but for errors. The caller subscribes, then starts it.
export function sdkServer(daprd, app, appPort) {
  return new DaprServer({
    serverHost: "127.0.0.1",
    serverPort: String(appPort),
    communicationProtocol: app.protocol,
    clientOptions: { daprHost: "127.0.0.1", daprPort: String(app.name === "grpc" ? daprd.grpcPort : daprd.httpPort),
                     communicationProtocol: app.protocol },
    logger: { level: LogLevel.Error, service: silentLogger },
  });
}

/** A DaprClient for the given sidecar and protocol ("http"/"grpc" or the enum). */
export function makeClient(daprd, protocol, { token, maxBodySizeMb } = {}) {
  const proto = typeof protocol === "string"
    ? (protocol === "grpc" ? CommunicationProtocolEnum.GRPC : CommunicationProtocolEnum.HTTP)
    : protocol;
  const port = proto === CommunicationProtocolEnum.GRPC ? daprd.grpcPort : daprd.httpPort;
  const options = {
    daprHost: "127.0.0.1",
    daprPort: String(port),
    communicationProtocol: proto,
    logger: { level: LogLevel.Error, service: process.env.DAPR_E2E_VERBOSE ? undefined : silentLogger },
  };
  if (token !== undefined) options.daprApiToken = token;
  if (maxBodySizeMb !== undefined) options.maxBodySizeMb = maxBodySizeMb;
  return new DaprClient(options);
}

/** Stops a test app's node:http server, its open connections included. */
export async function stopApp(server) {
  if (!server) return;
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeAllConnections();
  await within(5000, closed, "app close");
}

/** Races a promise against a timeout so a hanging SDK call fails the test instead of the run. */
export async function within(ms, promise, what = "operation") {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Polls fn until it returns a truthy value; returns it, or throws after ms with the last value. */
export async function waitFor(fn, { ms = 5000, every = 100, what = "condition" } = {}) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what} not met within ${ms} ms (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    }
    await sleep(every);
  }
}

export { sleep };
