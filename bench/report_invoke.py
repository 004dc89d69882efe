"""The service invocation section of bench/RESULTS.md, from what bench/invoke.sh collected:
invoke.jsonl (open loop, one line per round, protocol and target), invoke-saturate.jsonl
(closed loop through each sidecar pair) and invoke-sidecars.jsonl (RSS when ready)."""
import json
import os
import statistics

TARGETS = {
    "direct": "load → app",
    "nginx": "load → nginx → app (one reverse-proxy hop)",
    "sidecars": "load → caller daprd → callee daprd → app",
}
PROTOCOLS = {"http": "HTTP/1.1", "grpc": "gRPC"}
PERCENTILES = (("p50", "p50_us"), ("p90", "p90_us"), ("p99", "p99_us"), ("p99.9", "p999_us"),
               ("mean", "mean_us"))
SIDECARS = ("caller", "callee")
# The targets, and Dapr's published figures for the same test (two sidecars, 1000 req/s,
# 16 connections, 1 KiB, HTTP).
NGINX_FACTOR = 1.2
CPU_TARGET = 0.25  # CPU-s per 10k requests, per sidecar
RSS_TARGET_MB = 15
DAPR_ADDED_P50_MS, DAPR_ADDED_P99_MS = 0.91, 2.04


def _lines(work, name):
    try:
        with open(os.path.join(work, name)) as f:
            return [json.loads(line) for line in f if line.strip()]
    except OSError:
        return []


def _fmt(value, digits=0):
    return "–" if value is None else f"{value:.{digits}f}"


