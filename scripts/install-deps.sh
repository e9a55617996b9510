#!/usr/bin/env bash
# Installs what jobgw needs from Debian 12 packages, for one profile:
#   bash scripts/install-deps.sh [demo|test] [--list]
#   demo         build and run jobgw, jobsim and jobctl and the demo's own scripts
#                (scripts/demo.sh), redis-server for `demo.sh --replicas`; nothing for the tests
#   test         (the default) everything the tests need: the demo's packages and the rest below
#   --list       print the profile's packages, one a line, and install nothing
# A no-op (no apt-get call at all) when every package of the profile is already installed.
set -euo pipefail

# demo. Build: compiler, CMake and the libraries CMake finds; hiredis: its RESP reader and
# formatter for the replicas' shared state. Run: ca-certificates lets jobgw verify a real JOB;
# python3 for the demo's helpers; redis-server (started by `demo.sh --replicas`, never as a
# system service) and redis-cli (redis-tools) to show what the replicas share.
demo_packages=(
  build-essential cmake pkg-config
  protobuf-compiler libprotobuf-dev protobuf-compiler-grpc libgrpc++-dev
  libboost-dev libboost-system-dev
  nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev prometheus-cpp-dev
  libssl-dev libsqlite3-dev ca-certificates libhiredis-dev
  python3 bash redis-server redis-tools
)

# test, beyond the demo's. GoogleTest; perl runs scripts on jobsim's hosts; openssl (the CLI)
# makes stand-in certificates for the Secrets deploy/ mounts. Sanitizer and fuzz builds
# (scripts/sanitize.sh, scripts/fuzz.sh): clang, its ASan/UBSan/TSan and libFuzzer runtimes
# (libclang-rt-14-dev), llvm-symbolizer (llvm) for readable reports. The status page's browser
# tests (label browser) drive headless chromium; fonts-dejavu-core gives it fonts to render.
# tmux gives jobctl's screen tests a real terminal; prometheus scrapes a real jobgw in
# deploy.prometheus_integration.
test_only_packages=(
  libgtest-dev libgmock-dev
  perl openssl
  clang libclang-rt-14-dev llvm
  chromium fonts-dejavu-core
  tmux prometheus
)

profile=test
list=false
for arg in "$@"; do
  case "$arg" in
    demo | test) profile=$arg ;;
    --list) list=true ;;
    -h | --help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps: unknown argument '$arg' (profiles: demo, test; --list)" >&2; exit 2 ;;
  esac
done

packages=("${demo_packages[@]}")
if [ "$profile" = test ]; then packages+=("${test_only_packages[@]}"); fi

if $list; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages of profile $profile present"
  exit 0
fi

echo "install-deps: installing ${missing[*]} (profile $profile)"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
