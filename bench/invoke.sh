# The service invocation part of bench/run.sh, which sources this file after the state part
# (it uses run.sh's WORK, BIN, PIDS, log, free_port, status_kb and wait_healthy; everything it
# starts is in PIDS, so run.sh's exit handler stops it on failure too).
#
# Dapr's own method: a trivial app (bench/invoke_app: 200 with an empty body; OnInvoke with an
# empty InvokeResponse) and an open-loop load (bench/invoke_load: INVOKE_RATE req/s over
# INVOKE_CONNECTIONS connections, INVOKE_BODY_BYTES POST body, latency from each request's due
# time, warm-up discarded), sent three ways for each protocol:
#   direct    load -> app
#   nginx     load -> nginx (one reverse-proxy hop, upstream keep-alive; grpc_pass) -> app
#   sidecars  load -> caller daprd -> callee daprd -> app (/v1.0/invoke/testapp/method/test;
#             gRPC: Dapr/InvokeService on the caller, AppCallback/OnInvoke on the app)
# in INVOKE_ROUNDS rounds, then a closed-loop saturation run through each pair. Results:
# $WORK/invoke.jsonl, $WORK/invoke-saturate.jsonl, $WORK/invoke-sidecars.jsonl.
# shellcheck shell=bash

INVOKE_RATE=${INVOKE_RATE:-1000}
INVOKE_CONNECTIONS=${INVOKE_CONNECTIONS:-16}
INVOKE_SECONDS=${INVOKE_SECONDS:-10}
INVOKE_WARMUP_SECONDS=${INVOKE_WARMUP_SECONDS:-2}
INVOKE_ROUNDS=${INVOKE_ROUNDS:-3}
INVOKE_BODY_BYTES=${INVOKE_BODY_BYTES:-1024}
INVOKE_SATURATE_SECONDS=${INVOKE_SATURATE_SECONDS:-5}

wait_port() {  # wait_port PORT PID: until something accepts on 127.0.0.1:PORT
  for _ in $(seq 1 200); do
    kill -0 "$2" 2>/dev/null || { echo "process $2 exited before listening on $1" >&2; return 1; }
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on 127.0.0.1:$1" >&2
  return 1
}

# start_sidecar NAME HOME ARGS...: a daprd on free ports; sets NAME_PID, NAME_HTTP, NAME_GRPC.
start_sidecar() {
  local name=$1 home=$2 http grpc pid
  shift 2
  http=$(free_port)
  grpc=$(free_port)
  mkdir -p "$home"
  HOME="$home" "$BIN/daprd" --dapr-listen-addresses 127.0.0.1 --dapr-internal-grpc-listen-address 127.0.0.1 --dapr-http-port "$http" \
    --dapr-grpc-port "$grpc" --metrics-port "$(free_port)" --log-level warn "$@" \
    >"$WORK/daprd-$name.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  wait_healthy "$http" "$pid"
  printf -v "${name}_PID" %s "$pid"
  printf -v "${name}_HTTP" %s "$http"
  printf -v "${name}_GRPC" %s "$grpc"
  jq -cn --arg sidecar "$name" --argjson rss "$(status_kb "$pid" VmRSS)" \
    '{sidecar: $sidecar, ready_rss_kb: $rss}' >>"$WORK/invoke-sidecars.jsonl"
}

# load PROTOCOL TARGET EXTRA...: one invoke_load run against TARGET; its JSON line on stdout.
# In the background and waited for, so that a signal reaches run.sh's handler at once.
load() {
  local protocol=$1 target=$2 args=()
  shift 2
  case "$protocol-$target" in
    http-direct) args=(--port "$APP_HTTP" --path /test --pid "app=$APP_PID") ;;
    http-nginx) args=(--port "$NGINX_HTTP" --path /test --pid "nginx=$NGINX_PID" --pid "app=$APP_PID") ;;
    http-sidecars) args=(--port "$HTTP_CALLER_HTTP" --path /v1.0/invoke/testapp/method/test
                         --pid "caller=$HTTP_CALLER_PID" --pid "callee=$HTTP_CALLEE_PID" --pid "app=$APP_PID") ;;
    grpc-direct) args=(--port "$APP_GRPC" --grpc-service app --pid "app=$APP_PID") ;;
    grpc-nginx) args=(--port "$NGINX_GRPC" --grpc-service app --pid "nginx=$NGINX_PID" --pid "app=$APP_PID") ;;
    grpc-sidecars) args=(--port "$GRPC_CALLER_GRPC" --grpc-service dapr --app-id testapp
                         --pid "caller=$GRPC_CALLER_PID" --pid "callee=$GRPC_CALLEE_PID" --pid "app=$APP_PID") ;;
  esac
  "$BIN/invoke_load" --protocol "$protocol" --connections "$INVOKE_CONNECTIONS" \
    --body-bytes "$INVOKE_BODY_BYTES" --method test "${args[@]}" "$@" >"$WORK/invoke-one.json" &
  wait $!
  jq -c --arg target "$target" '. + {target: $target}' "$WORK/invoke-one.json"
}

