#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds, and starts daprd with its embedded defaults
# (an SQLite state store named "statestore" under ~/.dapr/). Extra arguments go to daprd.
#   scripts/run.sh --app-id myapp
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target daprd
exec ./build/bin/daprd "$@"
