#!/usr/bin/env bash
# The benchmarks in one command: builds, then
# - state: starts its own Redis and daprd on 127.0.0.1 (free ports), times state GET/save
#   straight to Redis and through daprd (HTTP; gRPC with gRPC's C++ library client and with a
#   lean nghttp2 client), measures start-to-ready, idle memory and binary size;
# - service invocation (bench/invoke.sh): a trivial app called directly, through one nginx hop
#   and through two sidecars, over HTTP and gRPC, at a fixed rate; then saturation;
# - pub/sub (bench/pubsub.sh): Redis Streams straight with hiredis next to the same through a
#   publisher and a subscriber sidecar: publish latency, publish at a fixed rate, end-to-end
#   latency and sustained throughput to a trivial subscriber app, the sidecars' CPU and memory;
# and writes bench/RESULTS.md. Everything it starts is stopped on exit, failure included.
#
# usage: bench/run.sh            (about 11 minutes on 2 cores: state 5, invocation 4, pub/sub 2)
# knobs: REQUESTS=20000 WARMUP=2000 RUNS=5 VALUE_BYTES=1024 STARTS=10 IDLE_SECONDS=30
#        LOAD_SECONDS=5 LOAD_CONNECTIONS=16 SKIP_BUILD=1 RESULTS=bench/RESULTS.md
#        SKIP_STATE=1 SKIP_INVOKE=1 SKIP_PUBSUB=1 (leave a part out)
#        INVOKE_RATE=1000 INVOKE_CONNECTIONS=16 INVOKE_SECONDS=10 INVOKE_WARMUP_SECONDS=2
#        INVOKE_ROUNDS=3 INVOKE_BODY_BYTES=1024 INVOKE_SATURATE_SECONDS=5
#        PUBSUB_REQUESTS=5000 PUBSUB_WARMUP=500 PUBSUB_ROUNDS=3 PUBSUB_PAYLOAD_BYTES=1024
#        PUBSUB_RATE=1000 PUBSUB_RATE_CONNECTIONS=16 PUBSUB_RATE_SECONDS=8 PUBSUB_RATE_WARMUP_SECONDS=2
#        PUBSUB_E2E_RATE=1000 PUBSUB_E2E_CONNECTIONS=4 PUBSUB_E2E_SECONDS=5 PUBSUB_E2E_WARMUP_SECONDS=1
#        PUBSUB_E2E_ROUNDS=2 PUBSUB_DRAIN_SECONDS=10 PUBSUB_PROTOCOLS="http grpc" PUBSUB_PLACEMENTS="spread pinned"
#        (bench/pubsub.sh also runs alone: see its header)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
COMMAND="bench/run.sh${*:+ $*}"
REQUESTS=${REQUESTS:-20000}
WARMUP=${WARMUP:-2000}
RUNS=${RUNS:-5}
VALUE_BYTES=${VALUE_BYTES:-1024}
STARTS=${STARTS:-10}
IDLE_SECONDS=${IDLE_SECONDS:-30}
LOAD_SECONDS=${LOAD_SECONDS:-5}
LOAD_CONNECTIONS=${LOAD_CONNECTIONS:-16}
RESULTS=${RESULTS:-$ROOT/bench/RESULTS.md}
BIN=$ROOT/build/bin
T0=$(date +%s.%N)

