# The pub/sub part of the benchmarks: Redis Streams straight with hiredis, next to the same
# through daprd. Sourced by bench/run.sh after the service invocation part (it uses run.sh's
# WORK, BIN, PIDS, log, free_port, status_kb, cpu_seconds and wait_healthy; everything it
# starts is in PIDS, so run.sh's exit handler stops it on failure too); or run alone:
#
#   bench/pubsub.sh                    (about 2 minutes on 2 cores; the section on stdout)
#   PUBSUB_RESULTS=/tmp/pubsub.md BIN=/path/to/bin bench/pubsub.sh
#   (PUBSUB_RAW=dir also keeps the raw JSON lines and the sidecars' logs there)
#
# The shape: its own redis-server (--save '' --appendonly no), one component `pubsub` of type
# pubsub.redis, and two sidecars, as an app that publishes and an app that subscribes would
# each have one:
#   pub  daprd --app-id pub, no app: the publishes go to it
#   sub  daprd --app-id sub --app-port <pubsub_app>: reads the topics in consumer group "sub"
#        (consumerID defaults to the app id) and delivers to bench/pubsub_app over HTTP
# The client is bench/pubsub_load (see its header). Scenarios:
#   1. publish latency, closed loop, one connection, one publish in flight, 1 KiB JSON
#      payload: redis (XADD with the fields daprd writes: data <CloudEvent as daprd builds it
#      around the payload> contentType application/cloudevents+json), http (POST
#      /v1.0/publish/pubsub/<topic> to pub), grpc (Dapr/PublishEvent to pub, lean nghttp2
#      client); PUBSUB_ROUNDS rounds, in two placements (PUBSUB_PLACEMENTS): "spread", the
#      scheduler's choice, and "pinned", client, Redis and pub daprd (all threads) on one CPU,
#      as in the state part: no cross-CPU wake-ups, the software's own cost. Nothing
#      subscribes to these topics.
#   2. publish at a fixed rate (open loop, PUBSUB_RATE publishes/s over PUBSUB_RATE_CONNECTIONS
#      connections, latency from each publish's due time): redis, grpc, http.
#   3. end to end: publishers (PUBSUB_E2E_CONNECTIONS connections) through pub -> Redis -> sub
#      -> pubsub_app, which records each delivery against the publish time in the payload;
#      first at PUBSUB_E2E_RATE msg/s (latency), then each connection closed loop at its max
#      rate (sustained throughput: messages delivered per second within the counted window).
#      Direct baseline: the same publishers doing XADD, and a hiredis consumer in the same
#      client doing XREADGROUP COUNT 100 (daprd's queueDepth) BLOCK + one XACK per entry.
#   4. the sidecars' CPU-seconds per 10k messages (utime+stime from /proc/PID/stat over the
#      counted window; pub per message published, sub per message delivered) and VmRSS/VmHWM.
# Results: $WORK/pubsub-latency.jsonl, pubsub-rate.jsonl, pubsub-e2e.jsonl, pubsub-sidecars.jsonl;
# bench/report_pubsub.py turns them into the section of RESULTS.md.
# shellcheck shell=bash

