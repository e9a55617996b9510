#!/usr/bin/env bash
# Long fuzzing runs: builds the libFuzzer targets (clang, ASan + UBSan) and runs each in turn.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]   # default 600 s, every target
#
# Targets: job_codec, callback, request_validation (fuzz/README.md). Each grows its corpus in
# BUILD_DIR/fuzz/long/NAME/corpus across runs, starting from the committed seeds in
# fuzz/corpus/NAME (never written); failing inputs land in BUILD_DIR/fuzz/long/NAME/crashes.
# BUILD_DIR (default build-asan, shared with scripts/sanitize.sh asan) and JOBS (2) override the defaults; libFuzzer flags can be added
# with FUZZ_FLAGS, e.g. FUZZ_FLAGS="-jobs=2 -workers=2".
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=(job_codec callback request_validation); fi

bash scripts/install-deps.sh

build_dir=${BUILD_DIR:-build-asan}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  "${launcher[@]}" -DJOBGW_BUILD_TESTS=ON -DJOBGW_SANITIZE=address,undefined -DJOBGW_BUILD_FUZZ=ON
build_targets=()
for t in "${targets[@]}"; do build_targets+=("${t}_fuzzer"); done
cmake --build "$build_dir" -j"${JOBS:-2}" --target "${build_targets[@]}"

export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)}
status=0
for t in "${targets[@]}"; do
  echo "fuzz.sh: $t for ${seconds}s"
  # shellcheck disable=SC2086
  bash fuzz/run_fuzzer.sh "$build_dir/fuzz/${t}_fuzzer" fuzz "$build_dir/fuzz/long/$t" "$seconds" \
    ${FUZZ_FLAGS:-} || { status=$?; echo "fuzz.sh: $t FAILED (exit $status)" >&2; }
done
exit "$status"