log() { printf '[bench %5.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*" >&2; }

# ---- tools ----------------------------------------------------------------------------------
missing=()
for tool in redis-server:redis-server redis-cli:redis-tools wrk:wrk hyperfine:hyperfine curl:curl jq:jq bc:bc \
            python3:python3 strip:binutils taskset:util-linux /usr/bin/time:time \
            ${SKIP_INVOKE:+-}nginx:nginx-light; do
  [ "${tool:0:1}" = - ] && continue  # a part left out does not need it
  command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool##*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# ---- everything started here is stopped on exit ------------------------------------------
WORK=$(mktemp -d /tmp/dapr-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}
cpu_seconds() {  # utime + stime of PID, in seconds
  awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat"
}
status_kb() {  # status_kb PID VmRSS|VmHWM
  awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
}
wait_healthy() {  # wait_healthy PORT PID
  for _ in $(seq 1 300); do
    kill -0 "$2" 2>/dev/null || { echo "daprd exited early" >&2; return 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v1.0/healthz")" = 204 ] && return 0
    sleep 0.05
  done
  echo "daprd not healthy on port $1" >&2
  return 1
}

# ---- build --------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
  log "building (scripts/build.sh)"
  bash scripts/build.sh >"$WORK/build.log" 2>&1 || { tail -50 "$WORK/build.log"; exit 1; }
fi
BINARIES=(daprd state_latency start_to_ready invoke_app invoke_load)
[ -n "${SKIP_PUBSUB:-}" ] || BINARIES+=(pubsub_load pubsub_app)
for binary in "${BINARIES[@]}"; do
  [ -x "$BIN/$binary" ] || { echo "missing $BIN/$binary" >&2; exit 1; }
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# The state parts (1 and 2) run unless SKIP_STATE is set; their lines are not indented, so
# that the here-documents inside stay as they are.
if [ -z "${SKIP_STATE:-}" ]; then

# ---- part 1: latency against Redis ---------------------------------------------------------
REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$WORK" \
  --logfile "$WORK/redis.log" &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
for _ in $(seq 1 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
log "redis-server $(redis-server --version | grep -o 'v=[0-9.]*') on 127.0.0.1:$REDIS_PORT"

mkdir -p "$WORK/resources" "$WORK/home-redis"
cat >"$WORK/resources/statestore.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: statestore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: 127.0.0.1:$REDIS_PORT
EOF
HTTP_PORT=$(free_port)
GRPC_PORT=$(free_port)
METRICS_PORT=$(free_port)
HOME="$WORK/home-redis" "$BIN/daprd" --app-id bench --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 \
  --dapr-http-port "$HTTP_PORT" --dapr-grpc-port "$GRPC_PORT" --metrics-port "$METRICS_PORT" \
  --resources-path "$WORK/resources" --log-level warn >"$WORK/daprd-redis.log" 2>&1 &
DAPRD_PID=$!
PIDS+=("$DAPRD_PID")
wait_healthy "$HTTP_PORT" "$DAPRD_PID"
log "daprd (state.redis) on http $HTTP_PORT, grpc $GRPC_PORT; RSS $(status_kb "$DAPRD_PID" VmRSS) kB"
RSS_REDIS_READY=$(status_kb "$DAPRD_PID" VmRSS)
# The same sidecar with its event-loop spin turned off (--busy-poll-us 0), for the third
# placement: what the adaptive spin of the default buys.
NOSPIN_HTTP_PORT=$(free_port)
NOSPIN_GRPC_PORT=$(free_port)
HOME="$WORK/home-redis" "$BIN/daprd" --app-id bench --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 \
  --dapr-http-port "$NOSPIN_HTTP_PORT" --dapr-grpc-port "$NOSPIN_GRPC_PORT" --metrics-port "$(free_port)" \
  --resources-path "$WORK/resources" --log-level warn --busy-poll-us 0 \
  >"$WORK/daprd-nospin.log" 2>&1 &
NOSPIN_PID=$!
PIDS+=("$NOSPIN_PID")
wait_healthy "$NOSPIN_HTTP_PORT" "$NOSPIN_PID"

# grpc-*: gRPC's C++ library client; grpc-h2-*: the lean nghttp2 client (see README.md).
SCENARIOS=(redis-get redis-evalsha-get redis-set redis-evalsha-set http-get http-save grpc-get grpc-save
           grpc-h2-get grpc-h2-save)
# Two placements. "spread": the scheduler's choice, as deployed; every hop between threads
# may wake another CPU, which on a VM costs tens of µs. "pinned": client, Redis and daprd
# (all threads) on one CPU, so no cross-CPU wake-up: what remains is the software's cost.
# Both run the default daprd, whose loop spins up to 100 µs for the next event while recent
# events came that quickly (common/run_loop.h). "spread-no-spin": spread, through the daprd
# started with --busy-poll-us 0, which always sleeps (a wake-up per event).
PIN_CPU=$(($(nproc) - 1))
ALL_CPUS=0-$(($(nproc) - 1))
place() {  # place spread|pinned|spread-no-spin
  local cpus=$ALL_CPUS
  [ "$1" = pinned ] && cpus=$PIN_CPU
  TARGET_PID=$DAPRD_PID TARGET_HTTP=$HTTP_PORT TARGET_GRPC=$GRPC_PORT
  if [ "$1" = spread-no-spin ]; then
    TARGET_PID=$NOSPIN_PID TARGET_HTTP=$NOSPIN_HTTP_PORT TARGET_GRPC=$NOSPIN_GRPC_PORT
  fi
  taskset -a -p -c "$cpus" "$TARGET_PID" >/dev/null
  taskset -a -p -c "$cpus" "$REDIS_PID" >/dev/null
  CLIENT_CPUS=$cpus
}
: >"$WORK/latency.jsonl"
for run in $(seq 1 "$RUNS"); do  # rounds, so slow drift hits every scenario alike
  for mode in spread pinned spread-no-spin; do
    place "$mode"
    for scenario in "${SCENARIOS[@]}"; do
      [ "$mode" = spread-no-spin ] && [[ "$scenario" == grpc-get || "$scenario" == grpc-save ]] && continue
      taskset -c "$CLIENT_CPUS" "$BIN/state_latency" --redis "127.0.0.1:$REDIS_PORT" \
        --http-port "$TARGET_HTTP" --grpc-port "$TARGET_GRPC" --requests "$REQUESTS" \
        --warmup "$WARMUP" --value-bytes "$VALUE_BYTES" --scenario "$scenario" \
        --sidecar-pid "$TARGET_PID" --redis-pid "$REDIS_PID" |
        jq -c --argjson run "$run" --arg mode "$mode" '. + {run: $run, mode: $mode}' >>"$WORK/latency.jsonl"
      log "run $run $mode $(tail -1 "$WORK/latency.jsonl" | jq -r '"\(.scenario): p50 \(.p50_us) µs, p99 \(.p99_us) µs"')"
    done
  done
done
place spread

# Many connections at once (wrk), for throughput and memory under concurrent load.
cat >"$WORK/save.lua" <<EOF
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '[{"key":"bench-key","value":"$(head -c "$VALUE_BYTES" /dev/zero | tr '\0' x)"}]'
EOF
: >"$WORK/load.jsonl"
for kind in get save; do
  url="http://127.0.0.1:$HTTP_PORT/v1.0/state/statestore/bench-key"
  args=()
  if [ "$kind" = save ]; then url="http://127.0.0.1:$HTTP_PORT/v1.0/state/statestore"; args=(-s "$WORK/save.lua"); fi
  cpu0=$(cpu_seconds "$DAPRD_PID")
  wrk -t1 -c"$LOAD_CONNECTIONS" -d"${LOAD_SECONDS}s" --latency "${args[@]}" "$url" >"$WORK/wrk-$kind.txt"
  cpu1=$(cpu_seconds "$DAPRD_PID")
  python3 - "$kind" "$cpu0" "$cpu1" "$(status_kb "$DAPRD_PID" VmRSS)" "$(status_kb "$DAPRD_PID" VmHWM)" \
    "$WORK/wrk-$kind.txt" >>"$WORK/load.jsonl" <<'EOF'
import json, re, sys
kind, cpu0, cpu1, rss, hwm, path = sys.argv[1:]
text = open(path).read()
def us(v):
    n, unit = float(re.match(r"[\d.]+", v).group()), re.sub(r"[\d.]+", "", v)
    return n * {"us": 1, "ms": 1e3, "s": 1e6}[unit]
pct = {m.group(1): us(m.group(2)) for m in re.finditer(r"^\s+(\d+)%\s+(\S+)", text, re.M)}
total = int(re.search(r"(\d+) requests in", text).group(1))
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
cpu = float(cpu1) - float(cpu0)
print(json.dumps({"scenario": "http-" + kind, "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),
  "requests": total, "p50_us": pct.get("50"), "p90_us": pct.get("90"), "p99_us": pct.get("99"),
  "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "",
  "sidecar_cpu_s": cpu, "sidecar_cpu_s_per_10k": cpu * 10000 / max(total, 1),
  "rss_kb": int(rss), "hwm_kb": int(hwm)}))
EOF
  log "wrk $kind: $(tail -1 "$WORK/load.jsonl" | jq -r '"\(.rps) req/s, p50 \(.p50_us) µs, HWM \(.hwm_kb) kB"')"
done
HWM_REDIS=$(status_kb "$DAPRD_PID" VmHWM)
CPU_REDIS_TOTAL=$(cpu_seconds "$DAPRD_PID")
# After the load, left alone: does the default sidecar stop spinning once traffic stops?
SPIN_IDLE_BEFORE=$(cpu_seconds "$DAPRD_PID")
sleep 10
SPIN_IDLE_CPU=$(echo "$(cpu_seconds "$DAPRD_PID") - $SPIN_IDLE_BEFORE" | bc)
kill -TERM "$DAPRD_PID" "$REDIS_PID" "$NOSPIN_PID"
wait "$NOSPIN_PID" 2>/dev/null || true
wait "$DAPRD_PID" 2>/dev/null || true
wait "$REDIS_PID" 2>/dev/null || true

# ---- part 2: the embedded default (no resources path): startup, idle memory, size -----------
# An idle daprd left alone for IDLE_SECONDS while the starts below are timed.
mkdir -p "$WORK/home-idle"
IDLE_HTTP=$(free_port)
IDLE_GRPC=$(free_port)
IDLE_METRICS=$(free_port)
HOME="$WORK/home-idle" "$BIN/daprd" --app-id idle --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 \
  --dapr-http-port "$IDLE_HTTP" --dapr-grpc-port "$IDLE_GRPC" --metrics-port "$IDLE_METRICS" \
  --log-level warn >"$WORK/daprd-idle.log" 2>&1 &
IDLE_PID=$!
PIDS+=("$IDLE_PID")
wait_healthy "$IDLE_HTTP" "$IDLE_PID"
IDLE_READY_AT=$(date +%s.%N)
RSS_IDLE_READY=$(status_kb "$IDLE_PID" VmRSS)
CPU_IDLE_READY=$(cpu_seconds "$IDLE_PID")
log "idle daprd ready, RSS $RSS_IDLE_READY kB; timing $STARTS cold and $STARTS warm starts"

# Cold: a new HOME each time (the SQLite file is created); warm: the same HOME again.
start_daprd_args() {  # start_daprd_args APP_ID HTTP_PORT
  echo "--http-port $2 -- $BIN/daprd --app-id $1 --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 --dapr-http-port $2" \
    "--dapr-grpc-port $(free_port) --metrics-port $(free_port) --log-level warn"
}
: >"$WORK/starts.jsonl"
mkdir -p "$WORK/home-warm"
for kind in cold warm; do
  for i in $(seq 1 "$STARTS"); do
    home="$WORK/home-warm"
    [ "$kind" = cold ] && home="$WORK/home-cold-$i" && mkdir -p "$home"
    # shellcheck disable=SC2046
    HOME="$home" "$BIN/start_to_ready" $(start_daprd_args start "$(free_port)") \
      | jq -c --arg kind "$kind" '. + {kind: $kind}' >>"$WORK/starts.jsonl"
  done
done
# hyperfine over the same tool: start, first 204, SIGTERM and exit, as one figure.
# shellcheck disable=SC2046
HOME="$WORK/home-warm" hyperfine -N --warmup 1 --runs "$STARTS" --export-json "$WORK/hyperfine.json" \
  "$BIN/start_to_ready $(start_daprd_args start "$(free_port)")" >"$WORK/hyperfine.txt" 2>&1 || true
log "starts done: median cold $(jq -s '[.[]|select(.kind=="cold")|.ready_ms]|sort|.[length/2|floor]' "$WORK/starts.jsonl") ms"

# The floor under start-to-ready: a process that only loads, initialises and exits.
VERSION_TIME=$(hyperfine -N --warmup 3 --runs 30 --export-json "$WORK/version.json" "$BIN/daprd --version" \
  >/dev/null 2>&1 && jq -r '.results[0] | "mean \(.mean * 1000 * 10 | round / 10) ms ± \(.stddev * 1000 * 10 | round / 10)"' \
  "$WORK/version.json" || echo "–")
VERSION_MAXRSS=$(/usr/bin/time -f %M "$BIN/daprd" --version 2>&1 >/dev/null | tail -1 || echo "?")
VERSION_TIME="$VERSION_TIME, max RSS ${VERSION_MAXRSS} kB"

remaining=$(echo "$IDLE_READY_AT + $IDLE_SECONDS - $(date +%s.%N)" | bc)
if [ "$(echo "$remaining > 0" | bc)" = 1 ]; then
  log "waiting ${remaining}s for the idle daprd"
  sleep "$remaining"
fi
RSS_IDLE=$(status_kb "$IDLE_PID" VmRSS)
HWM_IDLE=$(status_kb "$IDLE_PID" VmHWM)
CPU_IDLE=$(echo "$(cpu_seconds "$IDLE_PID") - $CPU_IDLE_READY" | bc)
THREADS_IDLE=$(awk '$1 == "Threads:" { print $2 }' "/proc/$IDLE_PID/status")
RSS_IDLE_ANON=$(status_kb "$IDLE_PID" RssAnon)
RSS_IDLE_FILE=$(status_kb "$IDLE_PID" RssFile)
cp "/proc/$IDLE_PID/smaps" "$WORK/idle.smaps" 2>/dev/null || true
IDLE_ELAPSED=$(echo "$(date +%s.%N) - $IDLE_READY_AT" | bc)
kill -TERM "$IDLE_PID"
wait "$IDLE_PID" 2>/dev/null || true

strip -o "$WORK/daprd.stripped" "$BIN/daprd"
SIZE_UNSTRIPPED=$(stat -c %s "$BIN/daprd")
SIZE_STRIPPED=$(stat -c %s "$WORK/daprd.stripped")
SHARED_LIBS=$(ldd "$BIN/daprd" | grep -c '=>' || true)
fi  # SKIP_STATE

# ---- part 3: service invocation (bench/invoke.sh) ------------------------------------------
if [ -z "${SKIP_INVOKE:-}" ]; then
  # shellcheck source=bench/invoke.sh
  . "$ROOT/bench/invoke.sh"
fi

# ---- part 4: pub/sub (bench/pubsub.sh) -------------------------------------------------------
if [ -z "${SKIP_PUBSUB:-}" ]; then
  # shellcheck source=bench/pubsub.sh
  . "$ROOT/bench/pubsub.sh"
fi

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
ELAPSED=$(echo "$(date +%s.%N) - $T0" | bc)

# ---- RESULTS.md -------------------------------------------------------------------------------
GIT_COMMIT=$(git rev-parse HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD 2>/dev/null || GIT_COMMIT="$GIT_COMMIT (with uncommitted changes)"
export COMMAND REQUESTS WARMUP RUNS VALUE_BYTES STARTS IDLE_SECONDS LOAD_SECONDS LOAD_CONNECTIONS \
  RSS_REDIS_READY HWM_REDIS CPU_REDIS_TOTAL RSS_IDLE_READY RSS_IDLE HWM_IDLE CPU_IDLE THREADS_IDLE RSS_IDLE_ANON RSS_IDLE_FILE \
  IDLE_ELAPSED SPIN_IDLE_CPU SIZE_UNSTRIPPED SIZE_STRIPPED SHARED_LIBS LOAD_BEFORE LOAD_AFTER ELAPSED GIT_COMMIT VERSION_TIME
MACHINE_NPROC=$(nproc)
MACHINE_CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
MACHINE_MEM=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
MACHINE_KERNEL=$(uname -sr)
# shellcheck disable=SC1091
MACHINE_OS=$(. /etc/os-release && echo "$PRETTY_NAME")
REDIS_VERSION=$(redis-server --version 2>/dev/null | grep -o 'v=[0-9.]*' | cut -c3- || echo "?")
DATE=$(date -u '+%Y-%m-%d %H:%M UTC')
export MACHINE_NPROC MACHINE_CPU MACHINE_MEM MACHINE_KERNEL MACHINE_OS REDIS_VERSION DATE
python3 "$ROOT/bench/report.py" "$WORK" >"$WORK/RESULTS.md"
if [ -s "$WORK/pubsub-latency.jsonl" ]; then  # the pub/sub section (bench/report_pubsub.py)
  python3 "$ROOT/bench/report_pubsub.py" "$WORK" >>"$WORK/RESULTS.md"
fi
mv "$WORK/RESULTS.md" "$RESULTS"
log "wrote $RESULTS in ${ELAPSED}s"
