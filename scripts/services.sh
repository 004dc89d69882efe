#!/usr/bin/env bash
# Starts or stops the real backends the tests use, on loopback only, on free ports.
# usage: scripts/services.sh start|stop [redis] [postgres] [mosquitto]
# Writes the chosen addresses to $SVC_DIR/env (source it): DAPR_TEST_REDIS_ADDR, DAPR_TEST_PG_CONN,
# DAPR_TEST_MQTT_ADDR.
set -euo pipefail
SVC_DIR=${SVC_DIR:-/tmp/dapr-cpp-services}
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
mkdir -p "$SVC_DIR"
# The postgres user must reach its data folder inside (mktemp makes 0700 folders).
chmod 755 "$SVC_DIR"
touch "$SVC_DIR/env"

# A loopback port nobody listens on (bash and iproute2 only: a fresh machine may lack python).
free_port() {
  local port
  for _ in $(seq 1 100); do
    port=$((20000 + RANDOM % 40000))
    if [ -z "$(ss -Htln "sport = :$port")" ]; then
      echo "$port"
      return 0
    fi
  done
  echo "services: no free port found" >&2
  return 1
}
wait_for() {
  local i
  for i in $(seq 1 200); do eval "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "services: timed out waiting for: $1" >&2
  return 1
}
set_env() {  # set_env NAME VALUE: replaces the line for NAME in the env file
  grep -v "^export $1=" "$SVC_DIR/env" > "$SVC_DIR/env.new" || true
  echo "export $1='$2'" >> "$SVC_DIR/env.new"
  mv "$SVC_DIR/env.new" "$SVC_DIR/env"
}

start_redis() {
  local port; port=${REDIS_PORT:-$(free_port)}
  redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
    --dir "$SVC_DIR" --pidfile "$SVC_DIR/redis.pid" --logfile "$SVC_DIR/redis.log"
  wait_for "redis-cli -p $port ping | grep -q PONG"
  echo "$port" > "$SVC_DIR/redis.port"
  set_env DAPR_TEST_REDIS_ADDR "127.0.0.1:$port"
  echo "services: redis on 127.0.0.1:$port"
}
stop_redis() {
  [ -f "$SVC_DIR/redis.port" ] && redis-cli -p "$(cat "$SVC_DIR/redis.port")" shutdown nosave >/dev/null 2>&1 || true
  rm -f "$SVC_DIR/redis.port"
}

start_postgres() {
  local port; port=${PG_PORT:-$(free_port)}
  rm -rf "$SVC_DIR/pg"
  install -d -o postgres -g postgres "$SVC_DIR/pg"
  runuser -u postgres -- "$PGBIN/initdb" -D "$SVC_DIR/pg/data" -U postgres -A trust --no-sync -E UTF8 \
    --locale=C.UTF-8 > "$SVC_DIR/pg-initdb.log"
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SVC_DIR/pg/data" -l "$SVC_DIR/pg/server.log" -w \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $SVC_DIR/pg -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start > /dev/null
  echo "$port" > "$SVC_DIR/pg.port"
  set_env DAPR_TEST_PG_CONN "host=127.0.0.1 port=$port user=postgres dbname=postgres"
  echo "services: postgres on 127.0.0.1:$port"
}
stop_postgres() {
  [ -d "$SVC_DIR/pg/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$SVC_DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -f "$SVC_DIR/pg.port"
}

# An MQTT broker, with persistence in $SVC_DIR/mosquitto, so that kept sessions (and their
# queued messages) survive a restart of the broker.
start_mosquitto() {
  local port; port=${MQTT_PORT:-$(free_port)}
  local bin; bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  mkdir -p "$SVC_DIR/mosquitto"
  {
    echo "listener $port 127.0.0.1"
    echo "allow_anonymous true"
    echo "persistence true"
    echo "persistence_location $SVC_DIR/mosquitto/"
    echo "pid_file $SVC_DIR/mosquitto.pid"
    echo "log_dest file $SVC_DIR/mosquitto.log"
    # As root it would switch to the mosquitto user, who cannot write in $SVC_DIR.
    if [ "$(id -u)" -eq 0 ]; then echo "user root"; fi
  } > "$SVC_DIR/mosquitto.conf"
  "$bin" -c "$SVC_DIR/mosquitto.conf" -d
  wait_for "mosquitto_pub -h 127.0.0.1 -p $port -t dapr-cpp/services/ping -m ping -q 1"
  echo "$port" > "$SVC_DIR/mosquitto.port"
  set_env DAPR_TEST_MQTT_ADDR "127.0.0.1:$port"
  echo "services: mosquitto on 127.0.0.1:$port"
}
stop_mosquitto() {
  if [ -f "$SVC_DIR/mosquitto.pid" ]; then
    local pid; pid=$(cat "$SVC_DIR/mosquitto.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$SVC_DIR/mosquitto.pid"
  fi
  rm -f "$SVC_DIR/mosquitto.port"
}

cmd=${1:?usage: services.sh start|stop [redis] [postgres] [mosquitto]}
shift
names=${*:-redis postgres mosquitto}
for name in $names; do
  "${cmd}_${name}"
done
