#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds everything, starts the real backends the tests
# need (Redis, PostgreSQL, Mosquitto) on loopback, and runs every test: unit and conformance tests
# (GoogleTest through CTest), then the end-to-end suites (node --test with @dapr/dapr).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

bash scripts/install-deps.sh
bash scripts/build.sh

export SVC_DIR=${SVC_DIR:-$(mktemp -d /tmp/dapr-cpp-test.XXXXXX)}
cleanup() { bash "$ROOT/scripts/services.sh" stop redis postgres mosquitto || true; }
trap cleanup EXIT
bash scripts/services.sh start redis postgres mosquitto
# shellcheck disable=SC1091
source "$SVC_DIR/env"

echo "== unit and conformance tests"
(cd build && ctest --output-on-failure -j "$(nproc)")

echo "== end-to-end tests"
export DAPRD_BIN="$ROOT/build/bin/daprd"
bash tests/e2e/run.sh
