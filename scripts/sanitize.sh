#!/usr/bin/env bash
# Builds with clang and a sanitizer, then runs tests under it. Installs what is missing first.
#
#   bash scripts/sanitize.sh asan   # AddressSanitizer + UndefinedBehaviorSanitizer (leak checks
#                                   # on): the whole test suite plus the short fuzz runs (fuzz.*)
#   bash scripts/sanitize.sh tsan   # ThreadSanitizer: the hub, poller, scheduler, HTTP and
#                                   # stream tests that run without gRPC (see below)
#
# BUILD_DIR (default build-asan / build-tsan), JOBS (2) and FUZZ_SECONDS (15 per fuzz target)
# override the defaults. Sanitizer reports of every process, including the jobgw and jobsim
# children the integration tests start, go to BUILD_DIR/sanitizer-logs; any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

mode=${1:-}
case "$mode" in
  asan | tsan) ;;
  *)
    echo "usage: $0 asan|tsan" >&2
    exit 2
    ;;
esac

bash scripts/install-deps.sh

jobs=${JOBS:-2}
build_dir=${BUILD_DIR:-build-$mode}
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# -O1 and line tables only: what the sanitizers need for fast code and symbolized reports, and
# about a third less compile time than -O2 -g on CI's two cores.
configure=(cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++
           "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG"
           "${launcher[@]}" -DJOBGW_BUILD_TESTS=ON)

case "$build_dir" in
  /*) logs=$build_dir/sanitizer-logs ;;
  *) logs=$repo/$build_dir/sanitizer-logs ;;
esac
rm -rf "$logs"
mkdir -p "$logs"
export ASAN_SYMBOLIZER_PATH=${ASAN_SYMBOLIZER_PATH:-$(command -v llvm-symbolizer || true)}
ubsan="print_stacktrace=1:halt_on_error=1:log_exe_name=1:log_path=$logs/report"
# Suppressions are for false positives inside Debian's uninstrumented libraries only, each one
# explained in its file; never for jobgw's own code.
suppressions() {
  if [ -f "$repo/scripts/$1.supp" ]; then echo ":suppressions=$repo/scripts/$1.supp"; fi
}

if [ "$mode" = asan ]; then
  # The benchmark tool is left out: the gcc run's bench.smoke covers it, and under ASan its
  # load run costs CI minutes while jobgw's paths are already exercised by the integration tests.
  "${configure[@]}" -DJOBGW_SANITIZE=address,undefined -DJOBGW_BUILD_FUZZ=ON -DJOBGW_BUILD_BENCH=OFF \
    -DJOBGW_FUZZ_SECONDS="${FUZZ_SECONDS:-15}"
  cmake --build "$build_dir" -j"$jobs"
  export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:log_exe_name=1:log_path=$logs/report"
  export LSAN_OPTIONS="print_suppressions=0$(suppressions lsan)"
  export UBSAN_OPTIONS=$ubsan
  tests=()
else
  # ThreadSanitizer sees races only in instrumented code. Debian's gRPC, protobuf and abseil are
  # not instrumented, so any test running a gRPC server or channel reports their internal
  # hand-offs (arena messages, epoll, absl::Mutex) as races by the hundred; those tests
  # (ServiceTest.*, integration.*, client.*) stay with ASan. Run here, where every thread and
  # lock is ours or asio's (header-only, so instrumented): all of core_tests (WatchHub pollers
  # and subscribers, AsioScheduler timers, JobClient and the HTTP pool on io threads), and the
  # server tests without gRPC: stream ending (StreamEnd), the callback/metrics HTTP listener and
  # its routes (ListenerTest, RoutesTest).
  "${configure[@]}" -DJOBGW_SANITIZE=thread
  cmake --build "$build_dir" -j"$jobs" --target core_tests server_tests
  export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_exe_name=1:log_path=$logs/report$(suppressions tsan)"
  export UBSAN_OPTIONS=$ubsan
  tests=(-R '^(core\.|server\.(StreamEnd|RoutesTest|RoutesWithoutTargetsTest|ListenerTest|ListenerCreateTest)\.)')
fi

status=0
ctest --test-dir "$build_dir" --output-on-failure -j"$jobs" --timeout 600 "${tests[@]}" || status=$?

# Reports of child processes (jobgw, jobsim) do not fail their test by themselves: read them all.
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo "sanitize.sh: sanitizer reports in $logs:" >&2
  for f in $reports; do
    echo "==== $f" >&2
    cat "$f" >&2
  done
  status=1
fi
exit "$status"
