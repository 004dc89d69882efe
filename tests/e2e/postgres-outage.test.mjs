// A PostgreSQL that goes away and comes back: while it is down, state calls get Dapr's errors
// and the sidecar keeps serving; once it is back on the same port, calls succeed again with
// no restart of daprd. The test runs its own server (initdb + pg_ctl as the postgres user).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { T, freePort, makeClient, uid, useDaprd, waitFor, within } from "./lib/daprd.mjs";
import { GrpcCode, expectDaprError, expectGrpcError, expectStatus, req } from "./lib/http.mjs";

const STORE = "pgstore";

function postgresBin() {
  const root = "/usr/lib/postgresql";
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error("no PostgreSQL server under /usr/lib/postgresql");
  return `${root}/${versions[0]}/bin`;
}

class PostgresServer {
  constructor(port) {
    this.port = port;
    // Under /tmp: the postgres user must reach it, which a checkout under /root would not allow.
    this.dir = mkdtempSync(path.join(os.tmpdir(), "dapr-e2e-pg-"));
    chmodSync(this.dir, 0o777);  // the postgres user creates its data folder inside
    this.data = `${this.dir}/data`;
    this.bin = postgresBin();
  }
  asPostgres(tool, args) {
    return execFileSync("runuser", ["-u", "postgres", "--", `${this.bin}/${tool}`, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 60_000,
    });
  }
  init() {
    this.asPostgres("initdb", ["-D", this.data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"]);
  }
  start() {
    this.asPostgres("pg_ctl", [
      "-D", this.data, "-l", `${this.dir}/server.log`, "-w", "-o",
      `-p ${this.port} -c listen_addresses=127.0.0.1 -k ${this.dir} -c fsync=off`, "start",
    ]);
  }
  stop() {
    try {
      this.asPostgres("pg_ctl", ["-D", this.data, "-m", "immediate", "-w", "stop"]);
    } catch {}
  }
}

describe("postgresql outage", { timeout: 180_000 }, () => {
  let pg;
  before(() => {
    pg = new PostgresServer(0);
  });
  before(async () => {
    pg.port = await freePort();
    pg.init();
    pg.start();
  }, { timeout: 60_000 });
  after(() => {
    pg?.stop();
    if (pg && !process.env.DAPR_E2E_KEEP_TMP) rmSync(pg.dir, { recursive: true, force: true });
  });
  const daprd = useDaprd(() => ({
    components: [{
      name: STORE,
      type: "state.postgresql",
      metadata: { connectionString: `host=127.0.0.1 port=${pg.port} user=postgres dbname=postgres connect_timeout=2`, timeout: "3s" },
    }],
  }));
  const key = `outage-${uid()}`;
  let grpc;
  before(async () => {
    grpc = makeClient(daprd, "grpc");
    await within(15_000, grpc.start(), "client.start()");
  });

  test("save and get work while postgresql is up", T, async () => {
    expectStatus(await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "before" }] }), 204);
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`);
    expectStatus(got, 200);
    assert.equal(got.json, "before", got.describe());
  });

  test("postgresql stopped: save 500 ERR_STATE_SAVE, get 500 ERR_STATE_GET, gRPC Internal", { timeout: 40_000 }, async () => {
    pg.stop();
    const save = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "during" }], timeoutMs: 10_000 });
    expectDaprError(save, 500, "ERR_STATE_SAVE");
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`, { timeoutMs: 10_000 });
    expectDaprError(got, 500, "ERR_STATE_GET");
    await expectGrpcError(within(10_000, grpc.state.get(STORE, key), "GetState"), GrpcCode.Internal, { what: "GetState" });
    expectStatus(await req(daprd, "GET", "/v1.0/healthz"), 204);
    assert.equal(daprd.exit, null, "daprd exited");
  });

  test("postgresql back on the same port: calls succeed again without restarting daprd", { timeout: 60_000 }, async () => {
    const pid = daprd.proc.pid;
    pg.start();
    await waitFor(
      async () => {
        const r = await req(daprd, "POST", `/v1.0/state/${STORE}`, { json: [{ key, value: "after" }], timeoutMs: 10_000 });
        return r.status === 204 ? r : false;
      },
      { ms: 30_000, every: 250, what: "save succeeds after postgresql restart" },
    );
    const got = await req(daprd, "GET", `/v1.0/state/${STORE}/${key}`);
    expectStatus(got, 200);
    assert.equal(got.json, "after", got.describe());
    assert.equal(await within(10_000, grpc.state.get(STORE, key), "GetState"), "after");
    assert.equal(daprd.proc.pid, pid);
  });
});
