#!/usr/bin/env bash
# Where jobgw's CPU goes on the unary path: runs jobgw under callgrind (instruction counts, so a
# busy machine does not skew it) while jobgw_bench sends GetJobStatus (or ExecuteScript) calls,
# then prints the instructions per call (Ir over every call the benchmark made, warm-up included;
# jobgw's start-up is not collected) and the costliest functions, inclusive. perf records nothing
# on some VMs; this works everywhere valgrind does. --target floor profiles jobgw_floor instead
# (gRPC alone answering GetJobStatus with a canned snapshot, bench/grpc_floor.cc) under the same
# load: gRPC's own instructions per call, to set beside jobgw's.
#
#   bash bench/profile.sh [--build-dir DIR] [--op status|execute] [--seconds S]
#                         [--target jobgw|floor]
#
# Needs a build with jobsim, jobgw, jobgw_bench and jobgw_floor (bench/run.sh makes one in
# build-bench/) and valgrind (apt-get install valgrind). Writes DIR/callgrind.out.jobgw (or
# .floor) for callgrind_annotate or kcachegrind.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=$ROOT/build-bench
OP=status
SECONDS_=10
TARGET=jobgw
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build-dir) BUILD_DIR=$2; shift ;;
    --op) OP=$2; shift ;;
    --seconds) SECONDS_=$2; shift ;;
    --target) TARGET=$2; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "profile.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ $TARGET = jobgw || $TARGET = floor ]] || { echo "profile.sh: --target jobgw or floor" >&2; exit 2; }
[[ $TARGET = jobgw || $OP = status ]] || { echo "profile.sh: the floor answers --op status only" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "profile.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
find_bin() {
  find "$BUILD_DIR" -type f -name "$1" -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1
}
JOBSIM=$(find_bin jobsim); JOBGW=$(find_bin jobgw); BENCH=$(find_bin jobgw_bench)
FLOOR=$(find_bin jobgw_floor)
[[ -n $JOBSIM && -n $JOBGW && -n $BENCH && -n $FLOOR ]] ||
  { echo "profile.sh: build $BUILD_DIR first" >&2; exit 1; }
OUT_FILE=$BUILD_DIR/callgrind.out.$TARGET

WORK=$(mktemp -d /tmp/jobgw-profile.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
wait_for() { for _ in $(seq 300); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }

if [[ $TARGET = floor ]]; then
  # The floor needs no jobsim: it answers every GetJobStatus with its canned snapshot.
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_FILE" \
    "$FLOOR" --listen 127.0.0.1:0 --port-file "$WORK/floor.port" --hosts 5 \
    >"$WORK/floor.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_for "$WORK/floor.port" || { cat "$WORK/floor.log" >&2; exit 1; }
  LOAD=(--targets floor --floor "127.0.0.1:$(tr -d '[:space:]' <"$WORK/floor.port")")
  ROW_TARGET=floor
else

"$JOBSIM" --listen 127.0.0.1:0 --port-file "$WORK/jobsim.port" --hosts 5 --executor synthetic \
  --synthetic-min-ms 50 --synthetic-max-ms 50 --keep-jobs 200000 --log-level warn &
PIDS+=($!)
wait_for "$WORK/jobsim.port"
SIM_PORT=$(tr -d '[:space:]' <"$WORK/jobsim.port")
valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT_FILE" \
  "$JOBGW" \
  --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 --job.base_url="http://127.0.0.1:$SIM_PORT" \
  --ports_file="$WORK/jobgw.ports" --state.path="$WORK/jobgw-state.db" --log.level=warn \
  --insecure-dev --limits.caller_submits_per_second=0 --watch.status_fresh_for_ms=0 \
  >"$WORK/jobgw.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
wait_for "$WORK/jobgw.ports" || { cat "$WORK/jobgw.log" >&2; exit 1; }
GRPC=127.0.0.1:$(sed -n 's/.*"grpc":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$WORK/jobgw.ports")
LOAD=(--jobsim-port "$SIM_PORT" --grpc "$GRPC" --targets direct,jobgw)
ROW_TARGET=jobgw
fi
callgrind_control --instr=on "$SERVER_PID" >/dev/null 2>&1
"$BENCH" unary --op "$OP" "${LOAD[@]}" --concurrency 4 \
  --seconds "$SECONDS_" --warmup-seconds 1 --rounds 1 >"$WORK/rows.jsonl"
callgrind_control --instr=off "$SERVER_PID" >/dev/null 2>&1
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
CALLS=$(grep "\"target\":\"$ROW_TARGET\"" "$WORK/rows.jsonl" |
  sed -n 's/.*"calls":\([0-9][0-9]*\).*/\1/p')
IR=$(callgrind_annotate "$OUT_FILE" 2>/dev/null |
  sed -n 's/^ *\([0-9,][0-9,]*\) .*PROGRAM TOTALS.*/\1/p' | tr -d ,)
if [[ -n $CALLS && $CALLS -gt 0 && -n $IR ]]; then
  echo "$TARGET: $IR instructions over $CALLS $OP calls: $((IR / CALLS)) Ir per call"
fi
callgrind_annotate --inclusive=yes "$OUT_FILE" 2>/dev/null |
  grep -E 'jobgw::|nlohmann|grpc|beast|PROGRAM TOTALS' | head -n 40 | cut -c1-200
