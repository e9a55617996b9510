#!/usr/bin/env bash
# jobgw's benchmark: builds jobsim, jobgw and jobgw_bench in Release (build-bench/), starts jobsim
# and jobgw on 127.0.0.1 ephemeral ports, runs every scenario and writes bench/RESULTS.md.
#
#   bash bench/run.sh            # full run (a few minutes), writes bench/RESULTS.md
#   bash bench/run.sh --smoke    # tiny sizes, about a minute, writes build-bench/RESULTS-smoke.md
#   bash bench/run.sh --only replicas   # some scenarios: their sections of the report replaced
#
# Options: --out FILE (where the report goes), --build-dir DIR (default build-bench), --no-build
# (use what DIR holds), --only LIST (comma-separated: fanin, budget, latency, unary, streams,
# bigjob, replicas, web, sweep), --keep (leave the scratch directory with every process's log).
# Everything it starts is stopped on exit (also on Ctrl-C).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND="bash bench/run.sh${*:+ $*}"
SMOKE=0
BUILD=1
BUILD_DIR=$ROOT/build-bench
OUT=""
ONLY=""
KEEP=0
SCENARIOS="fanin budget latency unary streams bigjob replicas web sweep"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --smoke) SMOKE=1 ;;
    --no-build) BUILD=0 ;;
    --out) OUT=$2; shift ;;
    --out=*) OUT=${1#--out=} ;;
    --build-dir) BUILD_DIR=$2; shift ;;
    --build-dir=*) BUILD_DIR=${1#--build-dir=} ;;
    --keep) KEEP=1 ;;
    --only) ONLY=$2; shift ;;
    --only=*) ONLY=${1#--only=} ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
ONLY=${ONLY//,/ }
for name in $ONLY; do
  [[ " $SCENARIOS " = *" $name "* ]] ||
    { echo "run.sh: --only: unknown scenario $name (one of: $SCENARIOS)" >&2; exit 2; }
done
want() { [[ -z "$ONLY" || " $ONLY " = *" $1 "* ]]; }  # NAME: is scenario NAME to run?
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
  # Replicas: only the cheap parts (fan-in over three replicas, Redis calls per job); failover
  # alone takes 4-7 s a round.
  REPL_JOB_MS=$JOB_MS; REPL_KS_ONE=""; REPL_KS="10"; FAILOVER_ROUNDS=0
  REDIS_JOBS=6; REDIS_IDLE_S=0.3; FANOUT_HOSTS=0; REPL_SETTLE=200
  WEB_STREAMS=50; WEB_CHANNELS=2; WEB_HOSTS=5; WEB_STEP_MS=200; WEB_KS="1 5"
  LAT_PROGRESS_MS="1000"; SWEEP_MS="1000"; SWEEP_JOBS=2; SWEEP_INTERVALS="1000"
else
  JOB_MS=10500; KS="1 10 100 1000"; INTERVALS="1000 20000"
  CONCURRENCY="1 16 64"; UNARY_SECONDS=3; WARMUP=0.5; ROUNDS=2; EXEC_CAP=15000
  BUDGET_JOBS=1000; BUDGET_MIN_MS=1000; BUDGET_MAX_MS=30000; BUDGET_INTERVALS="1000 20000"
  LAT_JOBS=40; LAT_RATE=2; LAT_MIN_MS=500; LAT_MAX_MS=4000; LAT_INTERVALS="1000 20000"
  STREAMS=10000; STREAM_JOBS=100; STREAM_CHANNELS=100; STREAM_JOB_MS=35000; IDLE_S=10
  IDLE_AFTER=22000; BIG_HOSTS=1000; BIG_ROUNDS=5
  REPL_JOB_MS=10500; REPL_KS_ONE="1 30 300"; REPL_KS="1 30 300"; FAILOVER_ROUNDS=5
  REDIS_JOBS=100; REDIS_IDLE_S=3; FANOUT_HOSTS=300; REPL_SETTLE=1000
  WEB_STREAMS=1000; WEB_CHANNELS=10; WEB_HOSTS=20; WEB_STEP_MS=250; WEB_KS="1 10 50"
  LAT_PROGRESS_MS="1000 10000 60000"; SWEEP_MS="1000 3000 10000 30000 120000"; SWEEP_JOBS=10
  SWEEP_INTERVALS="1000,20000"
fi
# Latency, progress only, and the sweep: jobs of a nominal length each (LAT_PROGRESS_MS, SWEEP_MS),
# jobsim's synthetic durations within 0.5 s of it on a jobsim (and jobgw) per length, the lengths
# run side by side.
# Web: the followed job prints a line every 0.2 s for 6 s (30 lines) on 3 hosts; jobgw reads the
# followed step's logs every FOLLOW_MS.
WEB_LINES=30; WEB_LINE_MS=200; FOLLOW_MS=500
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
  cmake --build "$BUILD_DIR" -j2 --target jobsim jobgw jobgw_bench jobgw_floor \
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
FLOOR=$(find_bin jobgw_floor)

# ---- processes -----------------------------------------------------------------------------
WORK=$(mktemp -d /tmp/jobgw-bench.XXXXXX)
PIDS=()
BG_PIDS=(); BG_NAMES=()  # bench_bg's runs
cleanup() {
  local pid
  for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
  if [[ $KEEP = 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
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

# start_jobsim DIR [jobsim flags...]: sets SIM_PID and SIM_PORT.
start_jobsim() {
  local dir=$1; shift
  mkdir -p "$dir"
  "$JOBSIM" --listen 127.0.0.1:0 --port-file "$dir/jobsim.port" --hosts "${STACK_HOSTS:-$HOSTS}" \
    --log-level warn "$@" >"$dir/jobsim.log" 2>&1 &
  SIM_PID=$!
  PIDS+=($SIM_PID)
  wait_for_file "$dir/jobsim.port" 20 '[0-9]' || { cat "$dir/jobsim.log" >&2; exit 1; }
  SIM_PORT=$(tr -d '[:space:]' <"$dir/jobsim.port")
}

# start_jobgw DIR NAME [jobgw flags...]: a jobgw in front of SIM_PORT, its files DIR/NAME.*; sets
# GW_PID, GRPC_ADDR, METRICS_PORT and HTTP_PORT (empty without --http.listen).
start_jobgw() {
  local dir=$1 name=$2; shift 2
  rm -f "$dir/$name.ports"
  # One anonymous caller drives every scenario (10,000 streams, thousands of submits per
  # second): per-caller limits would measure themselves, not the gateway.
  "$JOBGW" --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 \
    --job.base_url="http://127.0.0.1:$SIM_PORT" --ports_file="$dir/$name.ports" \
    --state.path="$dir/$name-state.db" --log.level=warn --insecure-dev \
    --limits.caller_submits_per_second=0 --limits.caller_max_streams=0 \
    "$@" >>"$dir/$name.log" 2>&1 &
  GW_PID=$!
  PIDS+=($GW_PID)
  wait_for_file "$dir/$name.ports" 20 '"grpc"' || { cat "$dir/$name.log" >&2; exit 1; }
  GRPC_ADDR=127.0.0.1:$(sed -n 's/.*"grpc":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/$name.ports")
  METRICS_PORT=$(sed -n 's/.*"metrics":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/$name.ports")
  HTTP_PORT=$(sed -n 's/.*"http":[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$dir/$name.ports")
}

# start_stack NAME [jobsim flags...] -- [jobgw flags...]: sets SIM_PORT and GRPC_ADDR.
start_stack() {
  local name=$1; shift
  local sim_args=() gw_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do sim_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  gw_args=("$@")
  local dir=$WORK/$name
  start_jobsim "$dir" "${sim_args[@]}"
  start_jobgw "$dir" jobgw "${gw_args[@]}"
  log "$name: jobsim 127.0.0.1:$SIM_PORT, jobgw $GRPC_ADDR"
}

# start_redis DIR: a redis-server of our own on a free 127.0.0.1 port, nothing saved; sets
# REDIS_PID and REDIS_PORT. A port someone holds makes it exit; then another port is tried.
start_redis() {
  local dir=$1 try i port
  mkdir -p "$dir/redis"
  for ((try = 0; try < 10; try++)); do
    port=$((20000 + RANDOM % 40000))
    redis-server --save "" --appendonly no --port "$port" --bind 127.0.0.1 --dir "$dir/redis" \
      --loglevel warning >"$dir/redis.log" 2>&1 &
    REDIS_PID=$!
    PIDS+=($REDIS_PID)
    for ((i = 0; i < 50; i++)); do
      # Ours when the server answering gives our pid.
      if redis-cli -h 127.0.0.1 -p "$port" INFO server 2>/dev/null |
           grep -q "^process_id:$REDIS_PID"; then
        REDIS_PORT=$port
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    forget_pid "$REDIS_PID"
  done
  echo "run.sh: redis-server did not start" >&2
  cat "$dir/redis.log" >&2
  exit 1
}

forget_pid() {  # PID: no longer ours to stop (it exited and was waited for)
  local pid kept=()
  for pid in "${PIDS[@]}"; do [[ $pid = "$1" ]] || kept+=("$pid"); done
  PIDS=("${kept[@]}")
}

# start_replicas NAME N [jobsim flags...] -- [jobgw flags...]: Redis, jobsim and N jobgw replicas
# (jobgw-1..N) on them; sets SIM_PORT, REDIS_PORT and, per replica, GW_PIDS, GW_ADDRS, GW_METRICS.
start_replicas() {
  local name=$1 n=$2 i; shift 2
  local sim_args=()
  while [[ $# -gt 0 && $1 != -- ]]; do sim_args+=("$1"); shift; done
  [[ $# -gt 0 ]] && shift
  REPLICA_DIR=$WORK/$name
  start_redis "$REPLICA_DIR"
  start_jobsim "$REPLICA_DIR" "${sim_args[@]}"
  REPLICA_ARGS=(--state.redis_url="redis://127.0.0.1:$REDIS_PORT/0" --state.replicas="$n" "$@")
  GW_PIDS=(); GW_ADDRS=(); GW_METRICS=()
  for ((i = 1; i <= n; i++)); do start_replica "$i"; done
  log "$name: redis 127.0.0.1:$REDIS_PORT, jobsim 127.0.0.1:$SIM_PORT," \
    "jobgw $(join "${GW_ADDRS[@]}")"
}

start_replica() {  # I: starts (again) replica jobgw-I of the last start_replicas
  start_jobgw "$REPLICA_DIR" "jobgw-$1" --state.replica_id="jobgw-$1" "${REPLICA_ARGS[@]}"
  GW_PIDS[$1 - 1]=$GW_PID
  GW_ADDRS[$1 - 1]=$GRPC_ADDR
  GW_METRICS[$1 - 1]=$METRICS_PORT
}

join() { local IFS=,; echo "$*"; }

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

# bench_bg NAME ARGS...: a bench run in the background (alongside others), its results held in
# WORK/bg-NAME.jsonl until bench_wait.
bench_bg() {
  local name=$1; shift
  timeout 900 "$BENCH" "$@" >"$WORK/bg-$name.jsonl" &
  BG_PIDS+=($!); BG_NAMES+=("$name")
}

bench_wait() {  # waits for every bench_bg run; their results go in in the order they started
  local i name failed=0
  for i in "${!BG_PIDS[@]}"; do wait "${BG_PIDS[$i]}" || failed=1; done
  BG_PIDS=()
  for name in "${BG_NAMES[@]}"; do tee -a "$RESULTS" <"$WORK/bg-$name.jsonl" >&2; done
  BG_NAMES=()
  [[ $failed = 0 ]] || { echo "run.sh: a benchmark run failed" >&2; exit 1; }
}

START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- scenario 1: fan-in --------------------------------------------------------------------
if want fanin; then
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
fi

# ---- scenario 2: many jobs under a JOB read budget -----------------------------------------
if want budget; then
  # One-host jobs, durations uniform over the range; jobgw at its defaults (50 reads/s, 5 s
  # ceiling).
  start_stack budget --executor synthetic --synthetic-min-ms "$BUDGET_MIN_MS" \
    --synthetic-max-ms "$BUDGET_MAX_MS" --keep-jobs 20000
  log "budget jobgw, $BUDGET_JOBS jobs"
  bench budget --mode jobgw --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobs "$BUDGET_JOBS"
  for interval in $BUDGET_INTERVALS; do
    log "budget baseline, $BUDGET_JOBS jobs every ${interval} ms"
    bench budget --mode baseline --jobsim-port "$SIM_PORT" --jobs "$BUDGET_JOBS" \
      --interval-ms "$interval"
  done
  # Last: jobgw goes on reading the jobs nobody watches after the watched ones ended. Reads are
  # counted per wall-clock second: a pause keeps the pollers' last second out of this row's
  # first (one full run put 376 reads there).
  sleep 2
  log "budget jobgw, $BUDGET_JOBS jobs, 1 in 5 watched"
  bench budget --mode jobgw --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobs "$BUDGET_JOBS" \
    --watch-every 5
  stop_stack
fi

# ---- scenario 3: notification latency ------------------------------------------------------
if want latency; then
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
  # Progress-only streams, callback on: a fresh jobgw per job length, each warmed up by one job
  # (jobgw reads slowly only once a callback has reached it); every change counted however old.
  for d in $LAT_PROGRESS_MS; do
    start_stack "latency-progress-$d" --executor synthetic --synthetic-min-ms $((d - 500)) \
      --synthetic-max-ms $((d + 500)) -- --callback.listen=127.0.0.1:0
    bench_bg "latency-progress-$d" latency --mode jobgw --label "callback on, progress only" \
      --detail progress --warmup-jobs 1 --duration-ms "$d" --young-ms $((2 * d + 5000)) \
      --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" "${LAT[@]}"
  done
  log "latency jobgw, callback on, progress only: jobs of $LAT_PROGRESS_MS ms side by side"
  bench_wait
  stop_stack
fi

# ---- scenario 4: unary overhead ------------------------------------------------------------
if want unary; then
  # Short synthetic jobs; every GetJobStatus goes to JOB (status_fresh_for_ms=0: no watch cache),
  # so the comparison is the cost of the hop itself.
  # UNARY_GW_ARGS: extra jobgw flags, to compare settings (e.g. --threads=2).
  # shellcheck disable=SC2086
  start_stack unary --executor synthetic --synthetic-min-ms 50 --synthetic-max-ms 50 \
    --keep-jobs 200000 --threads 2 -- --watch.status_fresh_for_ms=0 ${UNARY_GW_ARGS:-}
  # The gRPC floor: gRPC alone answering GetJobStatus with a canned snapshot, jobgw's server
  # options; each GetJobStatus round through jobgw is followed by one against it.
  "$FLOOR" --listen 127.0.0.1:0 --port-file "$WORK/unary/floor.port" --hosts "$HOSTS" \
    >"$WORK/unary/floor.log" 2>&1 &
  FLOOR_PID=$!
  PIDS+=($FLOOR_PID)
  wait_for_file "$WORK/unary/floor.port" 20 '[0-9]' || { cat "$WORK/unary/floor.log" >&2; exit 1; }
  FLOOR_ADDR=127.0.0.1:$(tr -d '[:space:]' <"$WORK/unary/floor.port")
  for op in status execute; do
    for c in $CONCURRENCY; do
      log "unary $op C=$c"
      cap=0
      floor=()
      [[ $op = execute ]] && cap=$EXEC_CAP
      [[ $op = status ]] && floor=(--floor "$FLOOR_ADDR" --floor-pid "$FLOOR_PID")
      bench unary --op "$op" --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --concurrency "$c" \
        --seconds "$UNARY_SECONDS" --warmup-seconds "$WARMUP" --rounds "$ROUNDS" \
        --max-requests "$cap" --hosts "$HOSTS" --jobsim-pid "$SIM_PID" --jobgw-pid "$GW_PID" \
        "${floor[@]}"
    done
  done
  stop_stack
fi

# GetJobStatus of a job jobgw watches: a job far longer than the rounds, jobgw at its defaults (the
# watch's snapshot answers).
if want unary; then
  # shellcheck disable=SC2086
  start_stack unary-watched --executor synthetic --synthetic-min-ms 3600000 \
    --synthetic-max-ms 3600000 --threads 2 -- ${UNARY_GW_ARGS:-}
  for c in $CONCURRENCY; do
    log "unary GetJobStatus of a watched job C=$c"
    bench unary --op watched --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --concurrency "$c" \
      --seconds "$UNARY_SECONDS" --warmup-seconds "$WARMUP" --rounds "$ROUNDS" --hosts "$HOSTS" \
      --jobsim-pid "$SIM_PID" --jobgw-pid "$GW_PID"
  done
  stop_stack
fi

# ---- scenario 5: stream scale --------------------------------------------------------------
# The idle window (IDLE_S, ending before the jobs do) is 10 s: jobgw's CPU comes in 10 ms ticks,
# and 1 % of a core over 5 s is only 5 of them. STREAM_RUNS=3 bash bench/run.sh --only streams
# runs it three times, each on a fresh stack, and the report lists every run's idle figures.
if want streams; then
  for ((run = 1; run <= ${STREAM_RUNS:-1}; run++)); do
    # STREAM_GW_ARGS: extra jobgw flags, to compare settings (e.g. --watch.poll_grid_ms=0).
    # shellcheck disable=SC2086
    start_stack "streams-$run" --executor synthetic --synthetic-min-ms "$STREAM_JOB_MS" \
      --synthetic-max-ms "$STREAM_JOB_MS" -- ${STREAM_GW_ARGS:-}
    log "streams: $STREAMS over $STREAM_CHANNELS channels, $STREAM_JOBS jobs (run $run)"
    # PERF_IDLE=FILE: perf samples jobgw's idle window (call graphs), in FILE.RUN.
    if [[ -n ${PERF_IDLE:-} ]]; then
      (sleep "$(awk "BEGIN { print $IDLE_AFTER / 1000 }")" &&
        perf record -q -F 999 -g -p "$GW_PID" -o "$PERF_IDLE.$run" -- sleep "$IDLE_S" \
          >/dev/null 2>&1) &
    fi
    bench streams --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobgw-pid "$GW_PID" \
      --streams "$STREAMS" --jobs "$STREAM_JOBS" --channels "$STREAM_CHANNELS" \
      --idle-seconds "$IDLE_S" --idle-after-ms "$IDLE_AFTER"
    stop_stack
  done
fi

# ---- scenario 6: big job -------------------------------------------------------------------
if want bigjob; then
  # Finished jobs leave jobgw after 1 s here, so the RSS after each round shows what stays behind.
  # Each host logs 16 KiB, so all hosts' logs (16 MiB for 1000) need several pages of jobgw's 4 MiB.
  STACK_HOSTS=$BIG_HOSTS start_stack bigjob --executor synthetic --synthetic-min-ms 1000 \
    --synthetic-max-ms 3000 --synthetic-log-bytes 16384 -- --watch.finished_retention_ms=1000 \
    --grpc.max_send_message_bytes=4194304
  log "big job: $BIG_HOSTS hosts, $BIG_ROUNDS rounds"
  bench bigjob --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --jobgw-pid "$GW_PID" \
    --hosts "$BIG_HOSTS" --rounds "$BIG_ROUNDS" --settle-ms 2000
  stop_stack
fi

# ---- scenario 7: replicas ------------------------------------------------------------------
# jobgw replicas on one Redis (state.redis_url) against one jobgw without Redis. A fresh stack per
# part: each needs its own jobsim (fixed-length jobs, short jobs, a many-host job).
if want replicas && ! command -v redis-server >/dev/null; then
  if [[ $SMOKE = 1 ]]; then
    log "replicas: skipped, redis-server is not installed (scripts/install-deps.sh)"
    REPLICAS_SKIPPED=1
  else
    echo "run.sh: the replicas scenario needs redis-server and redis-cli" >&2
    exit 1
  fi
fi
if want replicas && [[ -z "${REPLICAS_SKIPPED:-}" ]]; then
  replicas_args() {  # the arguments naming the current replica stack
    REPL=(--jobsim-port "$SIM_PORT" --redis-port "$REDIS_PORT" --grpc "$(join "${GW_ADDRS[@]}")"
      --metrics-ports "$(join "${GW_METRICS[@]}")" --settle-ms "$REPL_SETTLE")
  }
  FIXED=(--executor synthetic --synthetic-min-ms "$REPL_JOB_MS" --synthetic-max-ms "$REPL_JOB_MS")

  # Fan-in: K streams of one job of fixed length; one jobgw alone, then three replicas.
  if [[ -n "$REPL_KS_ONE" ]]; then
    start_stack replicas-one "${FIXED[@]}"
    for k in $REPL_KS_ONE; do
      log "replicas: fan-in, one jobgw without Redis, K=$k"
      bench replicas --part fanin --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" \
        --metrics-ports "$METRICS_PORT" --k "$k" --hosts "$HOSTS" --settle-ms "$REPL_SETTLE"
    done
    stop_stack
  fi
  start_replicas replicas-fanin 3 "${FIXED[@]}"
  replicas_args
  for k in $REPL_KS; do
    log "replicas: fan-in, three replicas, K=$k"
    bench replicas --part fanin "${REPL[@]}" --k "$k" --hosts "$HOSTS"
  done

  # Redis commands per job: short jobs through the three replicas, one stream each (1-3 s; the
  # smoke run keeps the fan-in stack and its jobs, a stack less to start).
  if [[ $SMOKE = 0 ]]; then
    stop_stack
    start_replicas replicas-redis 3 --executor synthetic --synthetic-min-ms 1000 \
      --synthetic-max-ms 3000
    replicas_args
  fi
  log "replicas: Redis calls, $REDIS_JOBS jobs"
  bench replicas --part redis "${REPL[@]}" --jobs "$REDIS_JOBS" --jobs-per-second 20 \
    --hosts "$HOSTS" --idle-seconds "$REDIS_IDLE_S"
  stop_stack

  # Failover: SIGKILL the owner of a 12 s job 1.0-2.6 s after its submit (spread over the 2 s
  # lease renewal period), then start the killed replica again (same id, same state.path).
  if [[ $FAILOVER_ROUNDS -gt 0 ]]; then
    start_replicas replicas-failover 3 --executor synthetic --synthetic-min-ms 12000 \
      --synthetic-max-ms 12000
    exec 3>&2
    for ((round = 0; round < FAILOVER_ROUNDS; round++)); do
      replicas_args
      log "replicas: failover round $((round + 1)) of $FAILOVER_ROUNDS"
      # The shell's stderr is off until the killed replica is reaped: bash would report it
      # "Killed" (jobgw_bench's own stderr still shows).
      {
        row=$(timeout --foreground 900 "$BENCH" replicas --part failover "${REPL[@]}" \
          --jobgw-pids "$(join "${GW_PIDS[@]}")" --round "$round" --hosts "$HOSTS" \
          --kill-after-ms $((1000 + round * 2000 / FAILOVER_ROUNDS)) 2>&3)
        killed=$(sed -n 's/.*"killed_pid":\([0-9][0-9]*\).*/\1/p' <<<"$row")
        if [[ -n "$killed" ]]; then wait "$killed" || true; fi
      } 2>/dev/null
      echo "$row" | tee -a "$RESULTS" >&2
      for i in "${!GW_PIDS[@]}"; do
        if [[ ${GW_PIDS[$i]} = "$killed" ]]; then
          forget_pid "$killed"
          start_replica $((i + 1))
        fi
      done
    done
    stop_stack
  fi

  # Fan-out: one many-host job, host ends spread over 1-5 s (the same draws on both stacks), six
  # streams: on one jobgw alone, then two on each replica, the job owned by replica 1.
  if [[ $FANOUT_HOSTS -gt 0 ]]; then
    SPREAD=(--executor synthetic --synthetic-min-ms 1000 --synthetic-max-ms 5000)
    STACK_HOSTS=$FANOUT_HOSTS start_stack replicas-fanout-one "${SPREAD[@]}"
    log "replicas: fan-out, one jobgw without Redis, one job on $FANOUT_HOSTS hosts"
    bench replicas --part fanout --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" \
      --metrics-ports "$METRICS_PORT" --hosts "$FANOUT_HOSTS" --watchers-per-replica 6 \
      --settle-ms "$REPL_SETTLE"
    stop_stack
    STACK_HOSTS=$FANOUT_HOSTS start_replicas replicas-fanout 3 "${SPREAD[@]}"
    replicas_args
    log "replicas: fan-out, three replicas, one job on $FANOUT_HOSTS hosts"
    bench replicas --part fanout "${REPL[@]}" --hosts "$FANOUT_HOSTS" --watchers-per-replica 2
    stop_stack
  fi
fi

# ---- scenario 8: web (HTTP/JSON + SSE) -----------------------------------------------------
# jobsim runs real scripts here: the watched job's hosts wait for a gate file the benchmark
# creates once every stream is open, the followed job prints lines. A fresh stack per part.
if want web; then
  # One TCP connection per SSE stream, in jobgw and in the benchmark client.
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  WEB_GW=(--http.listen=127.0.0.1:0 --follow.interval_ms="$FOLLOW_MS")
  for transport in sse grpc; do
    STACK_HOSTS=$WEB_HOSTS start_stack "web-$transport" -- "${WEB_GW[@]}"
    [[ -n "$HTTP_PORT" ]] || { echo "run.sh: jobgw wrote no http port" >&2; exit 1; }
    log "web: $WEB_STREAMS $transport streams of one job on $WEB_HOSTS hosts"
    bench web --part watch --transport "$transport" --jobsim-port "$SIM_PORT" \
      --grpc "$GRPC_ADDR" --http-port "$HTTP_PORT" --jobgw-pid "$GW_PID" \
      --streams "$WEB_STREAMS" --channels "$WEB_CHANNELS" --hosts "$WEB_HOSTS" \
      --step-ms "$WEB_STEP_MS"
    stop_stack
  done
  start_stack web-follow -- "${WEB_GW[@]}"
  for k in $WEB_KS; do
    log "web: $k FollowLogs followers, a line every ${WEB_LINE_MS} ms for $WEB_LINES lines"
    bench web --part follow --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --k "$k" \
      --lines "$WEB_LINES" --line-ms "$WEB_LINE_MS" --follow-interval-ms "$FOLLOW_MS"
  done
  stop_stack
fi

# ---- scenario 9: duration sweep -----------------------------------------------------------
if want sweep; then
  # Callback off, one caller per job: jobgw's WatchStatus against fixed pollers, per job length.
  for d in $SWEEP_MS; do
    start_stack "sweep-$d" --executor synthetic --synthetic-min-ms $((d - 500)) \
      --synthetic-max-ms $((d + 500))
    bench_bg "sweep-$d" sweep --jobsim-port "$SIM_PORT" --grpc "$GRPC_ADDR" --duration-ms "$d" \
      --jobs "$SWEEP_JOBS" --intervals-ms "$SWEEP_INTERVALS"
  done
  log "sweep: $SWEEP_JOBS jobs per caller of each of $SWEEP_MS ms, side by side"
  bench_wait
  stop_stack
fi

# ---- report --------------------------------------------------------------------------------
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//' || true)
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null ||
  true)
COMMIT="\`$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)\`"
git -C "$ROOT" diff --quiet 2>/dev/null || COMMIT+=" (with local changes)"
MACHINE="$(nproc) cores, ${cpu:-unknown CPU}, kernel $(uname -r)"
LOAD="load average (1/5/15 min) $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg)"
LOAD+=" at the end"
BUILD_LINE="${build_type:-Release} (\`$BUILD_DIR\`);"
synthetic=0
for name in $SCENARIOS; do [[ $name != web ]] && want "$name" && synthetic=1; done
[[ $synthetic = 1 ]] && BUILD_LINE+=" jobsim \`--executor synthetic\`, $HOSTS hosts;"
want web && BUILD_LINE+=" scenario 8: jobsim running real scripts, $WEB_HOSTS hosts;"
BUILD_LINE+=" everything on 127.0.0.1"
RAW_SUMMARY="<details><summary>Raw results (JSON lines)</summary>"

raw_block() {  # SUMMARY FILE: the JSON lines of FILE, folded
  echo "$1"
  echo
  echo '```json'
  cat "$2"
  echo '```'
  echo
  echo "</details>"
}

# splice_section FILE SECTION: FILE with its section of SECTION's heading (first line) replaced by
# SECTION, up to the next "## " heading or the raw results; a new section goes before those.
splice_section() {
  local file=$1 section=$2
  awk -v heading="$(head -n 1 "$section")" -v section="$section" -v raw="$RAW_SUMMARY" '
    function emit(  line) {
      while ((getline line < section) > 0) print line
      close(section)
      done = 1
    }
    skipping && (/^## / || $0 == raw) { skipping = 0 }
    !done && $0 == heading { emit(); skipping = 1; next }
    !done && $0 == raw { emit() }
    skipping { next }
    { print }
    END { if (!done) emit() }
  ' "$file" >"$file.tmp"
  mv "$file.tmp" "$file"
}

if [[ -n "$ONLY" && -f "$OUT" ]]; then
  # Some scenarios: each one's section, with when and where it ran and its raw results, replaces
  # its namesake in the report; the other sections stay as they were.
  cp "$OUT" "$WORK/report.md"
  for name in $ONLY; do
    grep -F "\"scenario\":\"$name\"" "$RESULTS" >"$WORK/rows-$name.jsonl" || continue
    "$BENCH" report --in "$WORK/rows-$name.jsonl" >"$WORK/tables-$name.md"
    {
      head -n 1 "$WORK/tables-$name.md"
      echo
      echo "Run on its own (\`$COMMAND\`), not with the sections above:"
      echo
      echo "- Date: $START; commit $COMMIT"
      echo "- Machine: $MACHINE, $(free -h | awk '/^Mem:/ {print $2}') RAM; $LOAD"
      echo "- Build: $BUILD_LINE"
      tail -n +2 "$WORK/tables-$name.md"
      raw_block "<details><summary>Raw results of this section (JSON lines)</summary>" \
        "$WORK/rows-$name.jsonl"
      echo
    } >"$WORK/section-$name.md"
    splice_section "$WORK/report.md" "$WORK/section-$name.md"
  done
  mv "$WORK/report.md" "$OUT"
else
  {
    echo "# jobgw benchmark results"
    echo
    if [[ $SMOKE = 1 ]]; then echo "**Smoke run** (tiny sizes: checks the suite works; the figures mean little)."; echo; fi
    echo "- Date: $START"
    echo "- Command: \`$COMMAND\`"
    echo "- Commit: $COMMIT"
    echo "- Machine: $MACHINE; $LOAD"
    echo "- Build: $BUILD_LINE"
    echo
    echo '```'
    free -h
    echo '```'
    echo
    echo "Every number below was measured in this one run on this one machine, with the benchmark"
    echo "client, jobgw and jobsim sharing its cores: compare the ratios, not the absolute figures."
    echo
    "$BENCH" report --in "$RESULTS"
    raw_block "$RAW_SUMMARY" "$RESULTS"
  } >"$OUT.tmp"
  mv "$OUT.tmp" "$OUT"
fi
log "wrote $OUT"
if [[ $SMOKE = 1 ]]; then
  "$BENCH" check --in "$RESULTS"
fi
