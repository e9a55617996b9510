#!/usr/bin/env bash
# jobgw's benchmark: builds jobsim, jobgw and jobgw_bench in Release (build-bench/), starts jobsim
# and jobgw on 127.0.0.1 ephemeral ports, runs every scenario and writes bench/RESULTS.md.
#
#   bash bench/run.sh            # full run (a few minutes), writes bench/RESULTS.md
#   bash bench/run.sh --smoke    # tiny sizes, well under a minute, writes build-bench/RESULTS-smoke.md
#
# Options: --out FILE (where the report goes), --build-dir DIR (default build-bench), --no-build
# (use what DIR holds). Everything it starts is stopped on exit (also on Ctrl-C).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="bash bench/run.sh${*:+ $*}"
SMOKE=0
BUILD=1
BUILD_DIR=$ROOT/build-bench
OUT=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no-build) BUILD=0 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    --build-dir) BUILD_DIR=$2; shift ;;
    --build-dir=*) BUILD_DIR=${1#--build-dir=} ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[[ "$BUILD_DIR" = /* ]] || BUILD_DIR=$PWD/$BUILD_DIR
if [[ -z "$OUT" ]]; then
  if [[ $SMOKE = 1 ]]; then OUT=$BUILD_DIR/RESULTS-smoke.md; else OUT=$ROOT/bench/RESULTS.md; fi
fi

# Sizes. Fan-in: jobs of a fixed duration (synthetic executor), K callers each; the duration is
# not a multiple of the baseline intervals, so polls aligned with the submit do not meet the end.
# Unary: closed loop at each concurrency, rounds alternating direct and jobgw.
if [[ $SMOKE = 1 ]]; then
  JOB_MS=1250; KS="1 10"; INTERVALS="250 2000"
  CONCURRENCY="1 4"; UNARY_SECONDS=0.5; WARMUP=0.2; ROUNDS=1; EXEC_CAP=2000
  BUDGET_JOBS=20; BUDGET_MIN_MS=200; BUDGET_MAX_MS=1500; BUDGET_INTERVALS="250"
  LAT_JOBS=4; LAT_RATE=4; LAT_MIN_MS=300; LAT_MAX_MS=1500; LAT_INTERVALS="250"
  STREAMS=200; STREAM_JOBS=4; STREAM_CHANNELS=4; STREAM_JOB_MS=3000; IDLE_S=0.5; IDLE_AFTER=1000
  BIG_HOSTS=50; BIG_ROUNDS=2
else
  JOB_MS=10500; KS="1 10 100 1000"; INTERVALS="1000 20000"
  CONCURRENCY="1 16 64"; UNARY_SECONDS=3; WARMUP=0.5; ROUNDS=2; EXEC_CAP=15000
  BUDGET_JOBS=1000; BUDGET_MIN_MS=1000; BUDGET_MAX_MS=30000; BUDGET_INTERVALS="1000 20000"
  LAT_JOBS=40; LAT_RATE=2; LAT_MIN_MS=500; LAT_MAX_MS=4000; LAT_INTERVALS="1000 20000"
  STREAMS=10000; STREAM_JOBS=100; STREAM_CHANNELS=100; STREAM_JOB_MS=35000; IDLE_S=5
  IDLE_AFTER=22000; BIG_HOSTS=1000; BIG_ROUNDS=5
fi
HOSTS=5

log() { echo "[bench $(date +%H:%M:%S)] $*" >&2; }

# ---- build ---------------------------------------------------------------------------------
if [[ $BUILD = 1 ]]; then
  # The top-level build adds bench/ when it has the JOBGW_BUILD_BENCH option; until then bench/
  # is the top of its own build and pulls the project in.
  if grep -q JOBGW_BUILD_BENCH "$ROOT/CMakeLists.txt"; then
    SRC=$ROOT; EXTRA=(-DJOBGW_BUILD_BENCH=ON)
  else
    SRC=$ROOT/bench; EXTRA=()
  fi
  if [[ -f $BUILD_DIR/CMakeCache.txt ]] &&
     ! grep -qx "CMAKE_HOME_DIRECTORY:INTERNAL=$SRC" "$BUILD_DIR/CMakeCache.txt"; then
    log "$BUILD_DIR was configured from another source dir; starting it afresh"
    rm -rf "$BUILD_DIR"
  fi
  log "building (Release) in $BUILD_DIR"
  mkdir -p "$BUILD_DIR"
  cmake -S "$SRC" -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DJOBGW_BUILD_TESTS=OFF \
    "${EXTRA[@]}" >"$BUILD_DIR/bench-configure.log" 2>&1 ||
    { cat "$BUILD_DIR/bench-configure.log" >&2; exit 1; }
  cmake --build "$BUILD_DIR" -j2 --target jobsim jobgw jobgw_bench \
    >"$BUILD_DIR/bench-build.log" 2>&1 || { tail -n 50 "$BUILD_DIR/bench-build.log" >&2; exit 1; }
fi
find_bin() {
  local path
  path=$(find "$BUILD_DIR" -type f -name "$1" -perm -u+x -not -path '*/CMakeFiles/*' | head -n 1)
  [[ -n "$path" ]] || { echo "run.sh: $1 not found under $BUILD_DIR" >&2; exit 1; }
  echo "$path"
}
JOBSIM=$(find_bin jobsim)
JOBGW=$(find_bin jobgw)
BENCH=$(find_bin jobgw_bench)

# ---- processes -----------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/jobgw-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for_file() {  # FILE SECONDS PATTERN
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    [[ -s $1 ]] && grep -q "$3" "$1" && return 0
    sleep 0.1
  done
  return 1
}

