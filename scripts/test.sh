#!/usr/bin/env bash
# The test command: installs what is missing, configures, builds and runs every test with ctest.
# Works on a fresh Debian 12 machine as root. BUILD_DIR and JOBS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh test

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-2}
# Tests on, whatever the cache holds: the demo configures a tree without GoogleTest with them off.
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} -DJOBGW_BUILD_TESTS=ON
cmake --build "$build_dir" -j"$jobs"
# ctest ends with "N% tests passed, M tests failed out of T": the count CI reads.
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" --timeout 300
