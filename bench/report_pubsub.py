"""The pub/sub section of bench/RESULTS.md, from what bench/pubsub.sh collected in the folder
given as argv[1]: pubsub-latency.jsonl (closed loop, one line per scenario and round),
pubsub-rate.jsonl (open loop at a fixed rate), pubsub-e2e.jsonl (end to end, kind "rate" and
"max", per scenario and round), pubsub-sidecars.jsonl (RSS when ready and at the end), and
pubsub.sh's exported knobs. Printed on stdout; bench/run.sh appends it to RESULTS.md. With
PUBSUB_HEADER=1 (pubsub.sh run alone) a short header with the machine comes first."""
import json
import os
import statistics
import subprocess
import sys

ADDED_P50_TARGET_US = 50
THROUGHPUT_TARGET = 0.5  # of the direct figure
DAPR_P50_MS, DAPR_P99_MS = 0.57, 1.54  # Dapr: gRPC publish to its in-memory broker, 1000 rps
PROTOCOLS = {"http": "HTTP", "grpc": "gRPC"}
PLACEMENTS = {
    "spread": "scheduler's placement (as deployed)",
    "pinned": "client, Redis and the pub daprd (all threads) pinned to one CPU: no cross-CPU wake-ups, "
              "the software's own cost",
}
CLIENTS = {
    "redis": "hiredis, XADD straight to Redis",
    "http": "raw HTTP/1.1 client → pub daprd",
    "grpc": "lean gRPC client (nghttp2) → pub daprd",
}
E2E_PATHS = {
    "redis": "direct: XADD → Redis → XREADGROUP + XACK (hiredis)",
    "http": "HTTP publish → pub daprd → Redis → sub daprd → app",
    "grpc": "gRPC publish → pub daprd → Redis → sub daprd → app",
}