def render(work, env, w):
    rows = _lines(work, "invoke.jsonl")
    saturate = _lines(work, "invoke-saturate.jsonl")
    ready = {r["sidecar"]: r["ready_rss_kb"] for r in _lines(work, "invoke-sidecars.jsonl")}
    runs = {}
    for r in rows:
        runs.setdefault((r["protocol"], r["target"]), []).append(r)
    protocols = [p for p in PROTOCOLS if any(k[0] == p for k in runs)]

    def med(protocol, target, field):
        values = [r[field] for r in runs.get((protocol, target), []) if r.get(field) is not None]
        return statistics.median(values) if values else None

    def worst(protocol, target, field):
        values = [r[field] for r in runs.get((protocol, target), []) if r.get(field) is not None]
        return max(values) if values else None

    def added(protocol, field):
        """(per sidecar, nginx hop) for a latency field, from the medians over the rounds."""
        direct, nginx, pair = (med(protocol, t, field) for t in ("direct", "nginx", "sidecars"))
        if None in (direct, nginx, pair):
            return None, None
        return (pair - direct) / 2, nginx - direct

    def verdict(ok):
        return "**met**" if ok else "**not met**"

    rate, conns = env.get("INVOKE_RATE", "?"), env.get("INVOKE_CONNECTIONS", "?")
    w("## Service invocation")
    w("")
    w(f"Dapr's own method, on this machine: a trivial app (`invoke_app`: 200 with an empty body; "
      f"`AppCallback/OnInvoke` answered with an empty `InvokeResponse`), and an open-loop load "
      f"(`invoke_load`) of {rate} req/s over {conns} connections (gRPC: {conns} HTTP/2 "
      f"connections), {env.get('INVOKE_BODY_BYTES', '?')}-byte POST body, each request's latency "
      f"taken from the time it was due (no coordinated omission), "
      f"{env.get('INVOKE_WARMUP_SECONDS', '?')} s of warm-up discarded, then "
      f"{env.get('INVOKE_SECONDS', '?')} s counted, every latency kept (exact percentiles). "
      f"Three targets per protocol, run in {env.get('INVOKE_ROUNDS', '?')} rounds; the tables "
      "show the median of the rounds:")
    w("")
    for target, text in TARGETS.items():
        w(f"- `{target}`: {text}")
    w("")
    w(f"HTTP through the sidecars is `POST /v1.0/invoke/testapp/method/test` on the caller; gRPC is "
      f"`Dapr/InvokeService` on the caller, and `AppCallback/OnInvoke` on the app (callee started "
      f"with `--app-protocol grpc`). nginx {env.get('NGINX_VERSION', '?')}: one process, "
      "`proxy_pass` with upstream keep-alive over HTTP/1.1, `grpc_pass` for gRPC. The two "
      "sidecars of a pair find each other in their shared HOME's registry.")
    w("")

    # ---- targets ---------------------------------------------------------------------------
    w("### Service invocation: targets")
    w("")
    w("| target | measured | verdict |")
    w("| --- | --- | --- |")
    for protocol in protocols:
        for label, field in (("p50", "p50_us"), ("p99", "p99_us")):
            per_sidecar, hop = added(protocol, field)
            if per_sidecar is None:
                continue
            limit = NGINX_FACTOR * hop
            w(f"| added latency per sidecar ≤ {NGINX_FACTOR} × the nginx hop's, "
              f"{PROTOCOLS[protocol]} {label} | (sidecars {med(protocol, 'sidecars', field):.0f} − "
              f"direct {med(protocol, 'direct', field):.0f}) / 2 = {per_sidecar:+.0f} µs per sidecar; "
              f"nginx hop {hop:+.0f} µs, × {NGINX_FACTOR} = {limit:+.0f} µs | "
              f"{verdict(per_sidecar <= limit)} |")
    cpu = {(p, s): med(p, "sidecars", f"{s}_cpu_s_per_10k") for p in protocols for s in SIDECARS}
    cpu_text = "; ".join(f"{PROTOCOLS[p]}: caller {_fmt(cpu[(p, 'caller')], 2)}, callee "
                         f"{_fmt(cpu[(p, 'callee')], 2)}" for p in protocols)
    cpu_values = [v for v in cpu.values() if v is not None]
    if cpu_values:
        w(f"| ≤ {CPU_TARGET} CPU-s per 10k requests per sidecar, at {rate} req/s | {cpu_text} | "
          f"{verdict(max(cpu_values) <= CPU_TARGET)} |")
    hwm = {(p, s): worst(p, "sidecars", f"{s}_hwm_kb") for p in protocols for s in SIDECARS}
    hwm_text = "; ".join(f"{PROTOCOLS[p]}: caller {_fmt(hwm[(p, 'caller')] / 1024, 1)} MB, callee "
                         f"{_fmt(hwm[(p, 'callee')] / 1024, 1)} MB" for p in protocols
                         if None not in (hwm[(p, 'caller')], hwm[(p, 'callee')]))
    hwm_values = [v for v in hwm.values() if v is not None]
    if hwm_values:
        w(f"| RSS under load ≤ {RSS_TARGET_MB} MB per sidecar (VmHWM at the end of the "
          f"{rate} req/s runs) | {hwm_text} | {verdict(max(hwm_values) / 1024 <= RSS_TARGET_MB)} |")
    w("")
    w("CPU is utime+stime of each sidecar from `/proc/PID/stat` over the counted window (warm-up "
      "excluded), at the 10 ms clock tick; 1.00 CPU-s per 10k requests is 100 µs of CPU per "
      f"request, or 0.1 CPU at 1000 req/s. Added latency per sidecar is half of what the pair "
      f"adds over calling the app directly; the nginx hop is what nginx adds, in the same rounds.")
    w("")

    # ---- against Dapr ----------------------------------------------------------------------
    w("### Service invocation: compared with Dapr's published figures")
    w("")
    w("| figure (two sidecars, HTTP) | Dapr's daprd (published) | dapr-cpp daprd (here) |")
    w("| --- | --- | --- |")
    for label, field, dapr_ms in (("p50", "p50_us", DAPR_ADDED_P50_MS), ("p99", "p99_us", DAPR_ADDED_P99_MS)):
        if "http" in protocols:
            per_sidecar, _ = added("http", field)
            w(f"| added by the pair, {label} | +{dapr_ms:.2f} ms | "
              f"{'–' if per_sidecar is None else f'{2 * per_sidecar / 1000:+.2f}'} ms |")
    if cpu_values:
        w(f"| CPU per sidecar at 1000 req/s | ~0.1–0.2 vCPU | "
          f"{min(cpu_values) / 10:.3f}–{max(cpu_values) / 10:.3f} CPU (HTTP and gRPC) |")
    if hwm_values:
        w(f"| memory per sidecar under load | ~50 MB | {min(hwm_values) / 1024:.1f}–"
          f"{max(hwm_values) / 1024:.1f} MB |")
    w("")

    # ---- latency ---------------------------------------------------------------------------
    w(f"### Service invocation: latency at {rate} req/s (µs, median of the rounds)")
    w("")
    w("| protocol | target | p50 | p90 | p99 | p99.9 | mean | req/s | errors | p50 over the rounds "
      "| send lag p99 | CPU-s per 10k: caller | callee | nginx | app | load generator |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for protocol in protocols:
        for target in TARGETS:
            if (protocol, target) not in runs:
                continue
            p50s = sorted(r["p50_us"] for r in runs[(protocol, target)])
            errors = sum(r["errors"] + r["unfinished"] for r in runs[(protocol, target)])
            cells = [_fmt(med(protocol, target, f), 0) for _, f in PERCENTILES]
            cpus = [_fmt(med(protocol, target, f"{name}_cpu_s_per_10k"), 2)
                    for name in ("caller", "callee", "nginx", "app", "client")]
            w(f"| {PROTOCOLS[protocol]} | {target} | {' | '.join(cells)} | "
              f"{_fmt(med(protocol, target, 'achieved_rps'), 0)} | {errors} | "
              f"{p50s[0]:.0f}–{p50s[-1]:.0f} | {_fmt(med(protocol, target, 'send_lag_p99_us'), 0)} | "
              f"{' | '.join(cpus)} |")
    w("")
    w("Send lag is how late the load generator wrote a request after it was due (its own "
      "wake-up, or over HTTP/1.1 a connection still busy with the previous answer); it is part "
      "of every latency above, the direct one included, so it cancels out of the differences.")
    w("")
    w("| protocol | added (µs) | p50 | p90 | p99 | p99.9 | mean |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for protocol in protocols:
        diffs = {f: added(protocol, f) for _, f in PERCENTILES}
        if any(v[0] is None for v in diffs.values()):
            continue
        pair = [f"{2 * diffs[f][0]:+.0f}" for _, f in PERCENTILES]
        one = [f"{diffs[f][0]:+.0f}" for _, f in PERCENTILES]
        hop = [f"{diffs[f][1]:+.0f}" for _, f in PERCENTILES]
        w(f"| {PROTOCOLS[protocol]} | two sidecars | {' | '.join(pair)} |")
        w(f"| {PROTOCOLS[protocol]} | per sidecar | {' | '.join(one)} |")
        w(f"| {PROTOCOLS[protocol]} | nginx hop | {' | '.join(hop)} |")
    w("")

    # ---- saturation and memory -------------------------------------------------------------
    if saturate:
        w(f"### Service invocation: saturation through the pair (closed loop, {conns} connections, "
          f"one request in flight on each, {env.get('INVOKE_SATURATE_SECONDS', '?')} s)")
        w("")
        w("| protocol | req/s | p50 µs | p99 µs | errors | CPU-s per 10k: caller | callee | "
          "caller VmHWM | callee VmHWM |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in saturate:
            w(f"| {PROTOCOLS[r['protocol']]} | {r['achieved_rps']:.0f} | {r['p50_us']:.0f} | "
              f"{r['p99_us']:.0f} | {r['errors'] + r['unfinished']} | "
              f"{_fmt(r.get('caller_cpu_s_per_10k'), 2)} | {_fmt(r.get('callee_cpu_s_per_10k'), 2)} | "
              f"{r['caller_hwm_kb'] / 1024:.1f} MB | {r['callee_hwm_kb'] / 1024:.1f} MB |")
        w("")
    w("### Service invocation: sidecar memory")
    w("")
    w(f"| sidecar | RSS when ready | VmRSS at the end of the {rate} req/s runs (max) | VmHWM then | "
      "VmHWM after saturation |")
    w("| --- | --- | --- | --- | --- |")
    for protocol in protocols:
        for side in SIDECARS:
            name = f"{protocol.upper()}_{side.upper()}"
            after = next((r for r in saturate if r["protocol"] == protocol), {})
            rss = worst(protocol, "sidecars", f"{side}_rss_kb")
            peak = worst(protocol, "sidecars", f"{side}_hwm_kb")
            sat = after.get(f"{side}_hwm_kb")
            w(f"| {PROTOCOLS[protocol]} {side} | {_fmt(ready.get(name, 0) / 1024, 1)} MB | "
              f"{_fmt(None if rss is None else rss / 1024, 1)} MB | "
              f"{_fmt(None if peak is None else peak / 1024, 1)} MB | "
              f"{_fmt(None if sat is None else sat / 1024, 1)} MB |")
    w("")