log "service invocation: app, nginx, two sidecar pairs"
: >"$WORK/invoke.jsonl"
: >"$WORK/invoke-saturate.jsonl"
: >"$WORK/invoke-sidecars.jsonl"
APP_HTTP=$(free_port)
APP_GRPC=$(free_port)
"$BIN/invoke_app" --http-port "$APP_HTTP" --grpc-port "$APP_GRPC" >"$WORK/invoke-app.log" 2>&1 &
APP_PID=$!
PIDS+=("$APP_PID")
wait_port "$APP_HTTP" "$APP_PID"
wait_port "$APP_GRPC" "$APP_PID"

# nginx: one process (no master), one worker's work, in the foreground; nothing of the
# system's configuration is read.
NGINX_HTTP=$(free_port)
NGINX_GRPC=$(free_port)
NGINX_DIR="$WORK/nginx"
mkdir -p "$NGINX_DIR"
cat >"$NGINX_DIR/nginx.conf" <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $NGINX_DIR/client_body;
  proxy_temp_path $NGINX_DIR/proxy;
  fastcgi_temp_path $NGINX_DIR/fastcgi;
  uwsgi_temp_path $NGINX_DIR/uwsgi;
  scgi_temp_path $NGINX_DIR/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 600s;
  upstream app_http { server 127.0.0.1:$APP_HTTP; keepalive 64; keepalive_requests 10000000; }
  upstream app_grpc { server 127.0.0.1:$APP_GRPC; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:$NGINX_HTTP;
    location / {
      proxy_pass http://app_http;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
  server {
    listen 127.0.0.1:$NGINX_GRPC http2;
    location / { grpc_pass grpc://app_grpc; }
  }
}
EOF
nginx -p "$NGINX_DIR/" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" &
NGINX_PID=$!
PIDS+=("$NGINX_PID")
wait_port "$NGINX_HTTP" "$NGINX_PID"
wait_port "$NGINX_GRPC" "$NGINX_PID"
NGINX_VERSION=$(nginx -v 2>&1 | sed 's|.*nginx/||')

# Two pairs, each in its own HOME (so its own name registry), each callee named testapp: one
# in front of the app's HTTP port, one in front of its gRPC port (--app-protocol grpc).
start_sidecar HTTP_CALLEE "$WORK/home-invoke-http" --app-id testapp --app-port "$APP_HTTP"
start_sidecar HTTP_CALLER "$WORK/home-invoke-http" --app-id caller
start_sidecar GRPC_CALLEE "$WORK/home-invoke-grpc" --app-id testapp --app-port "$APP_GRPC" --app-protocol grpc
start_sidecar GRPC_CALLER "$WORK/home-invoke-grpc" --app-id caller
log "app on http $APP_HTTP / grpc $APP_GRPC, nginx $NGINX_VERSION on $NGINX_HTTP / $NGINX_GRPC, sidecars ready"

# Every path answers before anything is timed.
for protocol in http grpc; do
  for target in direct nginx sidecars; do
    check=$(load "$protocol" "$target" --rate 200 --seconds 0.5 --warmup-seconds 0)
    if [ "$(jq '.errors + .unfinished' <<<"$check")" != 0 ] || [ "$(jq .requests <<<"$check")" = 0 ]; then
      echo "invoke check failed, $protocol $target: $check" >&2
      exit 1
    fi
  done
done

# Rounds, so that slow drift on a shared machine hits every target alike.
for round in $(seq 1 "$INVOKE_ROUNDS"); do
  for protocol in http grpc; do
    for target in direct nginx sidecars; do
      load "$protocol" "$target" --rate "$INVOKE_RATE" --seconds "$INVOKE_SECONDS" \
        --warmup-seconds "$INVOKE_WARMUP_SECONDS" | jq -c --argjson round "$round" '. + {round: $round}' \
        >>"$WORK/invoke.jsonl"
      log "invoke round $round $(tail -1 "$WORK/invoke.jsonl" | jq -r \
        '"\(.protocol) \(.target): p50 \(.p50_us) µs, p99 \(.p99_us) µs, \(.achieved_rps) req/s, errors \(.errors)"
         + (if .caller_rss_kb then ", RSS caller \(.caller_rss_kb) kB, callee \(.callee_rss_kb) kB" else "" end)')"
    done
  done
done

# Saturation: closed loop, every connection busy, through each pair.
for protocol in http grpc; do
  load "$protocol" sidecars --saturate --seconds "$INVOKE_SATURATE_SECONDS" --warmup-seconds 1 \
    >>"$WORK/invoke-saturate.jsonl"
  log "invoke saturation $protocol: $(tail -1 "$WORK/invoke-saturate.jsonl" | jq -r '"\(.achieved_rps) req/s, p50 \(.p50_us) µs"')"
done

INVOKE_PIDS=("$APP_PID" "$NGINX_PID" "$HTTP_CALLEE_PID" "$HTTP_CALLER_PID" "$GRPC_CALLEE_PID" "$GRPC_CALLER_PID")
kill -TERM "${INVOKE_PIDS[@]}" 2>/dev/null || true
for pid in "${INVOKE_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
export INVOKE_RATE INVOKE_CONNECTIONS INVOKE_SECONDS INVOKE_WARMUP_SECONDS INVOKE_ROUNDS \
  INVOKE_BODY_BYTES INVOKE_SATURATE_SECONDS NGINX_VERSION