PUBSUB_STANDALONE=
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  # ---- run alone: what run.sh would otherwise provide ------------------------------------
  PUBSUB_STANDALONE=1
  set -euo pipefail
  cd "$(dirname "$0")/.."
  ROOT=$PWD
  BIN=${BIN:-$ROOT/build/bin}
  T0=$(date +%s.%N)
  log() { printf '[pubsub %5.1fs] %s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" "$*" >&2; }
  for tool in redis-server redis-cli jq bc curl python3 taskset; do
    command -v "$tool" >/dev/null 2>&1 || { echo "missing $tool (run.sh installs it)" >&2; exit 1; }
  done
  WORK=$(mktemp -d /tmp/dapr-bench-pubsub.XXXXXX)
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
  cpu_seconds() {
    awk -v tck="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / tck }' "/proc/$1/stat"
  }
  status_kb() {
    awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"
  }
  wait_healthy() {
    for _ in $(seq 1 300); do
      kill -0 "$2" 2>/dev/null || { echo "daprd exited early" >&2; return 1; }
      [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/v1.0/healthz")" = 204 ] && return 0
      sleep 0.05
    done
    echo "daprd not healthy on port $1" >&2
    return 1
  }
  for binary in daprd pubsub_load pubsub_app; do
    [ -x "$BIN/$binary" ] || { echo "missing $BIN/$binary" >&2; exit 1; }
  done
fi

# The knobs set by hand (and, under run.sh, the parts left out), for the command line the
# section quotes.
PS_KNOB_NAMES='PUBSUB_[A-Z0-9_]+'
[ -n "$PUBSUB_STANDALONE" ] || PS_KNOB_NAMES+='|SKIP_[A-Z]+'
PUBSUB_KNOBS_SET=$(env | grep -E "^($PS_KNOB_NAMES)=" |
  grep -v -E '^PUBSUB_(RESULTS|RAW)=' | sort | tr '\n' ' ' || true)
PUBSUB_REQUESTS=${PUBSUB_REQUESTS:-5000}
PUBSUB_WARMUP=${PUBSUB_WARMUP:-500}
PUBSUB_ROUNDS=${PUBSUB_ROUNDS:-3}
PUBSUB_PAYLOAD_BYTES=${PUBSUB_PAYLOAD_BYTES:-1024}
PUBSUB_RATE=${PUBSUB_RATE:-1000}
PUBSUB_RATE_CONNECTIONS=${PUBSUB_RATE_CONNECTIONS:-16}
PUBSUB_RATE_SECONDS=${PUBSUB_RATE_SECONDS:-8}
PUBSUB_RATE_WARMUP_SECONDS=${PUBSUB_RATE_WARMUP_SECONDS:-2}
PUBSUB_E2E_RATE=${PUBSUB_E2E_RATE:-1000}
PUBSUB_E2E_CONNECTIONS=${PUBSUB_E2E_CONNECTIONS:-4}
PUBSUB_E2E_SECONDS=${PUBSUB_E2E_SECONDS:-5}
PUBSUB_E2E_WARMUP_SECONDS=${PUBSUB_E2E_WARMUP_SECONDS:-1}
PUBSUB_E2E_ROUNDS=${PUBSUB_E2E_ROUNDS:-2}
PUBSUB_DRAIN_SECONDS=${PUBSUB_DRAIN_SECONDS:-10}
PUBSUB_PROTOCOLS=${PUBSUB_PROTOCOLS:-http grpc}
PUBSUB_PLACEMENTS=${PUBSUB_PLACEMENTS:-spread pinned}
PUBSUB_T0=$(date +%s.%N)
if [ -n "$PUBSUB_STANDALONE" ]; then
  PUBSUB_COMMAND="${PUBSUB_KNOBS_SET}bench/pubsub.sh"
else
  PUBSUB_COMMAND="${PUBSUB_KNOBS_SET}${COMMAND:-bench/run.sh}"
fi

log "pub/sub: redis-server, two sidecars (pub, sub), pubsub_app"
: >"$WORK/pubsub-latency.jsonl"
: >"$WORK/pubsub-rate.jsonl"
: >"$WORK/pubsub-e2e.jsonl"
: >"$WORK/pubsub-sidecars.jsonl"
PS_LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

PS_REDIS_PORT=$(free_port)
redis-server --bind 127.0.0.1 --port "$PS_REDIS_PORT" --save '' --appendonly no --dir "$WORK" \
  --logfile "$WORK/pubsub-redis.log" &
PS_REDIS_PID=$!
PIDS+=("$PS_REDIS_PID")
for _ in $(seq 1 100); do redis-cli -p "$PS_REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.05; done
PS_REDIS="127.0.0.1:$PS_REDIS_PORT"
ps_redis() { redis-cli -p "$PS_REDIS_PORT" "$@"; }

mkdir -p "$WORK/pubsub-resources"
cat >"$WORK/pubsub-resources/pubsub.yaml" <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: pubsub
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: $PS_REDIS
EOF

# The app, then its sidecar (which asks the app's subscriptions once the app listens): one
# topic per end-to-end run kind and protocol, so that a backlog left by one cannot delay another.
PS_TOPICS=""
for protocol in $PUBSUB_PROTOCOLS; do PS_TOPICS+="${PS_TOPICS:+,}e2e-rate-$protocol,e2e-max-$protocol"; done
PS_APP_PORT=$(free_port)
"$BIN/pubsub_app" --port "$PS_APP_PORT" --topics "$PS_TOPICS" --dump-file "$WORK/pubsub-app.dump" \
  >"$WORK/pubsub-app.log" 2>&1 &
PS_APP_PID=$!
PIDS+=("$PS_APP_PID")
for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PS_APP_PORT") 2>/dev/null && break; sleep 0.05; done

# ps_sidecar NAME ARGS...: a daprd on free ports; sets PS_<NAME>_PID, _HTTP, _GRPC.
ps_sidecar() {
  local name=$1 http grpc pid
  shift
  http=$(free_port)
  grpc=$(free_port)
  mkdir -p "$WORK/home-pubsub-$name"
  HOME="$WORK/home-pubsub-$name" "$BIN/daprd" --dapr-listen-addresses 127.0.0.1 \
    --dapr-internal-grpc-listen-address 127.0.0.1 --dapr-http-port "$http" --dapr-grpc-port "$grpc" \
    --metrics-port "$(free_port)" --resources-path "$WORK/pubsub-resources" --log-level warn "$@" \
    >"$WORK/daprd-pubsub-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_healthy "$http" "$pid"
  printf -v "PS_${name^^}_PID" %s "$pid"
  printf -v "PS_${name^^}_HTTP" %s "$http"
  printf -v "PS_${name^^}_GRPC" %s "$grpc"
}
ps_sidecar pub --app-id pub
ps_sidecar sub --app-id sub --app-port "$PS_APP_PORT"
PS_TOPIC_COUNT=$(tr ',' '\n' <<<"$PS_TOPICS" | wc -l)
for _ in $(seq 1 200); do
  [ "$(curl -s "http://127.0.0.1:$PS_SUB_HTTP/v1.0/metadata" | jq '.subscriptions | length')" -ge "$PS_TOPIC_COUNT" ] && break
  sleep 0.05
done
for topic in ${PS_TOPICS//,/ }; do  # the consumer group exists when the reader runs
  ps_redis XINFO GROUPS "$topic" 2>/dev/null | grep -qx sub || { echo "no consumer group sub on $topic" >&2; exit 1; }
done
for side in PUB SUB; do
  pid_var="PS_${side}_PID"
  jq -cn --arg sidecar "${side,,}" --argjson rss "$(status_kb "${!pid_var}" VmRSS)" \
    '{sidecar: $sidecar, when: "ready", rss_kb: $rss}' >>"$WORK/pubsub-sidecars.jsonl"
done
log "redis $PS_REDIS, pub daprd http $PS_PUB_HTTP / grpc $PS_PUB_GRPC, sub daprd (app $PS_APP_PORT, topics $PS_TOPICS)"

# ps_load ARGS...: one pubsub_load run, its JSON line on stdout; in the background and waited
# for, so that a signal reaches the exit handler at once.
PS_ALL_CPUS=0-$(($(nproc) - 1))
PS_CLIENT_CPUS=$PS_ALL_CPUS
ps_load() {
  taskset -c "$PS_CLIENT_CPUS" "$BIN/pubsub_load" --redis "$PS_REDIS" --http-port "$PS_PUB_HTTP" --grpc-port "$PS_PUB_GRPC" \
    --payload-bytes "$PUBSUB_PAYLOAD_BYTES" --source pub "$@" >"$WORK/pubsub-one.json" &
  wait $!
  cat "$WORK/pubsub-one.json"
}
# ps_e2e SCENARIO KIND EXTRA...: one end-to-end run (KIND rate or max), appended to pubsub-e2e.jsonl.
ps_e2e() {
  local scenario=$1 kind=$2 topic pids=(--pid "redis=$PS_REDIS_PID")
  shift 2
  if [ "$scenario" = redis ]; then
    topic="direct-$kind"
  else
    topic="e2e-$kind-$scenario"
    pids+=(--pid "pub=$PS_PUB_PID" --pid "sub=$PS_SUB_PID" --pid "app=$PS_APP_PID")
  fi
  ps_load --mode e2e --scenario "$scenario" --topic "$topic" --app-port "$PS_APP_PORT" \
    --app-dump "$WORK/pubsub-app.dump" --drain-seconds "$PUBSUB_DRAIN_SECONDS" "${pids[@]}" "$@" |
    jq -c --arg kind "$kind" '. + {kind: $kind}' >>"$WORK/pubsub-e2e.jsonl"
  # Keep Redis small: the direct stream goes (its group is per run), daprd's are emptied
  # (their group stays, for the sidecar's reader).
  if [ "$scenario" = redis ]; then ps_redis DEL "$topic" >/dev/null; else ps_redis XTRIM "$topic" MAXLEN 0 >/dev/null; fi
}

# Every path works before anything is timed: a short end-to-end run each, all delivered.
for scenario in redis $PUBSUB_PROTOCOLS; do
  check=$(ps_load --mode e2e --scenario "$scenario" --topic "$([ "$scenario" = redis ] && echo direct-check || echo "e2e-rate-$scenario")" \
    --app-port "$PS_APP_PORT" --app-dump "$WORK/pubsub-app.dump" --rate 200 --connections 2 \
    --seconds 0.5 --warmup-seconds 0 --drain-seconds 5)
  if [ "$(jq '.errors + .undelivered' <<<"$check")" != 0 ] || [ "$(jq .published <<<"$check")" = 0 ]; then
    echo "pub/sub check failed, $scenario: $check" >&2
    exit 1
  fi
done
ps_redis DEL direct-check >/dev/null
curl -s -X POST "http://127.0.0.1:$PS_APP_PORT/reset" >/dev/null

# ---- 1. publish latency, closed loop --------------------------------------------------------
ps_place() {  # ps_place spread|pinned: the pub daprd (all its threads), Redis and the client
  local cpus=$PS_ALL_CPUS
  [ "$1" = pinned ] && cpus=$(($(nproc) - 1))
  taskset -a -p -c "$cpus" "$PS_PUB_PID" >/dev/null
  taskset -a -p -c "$cpus" "$PS_REDIS_PID" >/dev/null
  PS_CLIENT_CPUS=$cpus
}
for round in $(seq 1 "$PUBSUB_ROUNDS"); do
  for placement in $PUBSUB_PLACEMENTS; do
    ps_place "$placement"
    for scenario in redis $PUBSUB_PROTOCOLS; do
      pids=(--pid "redis=$PS_REDIS_PID")
      [ "$scenario" = redis ] || pids+=(--pid "sidecar=$PS_PUB_PID")
      ps_load --mode latency --scenario "$scenario" --topic "lat-$scenario" --requests "$PUBSUB_REQUESTS" \
        --warmup "$PUBSUB_WARMUP" "${pids[@]}" |
        jq -c --argjson round "$round" --arg placement "$placement" '. + {round: $round, placement: $placement}' \
        >>"$WORK/pubsub-latency.jsonl"
      log "pubsub latency round $round $placement $(tail -1 "$WORK/pubsub-latency.jsonl" | jq -r '"\(.scenario): p50 \(.p50_us) µs, p99 \(.p99_us) µs"')"
    done
  done
done
ps_place spread
# The bytes of one stream entry as daprd wrote it and as the direct XADD did (id and fields).
PS_ENTRY_DAPRD=$(ps_redis --raw XREVRANGE "lat-${PUBSUB_PROTOCOLS%% *}" + - COUNT 1 | wc -c)
PS_ENTRY_DIRECT=$(ps_redis --raw XREVRANGE lat-redis + - COUNT 1 | wc -c)
for scenario in redis $PUBSUB_PROTOCOLS; do ps_redis DEL "lat-$scenario" >/dev/null; done

# ---- 2. publish at a fixed rate, open loop ----------------------------------------------------
for scenario in redis $PUBSUB_PROTOCOLS; do
  pids=(--pid "redis=$PS_REDIS_PID")
  [ "$scenario" = redis ] || pids+=(--pid "sidecar=$PS_PUB_PID")
  ps_load --mode rate --scenario "$scenario" --topic "rate-$scenario" --rate "$PUBSUB_RATE" \
    --connections "$PUBSUB_RATE_CONNECTIONS" --seconds "$PUBSUB_RATE_SECONDS" \
    --warmup-seconds "$PUBSUB_RATE_WARMUP_SECONDS" "${pids[@]}" >>"$WORK/pubsub-rate.jsonl"
  ps_redis DEL "rate-$scenario" >/dev/null
  log "pubsub rate $(tail -1 "$WORK/pubsub-rate.jsonl" | jq -r '"\(.scenario) at \(.rate) /s: p50 \(.p50_us) µs, p99 \(.p99_us) µs, \(.achieved_rps) /s, errors \(.errors)"')"
done

# ---- 3. end to end: at a fixed rate, then at the publishers' max ------------------------------
e2e_log() {
  log "pubsub e2e $(tail -1 "$WORK/pubsub-e2e.jsonl" | jq -r '"\(.kind) \(.scenario): published \(.publish_rps)/s, delivered \(.delivered_rps)/s, e2e p50 \(.e2e_p50_us) µs, p99 \(.e2e_p99_us) µs, undelivered \(.undelivered)"')"
}
for round in $(seq 1 "$PUBSUB_E2E_ROUNDS"); do
  for scenario in redis $PUBSUB_PROTOCOLS; do
    ps_e2e "$scenario" rate --rate "$PUBSUB_E2E_RATE" --connections "$PUBSUB_E2E_CONNECTIONS" \
      --seconds "$PUBSUB_E2E_SECONDS" --warmup-seconds "$PUBSUB_E2E_WARMUP_SECONDS"
    e2e_log
  done
done
for round in $(seq 1 "$PUBSUB_E2E_ROUNDS"); do
  for scenario in redis $PUBSUB_PROTOCOLS; do
    ps_e2e "$scenario" max --connections "$PUBSUB_E2E_CONNECTIONS" \
      --seconds "$PUBSUB_E2E_SECONDS" --warmup-seconds "$PUBSUB_E2E_WARMUP_SECONDS"
    e2e_log
  done
done

for side in PUB SUB; do
  pid_var="PS_${side}_PID"
  jq -cn --arg sidecar "${side,,}" --argjson rss "$(status_kb "${!pid_var}" VmRSS)" \
    --argjson hwm "$(status_kb "${!pid_var}" VmHWM)" --argjson cpu "$(cpu_seconds "${!pid_var}")" \
    --argjson threads "$(awk '$1 == "Threads:" { print $2 }' "/proc/${!pid_var}/status")" \
    '{sidecar: $sidecar, when: "end", rss_kb: $rss, hwm_kb: $hwm, cpu_s: $cpu, threads: $threads}' \
    >>"$WORK/pubsub-sidecars.jsonl"
done
PS_REDIS_VERSION=$(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-)
PS_WARNINGS=$(cat "$WORK"/daprd-pubsub-*.log | grep -c -E 'level=(warning|error|critical|fatal)' || true)
PS_LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
PUBSUB_ELAPSED=$(echo "$(date +%s.%N) - $PUBSUB_T0" | bc)
PS_STOP=("$PS_PUB_PID" "$PS_SUB_PID" "$PS_APP_PID" "$PS_REDIS_PID")
kill -TERM "${PS_STOP[@]}" 2>/dev/null || true
for pid in "${PS_STOP[@]}"; do wait "$pid" 2>/dev/null || true; done
log "pub/sub done in ${PUBSUB_ELAPSED}s"
if [ -n "${PUBSUB_RAW:-}" ]; then  # the raw figures too, for a closer look
  mkdir -p "$PUBSUB_RAW" && cp "$WORK"/pubsub-*.jsonl "$WORK"/daprd-pubsub-*.log "$PUBSUB_RAW"/
fi
export PUBSUB_REQUESTS PUBSUB_WARMUP PUBSUB_ROUNDS PUBSUB_PAYLOAD_BYTES PUBSUB_RATE PUBSUB_RATE_CONNECTIONS \
  PUBSUB_RATE_SECONDS PUBSUB_RATE_WARMUP_SECONDS PUBSUB_E2E_RATE PUBSUB_E2E_CONNECTIONS PUBSUB_E2E_SECONDS \
  PUBSUB_E2E_WARMUP_SECONDS PUBSUB_E2E_ROUNDS PUBSUB_DRAIN_SECONDS PUBSUB_PROTOCOLS PUBSUB_PLACEMENTS PUBSUB_COMMAND \
  PUBSUB_ELAPSED PS_ENTRY_DAPRD PS_ENTRY_DIRECT PS_REDIS_VERSION PS_WARNINGS PS_LOAD_BEFORE PS_LOAD_AFTER

if [ -n "$PUBSUB_STANDALONE" ]; then
  PUBSUB_HEADER=1 python3 "$ROOT/bench/report_pubsub.py" "$WORK" >"$WORK/pubsub.md"
  if [ -n "${PUBSUB_RESULTS:-}" ]; then
    mv "$WORK/pubsub.md" "$PUBSUB_RESULTS"
    log "wrote $PUBSUB_RESULTS"
  else
    cat "$WORK/pubsub.md"
  fi
fi
