#!/usr/bin/env bash
# Installs every Debian package that building, running and testing dapr-cpp needs.
# Idempotent: packages already present are skipped by apt; safe to run again.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config ccache lld
  # libraries
  libboost-dev libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libhiredis-dev libpq-dev libsqlite3-dev libmosquitto-dev nlohmann-json3-dev libyaml-cpp-dev
  libspdlog-dev libfmt-dev libssl-dev libcli11-dev libnghttp2-dev rapidjson-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # backends the tests start on loopback, and tools the tests use
  redis-server redis-tools postgresql postgresql-client mosquitto mosquitto-clients
  curl procps iproute2 ca-certificates openssl
)

missing=()
# Node.js (with npm) runs the end-to-end tests; a machine that already has it keeps its own.
command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
