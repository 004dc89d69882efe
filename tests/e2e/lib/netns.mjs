// Private networks for tests that need real multicast (mDNS), which must never reach this
// machine's own interfaces: a namespace holding a Linux bridge, and "host" namespaces each
// plugged into it by a veth pair. Nothing is created in the root namespace: each veth pair
// is born inside its host and its peer moved straight into the bridge's namespace.
// Needs root and iproute2 (scripts/install-deps.sh).
import { execFileSync, spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { uid } from "./daprd.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const VERBOSE = !!process.env.DAPR_E2E_VERBOSE;
const FETCH_SCRIPT = path.join(here, "netns-fetch.mjs");

function ip(...args) {
  execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
}

// Every Lan not yet destroyed, so that even a crashed run leaves no namespace behind.
const live = new Set();
process.on("exit", () => {
  for (const lan of live) lan.destroySync();
});
// A signal would end the process without "exit": clean up, then die as the signal asked.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]]) {
  process.once(signal, () => process.exit(code));
}

export class Lan {
  /** hostCount hosts at 10.231.0.1, .2, ... on one bridge; names unique to this run. */
  constructor(hostCount) {
    this.prefix = `dapr-e2e-${process.pid}-${uid(2)}`;
    this.bridgeNs = `${this.prefix}-lan`;
    this.hosts = Array.from({ length: hostCount }, (_, i) => ({
      ns: `${this.prefix}-h${i}`,
      ip: `10.231.0.${i + 1}`,
    }));
    this.processes = new Set();
    live.add(this);
    try {
      this.build();
    } catch (e) {
      this.destroySync();
      throw new Error(`cannot build the test network (root and iproute2 needed): ${e.stderr ?? e.message}`);
    }
  }

  build() {
    ip("netns", "add", this.bridgeNs);
    ip("-n", this.bridgeNs, "link", "add", "br0", "type", "bridge");
    ip("-n", this.bridgeNs, "link", "set", "br0", "up");
    this.hosts.forEach((host, i) => {
      ip("netns", "add", host.ns);
      ip("-n", host.ns, "link", "add", "eth0", "type", "veth", "peer", "name", `port${i}`, "netns", this.bridgeNs);
      ip("-n", this.bridgeNs, "link", "set", `port${i}`, "master", "br0", "up");
      ip("-n", host.ns, "addr", "add", `${host.ip}/24`, "dev", "eth0");
      ip("-n", host.ns, "link", "set", "eth0", "up");
      ip("-n", host.ns, "link", "set", "lo", "up");
      ip("-n", host.ns, "route", "add", "224.0.0.0/4", "dev", "eth0");
    });
  }

  /**
   * Starts `command args` inside a host's namespace. `ip netns exec` execs the command, so
   * the child's pid is the command's own and signals reach it directly.
   */
  spawn(host, command, args, { env, name = command } = {}) {
    const child = spawn("ip", ["netns", "exec", host.ns, command, ...args], {
      env: env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.output = [];
    const collect = (chunk) => {
      child.output.push(chunk.toString());
      if (VERBOSE) process.stderr.write(`[${name} @${host.ip}] ${chunk}`);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    child.exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
    this.processes.add(child);
    child.exited.then(() => this.processes.delete(child));
    return child;
  }

  /**
   * Runs lib/netns-fetch.mjs inside a host: the only way to reach that host's loopback.
   * spec: {waitFor: {url, status, ms}, pauseMs, requests: [{url, method, repeat}]}.
   */
  fetchFrom(host, spec) {
    const out = execFileSync("ip", ["netns", "exec", host.ns, process.execPath, FETCH_SCRIPT, JSON.stringify(spec)], {
      encoding: "utf8",
      timeout: 20_000,
    });
    return JSON.parse(out);
  }

  /** SIGTERM to one process, SIGKILL after ms. */
  async stop(child, ms = 5000) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), ms);
    await child.exited;
    clearTimeout(timer);
  }

  /** Stops every process still running, then deletes the namespaces. */
  async destroy() {
    await Promise.all([...this.processes].map((child) => this.stop(child)));
    this.destroySync();
  }

  destroySync() {
    for (const child of this.processes) {
      try {
        child.kill("SIGKILL");
      } catch {}
    }
    for (const ns of [...this.hosts.map((h) => h.ns), this.bridgeNs]) {
      try {
        ip("netns", "del", ns);
      } catch {} // never created, or already gone
    }
    live.delete(this);
  }
}
