#!/usr/bin/env bash
# Runs one libFuzzer target for SECONDS from its committed seeds, without writing to them.
#   run_fuzzer.sh BINARY FUZZ_SOURCE_DIR WORK_DIR SECONDS [more libFuzzer flags]
# The target's name is the binary's without "_fuzzer"; its seeds are FUZZ_SOURCE_DIR/corpus/NAME
# and its dictionary FUZZ_SOURCE_DIR/NAME.dict when present. WORK_DIR/corpus collects what the
# run finds (kept between runs: scripts/fuzz.sh grows it), WORK_DIR/crashes the failing inputs.
# Exits non-zero when the target crashed, leaked or broke an invariant.
set -euo pipefail
binary=$1 source_dir=$2 work=$3 seconds=$4
shift 4
name=$(basename "$binary")
name=${name%_fuzzer}
mkdir -p "$work/corpus" "$work/crashes"
flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
       -artifact_prefix="$work/crashes/")
if [ -f "$source_dir/$name.dict" ]; then flags+=(-dict="$source_dir/$name.dict"); fi
# detect_leaks: a leak fails the run like a crash does.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$binary" "${flags[@]}" "$@" "$work/corpus" "$source_dir/corpus/$name"
