#!/usr/bin/env bash
# Regenerates cmake/daprd-startup-symbols.txt: the functions daprd runs while it starts with
# its embedded defaults, answers a few requests and sits idle. daprd is linked with that list
# first (lld --symbol-ordering-file, see CMakeLists.txt), so the code it runs at start-up and
# at rest shares few pages instead of being spread over all of its text: the kernel maps code
# in 64 KiB runs around each page it faults in, so scattered start-up code kept most of the
# binary resident.
#
# usage: scripts/startup-symbols.sh   (after a build; installs valgrind if missing; ~1 min)
# Run it again when start-up changes much; a stale list only costs memory, never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin/daprd
OUT=cmake/daprd-startup-symbols.txt
[ -x "$BIN" ] || { echo "build daprd first (scripts/build.sh)" >&2; exit 1; }
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null; }

WORK=$(mktemp -d)
trap 'pkill -INT -f "callgrind-out-file=$WORK" 2>/dev/null || true; rm -rf "$WORK"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
HTTP_PORT=$(free_port)
mkdir -p "$WORK/home"
HOME="$WORK/home" valgrind --tool=callgrind --demangle=no --callgrind-out-file="$WORK/callgrind.out" \
  "$BIN" --app-id startup --dapr-http-port "$HTTP_PORT" --dapr-grpc-port "$(free_port)" \
  --dapr-internal-grpc-listen-address 127.0.0.1 --dapr-listen-addresses 127.0.0.1 \
  --metrics-port "$(free_port)" --log-level warn >"$WORK/daprd.log" 2>&1 &
PID=$!
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/v1.0/healthz")" = 204 ] && break
  sleep 0.5
done
# A little of what a running sidecar does, then rest.
base="http://127.0.0.1:$HTTP_PORT/v1.0"
curl -s -o /dev/null "$base/metadata"
curl -s -o /dev/null -X POST -H 'content-type: application/json' -d '[{"key":"k","value":{"v":1}}]' "$base/state/statestore"
curl -s -o /dev/null "$base/state/statestore/k"
sleep 6
kill -INT "$PID"
wait "$PID" || true

# Function names in the order callgrind first lists them, kept if daprd defines them.
grep -E '^c?fn=\([0-9]+\) ' "$WORK/callgrind.out" | sed -E 's/^c?fn=\([0-9]+\) //' | awk '!seen[$0]++' >"$WORK/ran"
nm "$BIN" | awk '$2 ~ /^[tTwW]$/ { print $3 }' | sort -u >"$WORK/defined"
awk 'NR == FNR { defined[$0] = 1; next } ($0 in defined)' "$WORK/defined" "$WORK/ran" >"$OUT"
echo "wrote $OUT: $(wc -l <"$OUT") functions"