# start_stack NAME [jobsim flags...] -- [jobgw flags...]: sets SIM_PORT and GRPC_ADDR.
start_stack() {
  local name=$1; shift
  local sim_args=() gw_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do sim_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  gw_args=("$@")
  local dir=$WORK/$name
  mkdir -p "$dir"
  "$JOBSIM" --listen 127.0.0.1:0 --port-file "$dir/jobsim.port" --hosts "${STACK_HOSTS:-$HOSTS}" \
    --log-level warn "${sim_args[@]}" >"$dir/jobsim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=($SIM_PID)
  wait_for_file "$dir/jobsim.port" 20 '[0-9]' || { cat "$dir/jobsim.log" >&2; exit 1; }
  SIM_PORT=$(tr -d '[:space:]' <"$dir/jobsim.port")
  # One anonymous caller drives every scenario (10,000 streams, thousands of submits per
  # second): per-caller limits would measure themselves, not the gateway.
  "$JOBGW" --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 \
    --job.base_url="http://127.0.0.1:$SIM_PORT" --ports_file="$dir/jobgw.ports" \
    --state.path="$dir/jobgw-state.db" --log.level=warn --insecure-dev \
    --limits.caller_submits_per_second=0 --limits.caller_max_streams=0 \
    "${gw_args[@]}" >"$dir/jobgw.log" 2>&1 &
  GW_PID=$!
  PIDS+=($GW_PID)
  wait_for_file "$dir/jobgw.ports" 20 '"grpc"' || { cat "$dir/jobgw.log" >&2; exit 1; }
  GRPC_ADDR=127.0.0.1:$(sed -n 's/.*"grpc":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/jobgw.ports")
  log "$name: jobsim 127.0.0.1:$SIM_PORT, jobgw $GRPC_ADDR"
}

stop_stack() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

RESULTS=$WORK/results.jsonl
: >"$RESULTS"
bench() {  # every run bounded in time
  timeout --foreground 900 "$BENCH" "$@" | tee -a "$RESULTS" >&2
}

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---- scenario 1: fan-in --------------------------------------------------------------------
start_stack fanin --executor synthetic --synthetic-min-ms "$JOB_MS" --synthetic-max-ms "$JOB_MS"
for k in $KS; do
  log "fan-in jobgw K=$k"
  bench fanin --mode jobgw --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --k "$k" --hosts "$HOSTS"
  for interval in $INTERVALS; do
    log "fan-in baseline K=$k every ${interval} ms"
    bench fanin --mode baseline --jobsim-port "$SIM_PORT" --k "$k" --interval-ms "$interval" \
      --hosts "$HOSTS"
  done
done
stop_stack

# ---- scenario 2: many jobs under a JOB read budget -----------------------------------------
# One-host jobs, durations uniform over the range; jobgw at its defaults (50 reads/s, 5 s ceiling).
start_stack budget --executor synthetic --synthetic-min-ms "$BUDGET_MIN_MS" \
  --synthetic-max-ms "$BUDGET_MAX_MS" --keep-jobs 20000
log "budget jobgw, $BUDGET_JOBS jobs"
bench budget --mode jobgw --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobs "$BUDGET_JOBS"
for interval in $BUDGET_INTERVALS; do
  log "budget baseline, $BUDGET_JOBS jobs every ${interval} ms"
  bench budget --mode baseline --jobsim-port "$SIM_PORT" --jobs "$BUDGET_JOBS" \
    --interval-ms "$interval"
done
stop_stack

# ---- scenario 3: notification latency ------------------------------------------------------
# Jobs of a few seconds at a steady rate; jobgw without and with JOB's callback.
LAT=(--jobs "$LAT_JOBS" --jobs-per-second "$LAT_RATE" --hosts "$HOSTS")
start_stack latency --executor synthetic --synthetic-min-ms "$LAT_MIN_MS" \
  --synthetic-max-ms "$LAT_MAX_MS"
log "latency jobgw, callback off"
bench latency --mode jobgw --label "callback off" --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" \
  "${LAT[@]}"
for interval in $LAT_INTERVALS; do
  log "latency baseline every ${interval} ms"
  bench latency --mode baseline --jobsim-port "$SIM_PORT" --interval-ms "$interval" "${LAT[@]}"
done
stop_stack
start_stack latency-callback --executor synthetic --synthetic-min-ms "$LAT_MIN_MS" \
  --synthetic-max-ms "$LAT_MAX_MS" -- --callback.listen=127.0.0.1:0
log "latency jobgw, callback on"
bench latency --mode jobgw --label "callback on" --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" \
  "${LAT[@]}"
stop_stack

# ---- scenario 4: unary overhead ------------------------------------------------------------
# Short synthetic jobs; every GetJobStatus goes to JOB (status_fresh_for_ms=0: no watch cache),
# so the comparison is the cost of the hop itself.
start_stack unary --executor synthetic --synthetic-min-ms 50 --synthetic-max-ms 50 \
  --keep-jobs 200000 --threads 2 -- --watch.status_fresh_for_ms=0
for op in status execute; do
  for c in $CONCURRENCY; do
    log "unary $op C=$c"
    cap=0
    [[ $op = execute ]] && cap=$EXEC_CAP
    bench unary --op "$op" --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --concurrency "$c" \
      --seconds "$UNARY_SECONDS" --warmup-seconds "$WARMUP" --rounds "$ROUNDS" \
      --max-requests "$cap" --hosts "$HOSTS" --jobsim-pid "$SIM_PID" --jobgw-pid "$GW_PID"
  done
done
stop_stack


# ---- scenario 5: stream scale --------------------------------------------------------------
start_stack streams --executor synthetic --synthetic-min-ms "$STREAM_JOB_MS" \
  --synthetic-max-ms "$STREAM_JOB_MS"
log "streams: $STREAMS over $STREAM_CHANNELS channels, $STREAM_JOBS jobs"
bench streams --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobgw-pid "$GW_PID" \
  --streams "$STREAMS" --jobs "$STREAM_JOBS" --channels "$STREAM_CHANNELS" \
  --idle-seconds "$IDLE_S" --idle-after-ms "$IDLE_AFTER"
stop_stack

# ---- scenario 6: big job -------------------------------------------------------------------
# Finished jobs leave jobgw after 1 s here, so the RSS after each round shows what stays behind.
# Each host logs 16 KiB, so all hosts' logs (16 MiB for 1000) need several pages of jobgw's 4 MiB.
STACK_HOSTS=$BIG_HOSTS start_stack bigjob --executor synthetic --synthetic-min-ms 1000 \
  --synthetic-max-ms 3000 --synthetic-log-bytes 16384 -- --watch.finished_retention_ms=1000 \
  --grpc.max_send_message_bytes=4194304
log "big job: $BIG_HOSTS hosts, $BIG_ROUNDS rounds"
bench bigjob --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobgw-pid "$GW_PID" \
  --hosts "$BIG_HOSTS" --rounds "$BIG_ROUNDS" --settle-ms 2000
stop_stack

# ---- report --------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
{
  echo "# jobgw benchmark results"
  echo
  if [[ $SMOKE = 1 ]]; then echo "**Smoke run** (tiny sizes: checks the suite works; the figures mean little)."; echo; fi
  echo "- Date: $START"
  echo "- Command: \`$COMMAND\`"
  echo "- Commit: \`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (with local changes)')"
  echo "- Machine: $(nproc) cores, ${cpu:-unknown CPU}, kernel $(uname -r)"
  echo "- Build: Release (\`$BUILD_DIR\`); jobsim \`--executor synthetic\`, $HOSTS hosts; everything on 127.0.0.1"
  echo
  echo '```'
  free -h
  echo '```'
  echo
  echo "Every number below was measured in this one run on this one machine, with the benchmark"
  echo "client, jobgw and jobsim sharing its cores: compare the ratios, not the absolute figures."
  echo
  "$BENCH" report --in "$RESULTS"
  echo "<details><summary>Raw results (JSON lines)</summary>"
  echo
  echo '```json'
  cat "$RESULTS"
  echo '```'
  echo
  echo "</details>"
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
log "wrote $OUT"
if [[ $SMOKE = 1 ]]; then
  "$BENCH" check --in "$RESULTS"
fi
