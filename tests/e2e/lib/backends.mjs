// The state-store backends the suites run against, and what each is expected to declare.
// Redis and PostgreSQL come from DAPR_TEST_REDIS_ADDR / DAPR_TEST_PG_CONN (scripts/services.sh);
// a missing variable makes the suite's setup throw, so the suite fails rather than skips.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { tempDir, uid } from "./daprd.mjs";

export function requireEnv(name) {
  const v = process.env[name];
  if (!v) {
    throw new Error(`${name} is not set: start the backends with scripts/services.sh and source its env file`);
  }
  return v;
}

/** Runs SQL through psql against DAPR_TEST_PG_CONN; returns stdout (tuples only, unaligned). */
export function psql(sql) {
  const conn = requireEnv("DAPR_TEST_PG_CONN");
  return execFileSync("psql", [conn, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql], {
    encoding: "utf8",
    timeout: 10_000,
  }).trim();
}

/** Runs a redis-cli command against DAPR_TEST_REDIS_ADDR (or addr); returns stdout. */
export function redisCli(args, addr = requireEnv("DAPR_TEST_REDIS_ADDR")) {
  const [host, port] = addr.split(":");
  return execFileSync("redis-cli", ["-h", host, "-p", port, "--raw", ...args], {
    encoding: "utf8",
    timeout: 10_000,
  }).trim();
}

// Dapr 1.16 (contrib v1.16.13) declares ETAG, TRANSACTIONAL, TTL on all four stores; QUERY_API only on
// postgresql (and on redis with RedisJSON). QUERY_API on in-memory and sqlite is this project's addition.
const BASE_CAPS = ["ETAG", "TRANSACTIONAL", "TTL"];

/**
 * Backend descriptors. `create()` is called inside a hook and returns an instance whose
 * `component(name, extra)` gives a component spec; all components of one instance share
 * the same underlying data (same SQLite file, same Redis, same PostgreSQL table).
 */
export const BACKENDS = [
  {
    name: "in-memory",
    type: "state.in-memory",
    caps: [...BASE_CAPS, "QUERY_API"],
    noCaps: [],
    query: true,
    shared: false, // each process has its own memory
    ttlExpireTimeHeader: true,
    // An etag that is not in the store's format is simply a mismatch for these stores.
    malformedEtagStatus: 409,
    create() {
      return {
        component: (name, extra = {}) => ({ name, type: "state.in-memory", metadata: { ...extra } }),
        cleanup() {},
      };
    },
  },
  {
    name: "sqlite",
    type: "state.sqlite",
    caps: [...BASE_CAPS, "QUERY_API"],
    noCaps: [],
    query: true,
    shared: true,
    ttlExpireTimeHeader: true,
    malformedEtagStatus: 409,
    create() {
      const dir = tempDir("sqlite");
      const file = path.join(dir, "state.db");
      return {
        file,
        component: (name, extra = {}) => ({ name, type: "state.sqlite", metadata: { connectionString: file, ...extra } }),
        cleanup() {
          if (!process.env.DAPR_E2E_KEEP_TMP) rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: "redis",
    type: "state.redis",
    env: "DAPR_TEST_REDIS_ADDR",
    caps: [...BASE_CAPS],
    noCaps: ["QUERY_API"],
    query: false,
    shared: true,
    ttlExpireTimeHeader: false, // Dapr's redis store returns no metadata on GET
    // Redis etags are integer versions: a non-integer etag is invalid (400), not a mismatch.
    malformedEtagStatus: 400,
    create() {
      const addr = requireEnv("DAPR_TEST_REDIS_ADDR");
      return {
        addr,
        component: (name, extra = {}) => ({ name, type: "state.redis", metadata: { redisHost: addr, ...extra } }),
        rawKeyExists: (key) => redisCli(["EXISTS", key]) === "1",
        cleanup() {},
      };
    },
  },
  {
    name: "postgresql",
    type: "state.postgresql",
    env: "DAPR_TEST_PG_CONN",
    caps: [...BASE_CAPS, "QUERY_API"],
    noCaps: [],
    query: true,
    shared: true,
    ttlExpireTimeHeader: true,
    // Dapr's v1 store uses xmin numbers, v2 (and dapr-cpp) UUIDs: "not-an-etag" is invalid (400) either way.
    malformedEtagStatus: 400,
    create() {
      const conn = requireEnv("DAPR_TEST_PG_CONN");
      const table = `e2e_state_${uid(5)}`;
      return {
        table,
        component: (name, extra = {}) => ({
          name,
          type: "state.postgresql",
          metadata: { connectionString: conn, tableName: table, ...extra },
        }),
        rawKeyExists: (key) => psql(`SELECT count(*) FROM ${table} WHERE key = '${key.replaceAll("'", "''")}'`) === "1",
        cleanup() {
          try {
            psql(`DROP TABLE IF EXISTS ${table}`);
          } catch {}
        },
      };
    },
  },
];
