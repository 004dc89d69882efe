#!/usr/bin/env bash
# Runs the e2e suites against build/bin/daprd (or $DAPRD_BIN) with node's own test runner.
# usage: tests/e2e/run.sh [file.test.mjs ...]   (default: every *.test.mjs)
# Needs DAPR_TEST_REDIS_ADDR and DAPR_TEST_PG_CONN (scripts/services.sh start redis postgres).
set -euo pipefail
cd "$(dirname "$0")"

# Install exactly what the lock file says, only when node_modules is missing or the lock changed.
if [ ! -d node_modules ] || ! cmp -s package-lock.json node_modules/.e2e-lock; then
  npm ci --no-audit --no-fund
  cp package-lock.json node_modules/.e2e-lock
fi

if [ "$#" -eq 0 ]; then
  set -- *.test.mjs
fi
# Node 20 runs the files one after another in one command; Debian 12's own Node 18 lacks
# --test-concurrency, so there each file gets its own run (each test sets its own timeout).
if [ "$(node -p 'process.versions.node.split(".")[0]')" -ge 20 ]; then
  exec node --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "$@"
fi
status=0
for file in "$@"; do
  node --test --test-reporter=spec "$file" || status=1
done
exit $status
