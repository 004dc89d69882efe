"""Turns the raw figures bench/run.sh collected (in the folder given as argv[1], plus
environment variables) into bench/RESULTS.md on stdout."""
import json
import os
import statistics
import sys

work = sys.argv[1]
env = os.environ


def lines(name):
    with open(os.path.join(work, name)) as f:
        return [json.loads(line) for line in f if line.strip()]


latency = lines("latency.jsonl")
load = lines("load.jsonl")
starts = lines("starts.jsonl")

# Median over the runs of every figure, per scenario; the p50 spread kept apart.
by_scenario = {}
for row in latency:
    by_scenario.setdefault(row["scenario"], []).append(row)


def med(scenario, field):
    values = [r[field] for r in by_scenario[scenario] if r.get(field) is not None]
    return statistics.median(values) if values else None


def spread(scenario):
    p50s = [r["p50_us"] for r in by_scenario[scenario]]
    lo, hi, mid = min(p50s), max(p50s), statistics.median(p50s)
    return f"{lo:.1f}–{hi:.1f} (±{(hi - lo) / 2 / mid * 100:.0f}%)"


def us(value):
    return "–" if value is None else f"{value:.1f}"


out = []
w = out.append

w("# State benchmark results")
w("")
w("Written by `bench/run.sh` (see `bench/README.md`); do not edit by hand, run it again.")
w("")
w(f"- Date: {env['DATE']}")
w(f"- Machine: {env['MACHINE_NPROC']} CPUs, {env['MACHINE_CPU']}, {env['MACHINE_MEM']} RAM, "
  f"{env['MACHINE_KERNEL']}, {env['MACHINE_OS']}")
w(f"- Load average (1, 5, 15 min) before: {env['LOAD_BEFORE']}; after: {env['LOAD_AFTER']} "
  "(the machine may be shared: a load above 0 means other work competed for the 2 cores)")
w(f"- Command: `{env['COMMAND']}` (took {float(env['ELAPSED']):.0f} s, build included)")
w(f"- Commit: {env['GIT_COMMIT']}")
w(f"- Redis {env['REDIS_VERSION']}, daprd built RelWithDebInfo (`scripts/build.sh`); "
  "everything on 127.0.0.1")
w(f"- Closed loop, one request in flight, {int(env['REQUESTS'])} timed requests after "
  f"{int(env['WARMUP'])} warm-up, value {int(env['VALUE_BYTES'])} bytes, each scenario run "
  f"{int(env['RUNS'])} times in rounds; tables show the median of the runs, and the p50 "
  "spread (min–max over the runs) shows run-to-run noise")
w("")

# ---- targets -----------------------------------------------------------------------------
pairs = [  # daprd scenario, comparable direct script read/write, plain command
    ("http-get", "redis-evalsha-get", "redis-get"),
    ("grpc-get", "redis-evalsha-get", "redis-get"),
    ("http-save", "redis-evalsha-set", "redis-set"),
    ("grpc-save", "redis-evalsha-set", "redis-set"),
]
added = {d: {p: med(d, p) - med(s, p) for p in ("p50_us", "p90_us", "p99_us", "mean_us")}
         for d, s, _ in pairs}
added_plain = {d: {p: med(d, p) - med(c, p) for p in ("p50_us", "p90_us", "p99_us", "mean_us")}
               for d, _, c in pairs}
cold = sorted(s["ready_ms"] for s in starts if s["kind"] == "cold")
warm = sorted(s["ready_ms"] for s in starts if s["kind"] == "warm")
idle_mb = int(env["RSS_IDLE"]) / 1024
hwm_load_mb = max([int(env["HWM_REDIS"])] + [r["hwm_kb"] for r in load]) / 1024


def verdict(ok):
    return "**met**" if ok else "**not met**"


worst_added = max(added[d]["p50_us"] for d in added)
w("## Targets")
w("")
w("| target | measured | verdict |")
w("| --- | --- | --- |")
w(f"| added p50 over direct Redis ≤ 50 µs | " +
  ", ".join(f"{d} +{added[d]['p50_us']:.1f} µs" for d in added) +
  f" (over the same Lua script run directly) | {verdict(worst_added <= 50)} |")
w(f"| idle RSS ≤ 8 MB | {idle_mb:.1f} MB after {float(env['IDLE_ELAPSED']):.0f} s idle "
  f"(embedded SQLite default) | {verdict(idle_mb <= 8)} |")
w(f"| start to ready ≤ 20 ms | median {statistics.median(cold):.1f} ms cold, "
  f"{statistics.median(warm):.1f} ms warm | {verdict(statistics.median(cold) <= 20)} |")
w("")
w("For comparison, Dapr's own sidecar (Go `daprd`), as published by the Dapr project: about "
  "0.55 ms p50 for a state GET against an in-memory store, and about 50 MB RSS under load.")
w("")
w("| figure | Dapr's daprd (reference) | dapr-cpp daprd (here) | verdict |")
w("| --- | --- | --- | --- |")
w(f"| state GET p50, end to end (HTTP) | ~550 µs (in-memory store) | {med('http-get', 'p50_us'):.0f} µs "
  f"(Redis, itself {med('redis-evalsha-get', 'p50_us'):.0f} µs) | "
  f"{verdict(med('http-get', 'p50_us') < 550)} (below the reference) |")
w(f"| state GET p50, end to end (gRPC) | ~550 µs (in-memory store) | {med('grpc-get', 'p50_us'):.0f} µs "
  f"| {verdict(med('grpc-get', 'p50_us') < 550)} (below the reference) |")
w(f"| RSS under load | ~50 MB | {hwm_load_mb:.1f} MB (VmHWM after all scenarios and the "
  f"{env['LOAD_CONNECTIONS']}-connection load) | {verdict(hwm_load_mb < 50)} (below the reference) |")