def _lines(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def _fmt(value, digits=0):
    return "–" if value is None else f"{value:.{digits}f}"


def _med(rows, field):
    values = [r[field] for r in rows if r.get(field) is not None]
    return statistics.median(values) if values else None


def _per_10k(cpu_s, count):
    if cpu_s is None or not count:
        return None
    return cpu_s * 10000.0 / count


def _rounds(count):
    return "one round" if str(count) == "1" else f"median of {count} rounds"


def _verdict(ok):
    return "**met**" if ok else "**not met**"


def render(work, env, w):
    latency = _lines(work, "pubsub-latency.jsonl")
    rate = _lines(work, "pubsub-rate.jsonl")
    e2e = _lines(work, "pubsub-e2e.jsonl")
    sidecars = _lines(work, "pubsub-sidecars.jsonl")
    protocols = [p for p in env.get("PUBSUB_PROTOCOLS", "http grpc").split() if p in PROTOCOLS]

    lat = {}
    for r in latency:
        lat.setdefault((r.get("placement", "spread"), r["scenario"]), []).append(r)
    placements = [p for p in PLACEMENTS if any(k[0] == p for k in lat)]
    runs = {}
    for r in e2e:
        runs.setdefault((r["kind"], r["scenario"]), []).append(r)

    def lmed(scenario, field, placement="spread"):
        return _med(lat.get((placement, scenario), []), field)

    def emed(kind, scenario, field):
        return _med(runs.get((kind, scenario), []), field)

    payload = env.get("PUBSUB_PAYLOAD_BYTES", "?")
    conns = env.get("PUBSUB_E2E_CONNECTIONS", "?")
    w("## Pub/sub (Redis Streams)")
    w("")
    w(f"- Command: `{env.get('PUBSUB_COMMAND', 'bench/pubsub.sh')}` (pub/sub part: "
      f"{float(env.get('PUBSUB_ELAPSED', 0)):.0f} s); load average before {env.get('PS_LOAD_BEFORE', '?')}, "
      f"after {env.get('PS_LOAD_AFTER', '?')}")
    w(f"- Redis {env.get('PS_REDIS_VERSION', '?')} of its own (`--save '' --appendonly no`), one component "
      "`pubsub` of type `pubsub.redis` with its defaults (queueDepth 100, concurrency 10, no trimming); "
      "everything on 127.0.0.1, sharing the machine's CPUs")
    w("- Two sidecars, as two apps would have them: `pub` (`--app-id pub`, no app) takes the publishes; "
      "`sub` (`--app-id sub --app-port`, consumer group `sub`) reads the topics and delivers to "
      "`pubsub_app` over HTTP (`POST /events`, answered 200 `{\"status\":\"SUCCESS\"}`)")
    w(f"- Payload: {payload} bytes of JSON (`application/json`), which daprd wraps in a CloudEvent; the "
      "direct XADD writes the same fields daprd writes (`data` <the CloudEvent, built as daprd builds it>, "
      "`contentType application/cloudevents+json`): one stream entry read back is "
      f"{env.get('PS_ENTRY_DAPRD', '?')} bytes as daprd wrote it, {env.get('PS_ENTRY_DIRECT', '?')} as the "
      "direct XADD did")
    warnings = env.get("PS_WARNINGS", "0")
    if warnings not in ("", "0"):
        w(f"- The sidecars logged {warnings} warnings or errors during the part")
    w("")

    # ---- targets ---------------------------------------------------------------------------
    w("### Pub/sub: targets")
    w("")
    w("| target | measured | verdict |")
    w("| --- | --- | --- |")
    for placement in placements:
        direct_p50 = lmed("redis", "p50_us", placement)
        for p in protocols:
            p50 = lmed(p, "p50_us", placement)
            if p50 is None or direct_p50 is None:
                continue
            added = p50 - direct_p50
            w(f"| publish p50 added over a direct XADD ≤ {ADDED_P50_TARGET_US} µs, {PROTOCOLS[p]}, {placement} "
              f"(closed loop, one connection) | {p50:.0f} − {direct_p50:.0f} = {added:+.0f} µs | "
              f"{_verdict(added <= ADDED_P50_TARGET_US)} |")
    direct_rps = emed("max", "redis", "delivered_rps")
    for p in protocols:
        rps = emed("max", p, "delivered_rps")
        if rps is None or not direct_rps:
            continue
        share = rps / direct_rps
        w(f"| sustained end-to-end throughput ≥ {THROUGHPUT_TARGET:.0%} of direct Redis, {PROTOCOLS[p]} publish "
          f"({conns} publishing connections) | {rps:.0f} msg/s delivered vs {direct_rps:.0f} direct = "
          f"{share:.0%} | {_verdict(share >= THROUGHPUT_TARGET)} |")
    w("")

    # ---- Dapr ------------------------------------------------------------------------------
    grpc_rate = [r for r in rate if r["scenario"] == "grpc"]
    if grpc_rate:
        r = grpc_rate[-1]
        w(f"### Pub/sub: compared with Dapr's published figures (gRPC publish at {r['rate']:.0f} /s)")
        w("")
        w("| figure | Dapr's daprd (published; to its in-memory broker) | dapr-cpp daprd (here; to Redis Streams) |")
        w("| --- | --- | --- |")
        w(f"| publish p50 | {DAPR_P50_MS:.2f} ms | {r['p50_us'] / 1000:.2f} ms |")
        w(f"| publish p99 | {DAPR_P99_MS:.2f} ms | {r['p99_us'] / 1000:.2f} ms |")
        direct = next((x for x in rate if x["scenario"] == "redis"), None)
        if direct:
            w(f"| for reference: a direct XADD at the same rate, p50 / p99 | – | {direct['p50_us'] / 1000:.2f} ms / "
              f"{direct['p99_us'] / 1000:.2f} ms |")
        w("")
        w("Dapr's broker is in memory, this one is a Redis round trip away, so the comparison is not "
          "like for like: here the broker's own time is in the figure.")
        w("")

    # ---- 1. closed loop --------------------------------------------------------------------
    for placement in placements:
        w(f"### Pub/sub: publish latency, closed loop, {placement} (µs; {env.get('PUBSUB_REQUESTS', '?')} "
          f"publishes after {env.get('PUBSUB_WARMUP', '?')} warm-up, one connection, one in flight; "
          f"{_rounds(env.get('PUBSUB_ROUNDS', '?'))})")
        w("")
        w(f"Placement: {PLACEMENTS[placement]}.")
        w("")
        w("| scenario | client | p50 | p90 | p99 | p99.9 | mean | publishes/s | p50 over the rounds | "
          "CPU-s per 10k: daprd | Redis | client | daprd context switches per publish |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for scenario in ["redis"] + protocols:
            rows = lat.get((placement, scenario))
            if not rows:
                continue
            p50s = sorted(r["p50_us"] for r in rows)
            requests = rows[0]["requests"]
            ctxsw = _med(rows, "sidecar_ctxsw")
            client = _per_10k(_med(rows, "client_cpu_s"), requests)
            def m(field):
                return lmed(scenario, field, placement)
            w(f"| {scenario} | {CLIENTS[scenario]} | {m('p50_us'):.1f} | {m('p90_us'):.1f} | "
              f"{m('p99_us'):.1f} | {m('p999_us'):.1f} | {m('mean_us'):.1f} | "
              f"{m('throughput_rps'):.0f} | {p50s[0]:.1f}–{p50s[-1]:.1f} | "
              f"{_fmt(m('sidecar_cpu_s_per_10k'), 2)} | {_fmt(m('redis_cpu_s_per_10k'), 2)} | "
              f"{_fmt(client, 2)} | {_fmt(None if ctxsw is None else ctxsw / requests, 1)} |")
        w("")
        if (placement, "redis") in lat:
            w("| added over the direct XADD (µs) | p50 | p90 | p99 | mean |")
            w("| --- | --- | --- | --- | --- |")
            for p in protocols:
                if (placement, p) not in lat:
                    continue
                cells = [f"{lmed(p, f, placement) - lmed('redis', f, placement):+.1f}"
                         for f in ("p50_us", "p90_us", "p99_us", "mean_us")]
                w(f"| {PROTOCOLS[p]} publish through daprd | {' | '.join(cells)} |")
            w("")

    # ---- 2. fixed rate ---------------------------------------------------------------------
    if rate:
        w(f"### Pub/sub: publish at a fixed rate (open loop, {env.get('PUBSUB_RATE_CONNECTIONS', '?')} connections, "
          f"latency from each publish's due time; {env.get('PUBSUB_RATE_WARMUP_SECONDS', '?')} s warm-up, "
          f"{env.get('PUBSUB_RATE_SECONDS', '?')} s counted; µs)")
        w("")
        w("| scenario | rate | achieved /s | p50 | p90 | p99 | p99.9 | mean | errors | send lag p99 | "
          "CPU-s per 10k: daprd | Redis | client |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in rate:
            client = _per_10k(r.get("client_cpu_s"), r["count"])
            w(f"| {r['scenario']} | {r['rate']:.0f} | {r['achieved_rps']:.0f} | {r['p50_us']:.0f} | {r['p90_us']:.0f} | "
              f"{r['p99_us']:.0f} | {r['p999_us']:.0f} | {r['mean_us']:.0f} | {r['errors']} | {r['send_lag_p99_us']:.0f} | "
              f"{_fmt(r.get('sidecar_cpu_s_per_10k'), 2)} | {_fmt(r.get('redis_cpu_s_per_10k'), 2)} | {_fmt(client, 2)} |")
        w("")
        w("Send lag: how late the client's thread sent a publish after it was due (its own wake-up, or a "
          "connection still busy with the previous publish); it is part of every latency above.")
        w("")

    # ---- 3. end to end ---------------------------------------------------------------------
    def e2e_table(kind, title):
        scenarios = [s for s in ["redis"] + protocols if (kind, s) in runs]
        if not scenarios:
            return
        w(title)
        w("")
        w("| path | published /s | delivered /s | of direct | publish→delivery p50 µs | p90 | p99 | p99.9 | "
          "publish p50 µs | p99 | undelivered at the end | duplicates | CPU-s per 10k messages: pub daprd | "
          "sub daprd | Redis | app | client | context switches per message: pub daprd | sub daprd |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        direct = emed(kind, "redis", "delivered_rps")
        for s in scenarios:
            rows = runs[(kind, s)]
            delivered = emed(kind, s, "delivered_rps")
            client = _med([{"v": _per_10k(r.get("client_cpu_s"), r["delivered_in_window"])} for r in rows], "v")
            pub_cs = _med([{"v": r["pub_ctxsw"] / max(r["published_in_window"], 1)} for r in rows if "pub_ctxsw" in r], "v")
            sub_cs = _med([{"v": r["sub_ctxsw"] / max(r["delivered_in_window"], 1)} for r in rows if "sub_ctxsw" in r], "v")
            w(f"| {E2E_PATHS[s]} | {emed(kind, s, 'publish_rps'):.0f} | {delivered:.0f} | "
              f"{'–' if s == 'redis' or not direct else f'{delivered / direct:.0%}'} | "
              f"{emed(kind, s, 'e2e_p50_us'):.0f} | {emed(kind, s, 'e2e_p90_us'):.0f} | {emed(kind, s, 'e2e_p99_us'):.0f} | "
              f"{emed(kind, s, 'e2e_p999_us'):.0f} | {emed(kind, s, 'publish_p50_us'):.0f} | "
              f"{emed(kind, s, 'publish_p99_us'):.0f} | {sum(r['undelivered'] for r in rows)} | "
              f"{sum(r['duplicates'] for r in rows)} | {_fmt(emed(kind, s, 'pub_cpu_s_per_10k_published'), 2)} | "
              f"{_fmt(emed(kind, s, 'sub_cpu_s_per_10k_delivered'), 2)} | "
              f"{_fmt(emed(kind, s, 'redis_cpu_s_per_10k_delivered'), 2)} | "
              f"{_fmt(emed(kind, s, 'app_cpu_s_per_10k_delivered'), 2)} | {_fmt(client, 2)} | "
              f"{_fmt(pub_cs, 1)} | {_fmt(sub_cs, 1)} |")
        w("")

    seconds, warm, rounds = (env.get(k, "?") for k in ("PUBSUB_E2E_SECONDS", "PUBSUB_E2E_WARMUP_SECONDS", "PUBSUB_E2E_ROUNDS"))
    e2e_table("rate", f"### Pub/sub: end to end at {env.get('PUBSUB_E2E_RATE', '?')} msg/s (open loop over {conns} "
                      f"connections; {warm} s warm-up, {seconds} s counted; {_rounds(rounds)})")
    e2e_table("max", f"### Pub/sub: end to end, sustained throughput ({conns} publishing connections, each "
                     f"closed loop at its max rate; {warm} s warm-up, {seconds} s counted; {_rounds(rounds)})")
    if runs:
        backlog = [r for r in e2e if r["kind"] == "max" and r["publish_rps"] > 1.05 * max(r["delivered_rps"], 1)]
        w("Delivered /s counts the deliveries that arrived within the counted window; publish→delivery latency "
          "runs from the publish's start (the time in its payload, on the steady clock every process shares) to "
          "its arrival at the consumer (the app, or the direct client's XREADGROUP), for the messages published "
          "within the window. After the publishers stop, the client waits up to "
          f"{env.get('PUBSUB_DRAIN_SECONDS', '?')} s for everything to arrive; \"undelivered at the end\" is what "
          "had not by then (not lost: still in the stream), summed over the rounds. CPU per 10k messages: pub "
          "daprd per message published, sub daprd, Redis, app and client per message delivered, within the "
          "window; 1.00 CPU-s per 10k is 100 µs of CPU per message. Context switches are summed over each "
          "sidecar's threads (`/proc/PID/task/*/status`), per message published (pub) or delivered (sub). "
          "The direct consumer acks each entry "
          "with its own XACK, as daprd does, pipelined per batch of up to 100.")
        w("")
        if backlog:
            names = ", ".join(sorted({r["scenario"] for r in backlog}))
            w(f"Note: in the max-rate runs of {names} the publishers outran the delivery (published more than 5% "
              "over delivered), so a backlog grew in the stream: the publish→delivery latency there is mostly "
              "time spent waiting in that backlog, and the delivered rate is the delivery side's limit.")
            w("")

    # ---- 4. memory -------------------------------------------------------------------------
    if sidecars:
        ready = {r["sidecar"]: r for r in sidecars if r["when"] == "ready"}
        end = {r["sidecar"]: r for r in sidecars if r["when"] == "end"}
        w("### Pub/sub: sidecar memory and CPU")
        w("")
        w("| sidecar | RSS when ready | VmRSS at the end | VmHWM at the end | CPU-s over the whole part | threads |")
        w("| --- | --- | --- | --- | --- | --- |")
        for name in ("pub", "sub"):
            r0, r1 = ready.get(name, {}), end.get(name, {})
            w(f"| {name} | {_fmt(r0.get('rss_kb', 0) / 1024, 1)} MB | {_fmt(r1.get('rss_kb', 0) / 1024, 1)} MB | "
              f"{_fmt(r1.get('hwm_kb', 0) / 1024, 1)} MB | {_fmt(r1.get('cpu_s'), 1)} | {r1.get('threads', '–')} |")
        w("")


def main():
    env = os.environ
    out = []
    w = out.append
    if env.get("PUBSUB_HEADER"):
        w("# Pub/sub benchmark")
        w("")
        w("Written by `bench/pubsub.sh` run alone; `bench/run.sh` puts the same section in `bench/RESULTS.md`.")
        w("")
        nproc = os.cpu_count()
        cpu = "?"
        try:
            with open("/proc/cpuinfo") as f:
                cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
        except OSError:
            pass
        kernel = subprocess.run(["uname", "-sr"], capture_output=True, text=True).stdout.strip()
        date = subprocess.run(["date", "-u", "+%Y-%m-%d %H:%M UTC"], capture_output=True, text=True).stdout.strip()
        w(f"- Date: {date}; machine: {nproc} CPUs, {cpu}, {kernel}")
        w("")
    render(sys.argv[1], env, w)
    print("\n".join(out))


if __name__ == "__main__":
    main()
