#!/usr/bin/env bash
# Installs exactly what jobgw needs to build and test, from Debian 12 packages.
# A no-op (no apt-get call at all) when everything is already installed.
set -euo pipefail

# Build: compiler, CMake and the libraries CMake finds. Tests: GoogleTest; python3 and perl run
# scripts on jobsim's hosts and the deploy checks; ca-certificates lets jobgw verify a real JOB.
# openssl (the CLI): tests/deploy makes stand-in certificates for the Secrets deploy/ mounts.
# hiredis: its RESP reader and formatter for the replicas' shared state; redis-server (started by
# the tests and `demo.sh --replicas`, never as a system service) and redis-cli for the tests.
# (The real-Prometheus test installs Debian's prometheus package itself.) Sanitizer and fuzz
# builds (scripts/sanitize.sh, scripts/fuzz.sh): clang, its ASan/UBSan/TSan and libFuzzer
# runtimes (libclang-rt-14-dev), llvm-symbolizer (llvm) for readable reports. The status page's
# browser tests (label browser) drive headless chromium; fonts-dejavu-core gives it fonts to render.
packages=(
  build-essential cmake pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libssl-dev libsqlite3-dev ca-certificates libhiredis-dev
  libgtest-dev libgmock-dev
  python3 perl bash openssl redis-server redis-tools
  prometheus  # promtool, for deploy.alerts (promtool check/test rules)
  clang libclang-rt-14-dev llvm
  chromium fonts-dejavu-core
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