w("")

# ---- latency -----------------------------------------------------------------------------
w("## Latency, closed loop (µs)")
w("")
w("| scenario | p50 | p90 | p99 | p99.9 | mean | req/s | p50 spread over runs | "
  "daprd CPU-s per 10k req | Redis CPU-s per 10k req |")
w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for scenario in by_scenario:
    sidecar = med(scenario, "sidecar_cpu_s_per_10k") if scenario[:5] in ("http-", "grpc-") else None
    w(f"| {scenario} | {us(med(scenario, 'p50_us'))} | {us(med(scenario, 'p90_us'))} | "
      f"{us(med(scenario, 'p99_us'))} | {us(med(scenario, 'p999_us'))} | {us(med(scenario, 'mean_us'))} | "
      f"{med(scenario, 'throughput_rps'):.0f} | {spread(scenario)} | "
      f"{'–' if sidecar is None else f'{sidecar:.2f}'} | {med(scenario, 'redis_cpu_s_per_10k'):.2f} |")
w("")
w("`redis-get` is `HGET key data`, `redis-set` is `HSET key data V version 1`; "
  "`redis-evalsha-get` and `redis-evalsha-set` run daprd's own state.redis Lua scripts "
  "(`components/state/redis/redis_scripts.h`) with EVALSHA, which is exactly what daprd sends "
  "for one GET or one save. CPU is utime+stime from `/proc/PID/stat` over the timed requests "
  "(warm-up excluded); the load generator shares the same 2 cores.")
w("")
w("## Added latency: daprd minus direct Redis (µs)")
w("")
w("| daprd scenario | baseline | p50 | p90 | p99 | mean |")
w("| --- | --- | --- | --- | --- | --- |")
for d, s, c in pairs:
    for base, table in ((s, added), (c, added_plain)):
        a = table[d]
        w(f"| {d} | {base} | {a['p50_us']:+.1f} | {a['p90_us']:+.1f} | {a['p99_us']:+.1f} | "
          f"{a['mean_us']:+.1f} |")
w("")
w("The script baseline is the fair one (daprd sends exactly that); the plain-command "
  "baseline adds the cost of Dapr's hash-plus-script layout on top.")
w("")

# ---- concurrent load ---------------------------------------------------------------------
w(f"## Concurrent load: wrk, 1 thread, {env['LOAD_CONNECTIONS']} connections, "
  f"{env['LOAD_SECONDS']} s, HTTP")
w("")
w("| scenario | req/s | p50 µs | p90 µs | p99 µs | non-2xx | daprd CPU-s per 10k req | "
  "daprd VmRSS after | daprd VmHWM after |")
w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for r in load:
    w(f"| {r['scenario']} | {r['rps']:.0f} | {us(r['p50_us'])} | {us(r['p90_us'])} | "
      f"{us(r['p99_us'])} | {r['non2xx']} | {r['sidecar_cpu_s_per_10k']:.2f} | "
      f"{r['rss_kb'] / 1024:.1f} MB | {r['hwm_kb'] / 1024:.1f} MB |")
w("")
w(f"daprd with state.redis: RSS {int(env['RSS_REDIS_READY']) / 1024:.1f} MB when ready, "
  f"VmHWM {int(env['HWM_REDIS']) / 1024:.1f} MB at the end of part 1, "
  f"{float(env['CPU_REDIS_TOTAL']):.1f} CPU-s in all.")
w("")

# ---- startup, idle, size -----------------------------------------------------------------
w("## Start, idle memory, size (no resources path: embedded SQLite `statestore`)")
w("")
w("| figure | value |")
w("| --- | --- |")
w(f"| start to first 204 from /v1.0/healthz, cold (new HOME, SQLite file created), "
  f"{len(cold)} starts | median {statistics.median(cold):.1f} ms, min {cold[0]:.1f}, max {cold[-1]:.1f} |")
w(f"| same, warm (HOME reused), {len(warm)} starts | median {statistics.median(warm):.1f} ms, "
  f"min {warm[0]:.1f}, max {warm[-1]:.1f} |")
stops = sorted(s["stop_ms"] for s in starts)
w(f"| SIGTERM to exit, {len(stops)} stops | median {statistics.median(stops):.1f} ms, max {stops[-1]:.1f} |")
try:
    with open(os.path.join(work, "hyperfine.json")) as f:
        h = json.load(f)["results"][0]
    w(f"| hyperfine, start + ready + SIGTERM + exit (warm, {len(h['times'])} runs) | "
      f"mean {h['mean'] * 1000:.1f} ms ± {h['stddev'] * 1000:.1f}, median {h['median'] * 1000:.1f} |")
except (OSError, KeyError, IndexError, ValueError):
    w("| hyperfine | not available |")
w(f"| RSS when ready | {int(env['RSS_IDLE_READY']) / 1024:.1f} MB |")
w(f"| RSS after {float(env['IDLE_ELAPSED']):.0f} s idle (VmRSS / VmHWM) | "
  f"{idle_mb:.1f} MB / {int(env['HWM_IDLE']) / 1024:.1f} MB |")
w(f"| CPU used while idle | {float(env['CPU_IDLE']):.2f} s over {float(env['IDLE_ELAPSED']):.0f} s |")
w(f"| threads when idle | {env['THREADS_IDLE']} |")
w(f"| binary size, stripped (`strip -o`) | {int(env['SIZE_STRIPPED']) / 1048576:.1f} MiB "
  f"({int(env['SIZE_STRIPPED'])} bytes; {int(env['SIZE_UNSTRIPPED']) / 1048576:.1f} MiB with debug info), "
  f"plus {env['SHARED_LIBS']} shared libraries |")
w("")
print("\n".join(out))
