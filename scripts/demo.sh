#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts jobsim (10 simulated hosts, one IPv6) and
# jobgw on loopback, then runs real jobs through the gateway and watches them live.
#   bash scripts/demo.sh               run it and stop everything at the end
#   bash scripts/demo.sh --keep        leave jobsim and jobgw running and print how to reach them
#   bash scripts/demo.sh --replicas 3  instead: redis-server and 3 jobgw replicas (2 to 5) sharing
#                                      jobs; kill -9 the one polling a job, another adopts it
#                                      (--keep works here too)
# Exits non-zero as soon as any step does not behave as described.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
replicas=0
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=true ;;
    --replicas) [ $# -ge 2 ] || { echo "demo: --replicas needs a number, 2 to 5" >&2; exit 2; }
      replicas=$2; shift ;;
    --replicas=*) replicas=${1#--replicas=} ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
case "$replicas" in
  0|2|3|4|5) ;;
  *) echo "demo: --replicas takes 2 to 5, got '$replicas'" >&2; exit 2 ;;
esac

build_dir=${BUILD_DIR:-build}
bold=$'\e[1m'; reset=$'\e[0m'
[ -t 1 ] || { bold=""; reset=""; }
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

step "Installing dependencies and building jobsim, jobgw and jobctl"
bash scripts/install-deps.sh demo
# The demo profile leaves GoogleTest out: without it, configure without the tests (a tree that
# has it, a developer's, keeps its test targets).
tests_off=()
if ! dpkg-query -W -f='${Status}' libgtest-dev 2>/dev/null | grep -q "install ok installed"; then
  tests_off=(-DJOBGW_BUILD_TESTS=OFF)
fi
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} "${tests_off[@]}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target jobsim jobgw jobctl

jobsim_bin=$build_dir/jobsim/jobsim
jobgw_bin=$build_dir/server/jobgw
jobctl_bin=$build_dir/client/jobctl
run_dir=$(mktemp -d /tmp/jobgw-demo-XXXXXX)
pids=()
bg_pids=()  # watchers and pollers of the --replicas part: never kept
cleanup() {
  for pid in "${bg_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  if ! $keep || [ "${demo_ok:-false}" != true ]; then
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$run_dir"
  fi
}
trap cleanup EXIT

wait_for_file() {  # path, seconds
  for _ in $(seq 1 $(( $2 * 10 ))); do [ -s "$1" ] && return 0; sleep 0.1; done
  return 1
}
json_field() {  # file, key
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if v is not None else "")' "$1" "$2"
}

# ---- --replicas N: redis-server, N jobgw replicas, and a kill -9 of the replica polling a job ----
wait_rc=0
wait_exit() {  # pid, seconds: waits for a child of this shell; its exit code in wait_rc (124: killed at the limit)
  for _ in $(seq 1 $(( $2 * 10 ))); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$1" 2>/dev/null; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; wait_rc=124; return; fi
  wait_rc=0
  wait "$1" 2>/dev/null || wait_rc=$?
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
rcli() {  # redis-cli with the password from the file, through the environment (never in argv)
  REDISCLI_AUTH=$(head -n1 "$redis_pw_file") timeout 5 redis-cli -h 127.0.0.1 -p "$redis_port" "$@"
}
metric_lines() {  # metrics port, line prefix
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
print("\n".join(l for l in body.splitlines() if l.startswith(sys.argv[2])))
PY
}

replicas_demo() {
  local i ready=false redis_pid
  redis_pw_file=$run_dir/redis.password
  (umask 077; python3 -c 'import secrets; print(secrets.token_hex(24))' >"$redis_pw_file")
  # Debian's redis-server, in the foreground, on a free loopback port, no persistence. The port is
  # picked before redis binds it, so another process may win it: then try another one.
  for _ in 1 2 3; do
    redis_port=$(free_port)
    (umask 077; cat >"$run_dir/redis.conf" <<EOF
port $redis_port
bind 127.0.0.1
save ""
appendonly no
dir $run_dir
daemonize no
requirepass $(head -n1 "$redis_pw_file")
EOF
    )
    redis-server "$run_dir/redis.conf" >"$run_dir/redis.log" 2>&1 &
    redis_pid=$!
    for _ in $(seq 1 100); do
      [ "$(rcli PING 2>/dev/null)" = PONG ] && { ready=true; break; }
      kill -0 "$redis_pid" 2>/dev/null || break
      sleep 0.1
    done
    $ready && break
    kill "$redis_pid" 2>/dev/null || true
    wait "$redis_pid" 2>/dev/null || true
  done
  $ready || fail "redis-server did not start: $(tail -n 5 "$run_dir/redis.log")"
  pids+=("$redis_pid")

  # N replicas, each with its own SQLite file and ports; the Redis password only in a file.
  local -a rep_pid rep_grpc rep_metrics
  for i in $(seq 1 "$replicas"); do
    "$jobgw_bin" --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 --callback.listen=127.0.0.1:0 \
      --http.listen=127.0.0.1:0 \
      --job.base_url="http://127.0.0.1:$jobsim_port" --ports_file="$run_dir/jobgw-$i.ports" \
      --state.path="$run_dir/jobgw-$i-state.db" --state.replica_id="jobgw-$i" \
      --state.replicas="$replicas" --state.redis_url="redis://127.0.0.1:$redis_port/0" \
      --state.redis_password_file="$redis_pw_file" --insecure-dev >"$run_dir/jobgw-$i.log" 2>&1 &
    rep_pid[i]=$!
    pids+=($!)
  done
  echo "redis    127.0.0.1:$redis_port   (requirepass from $redis_pw_file, nothing saved to disk)"
  echo "jobsim   http://127.0.0.1:$jobsim_port"
  for i in $(seq 1 "$replicas"); do
    wait_for_file "$run_dir/jobgw-$i.ports" 20 || fail "jobgw-$i did not start: $(cat "$run_dir/jobgw-$i.log")"
    rep_grpc[i]=$(json_field "$run_dir/jobgw-$i.ports" grpc)
    rep_metrics[i]=$(json_field "$run_dir/jobgw-$i.ports" metrics)
    "$jobctl_bin" --addr "127.0.0.1:${rep_grpc[i]}" --rpc-timeout 10 health >/dev/null \
      || fail "jobgw-$i is not serving: $(tail -n 5 "$run_dir/jobgw-$i.log")"
    echo "jobgw-$i  grpc 127.0.0.1:${rep_grpc[i]}   metrics http://127.0.0.1:${rep_metrics[i]}/metrics" \
      "  page http://127.0.0.1:$(json_field "$run_dir/jobgw-$i.ports" http)/"
  done
  # Every replica must be talking to Redis before a job is submitted.
  for i in $(seq 1 "$replicas"); do
    for _ in $(seq 1 100); do
      metric_lines "${rep_metrics[i]}" "jobgw_redis_up " | grep -q " 1$" && continue 2
      sleep 0.1
    done
    fail "jobgw-$i did not connect to Redis: $(tail -n 5 "$run_dir/jobgw-$i.log")"
  done
  echo "all $replicas replicas report jobgw_redis_up 1"

  step "1. One job through jobgw-1: a bash script printing progress for 12-14 s on hosts 101-103"
  local ref job_id
  # shellcheck disable=SC2016
  ref=$("$jobctl_bin" --addr "127.0.0.1:${rep_grpc[1]}" exec --name demo-replicated \
    --host-ids 101,102,103 -c '
n=$(( JOB_HOST_ID - 89 ))
for i in $(seq 1 "$n"); do echo "host $JOB_HOST_ID: progress $i/$n"; sleep 1; done
') || fail "jobgw-1 did not accept the job"
  echo "$ref"
  job_id=$(echo "$ref" | awk '{print $2}')

  step "2. Which replica polls JOB for it? The job's lease in Redis says"
  local lease_key="jobgw:job:{biz:1:$job_id}:lease" lease=""
  for _ in $(seq 1 50); do
    lease=$(rcli GET "$lease_key")
    [ -n "$lease" ] && break
    sleep 0.1
  done
  [ -n "$lease" ] || fail "no replica took the lease of job $job_id within 5 s"
  echo "\$ REDISCLI_AUTH=\$(cat $redis_pw_file) redis-cli -p $redis_port GET \"$lease_key\""
  echo "$lease"
  local owner=${lease%#*} owner_i follower_i="" reattach_i=""
  owner_i=${owner#jobgw-}
  case "$owner_i" in [1-9]) [ "$owner_i" -le "$replicas" ] ;; *) false ;; esac \
    || fail "the lease names '$owner', not one of the demo's replicas"
  for i in $(seq 1 "$replicas"); do
    [ "$i" = "$owner_i" ] && continue
    if [ -z "$follower_i" ]; then follower_i=$i; elif [ -z "$reattach_i" ]; then reattach_i=$i; fi
  done
  [ -n "$reattach_i" ] || reattach_i=$follower_i
  echo "$owner (lease epoch ${lease##*#}) polls JOB; the other replicas read its events from Redis"

  step "3. Two watchers in the background: one on jobgw-$follower_i (a follower), one on $owner (the owner)"
  local follower_out=$run_dir/watch-jobgw-$follower_i.out owner_out=$run_dir/watch-$owner.out fw_pid ow_pid
  timeout 60 "$jobctl_bin" --addr "127.0.0.1:${rep_grpc[follower_i]}" watch "$job_id" --plain \
    >"$follower_out" 2>&1 &
  fw_pid=$!
  bg_pids+=("$fw_pid")
  timeout 60 "$jobctl_bin" --addr "127.0.0.1:${rep_grpc[owner_i]}" watch "$job_id" --plain \
    --no-reconnect >"$owner_out" 2>&1 &
  ow_pid=$!
  bg_pids+=("$ow_pid")
  echo "jobctl watch $job_id --plain                 on jobgw-$follower_i > $follower_out"
  echo "jobctl watch $job_id --plain --no-reconnect  on $owner > $owner_out"
  sleep 3
  echo "3 s later, the watcher on $owner has printed:"
  sed 's/^/  /' "$owner_out"

  step "4. kill -9 $owner, the owner, while the job runs"
  kill -9 "${rep_pid[owner_i]}"
  local kill_ms
  kill_ms=$(date +%s%3N)
  { wait "${rep_pid[owner_i]}"; } 2>/dev/null || true
  local -a alive=()
  for i in "${pids[@]}"; do [ "$i" = "${rep_pid[owner_i]}" ] || alive+=("$i"); done
  pids=("${alive[@]}")
  echo "killed $owner (pid ${rep_pid[owner_i]}) with SIGKILL: it cannot hand its lease back, so the lease"
  echo "runs out (TTL 6 s) and a surviving replica adopts the job (they look every second)"
  # Who holds the lease from now on, read every 0.1 s for 20 s; the key is deleted once the job
  # finishes, so this is the moment to look.
  local adopt_file=$run_dir/adoption
  (
    while [ $(( $(date +%s%3N) - kill_ms )) -lt 20000 ]; do
      now=$(rcli GET "$lease_key" 2>/dev/null || true)
      if [ -n "$now" ] && [ "$now" != "$lease" ]; then
        echo "$now $(( $(date +%s%3N) - kill_ms ))" >"$adopt_file"
        exit 0
      fi
      sleep 0.1
    done
  ) &
  local poll_pid=$!
  bg_pids+=("$poll_pid")
  wait_exit "$ow_pid" 10
  echo "the watcher on $owner ended with exit $wait_rc (expected: its server is gone and it ran with"
  echo "--no-reconnect); it printed:"
  sed 's/^/  /' "$owner_out"
  local last_seq
  last_seq=$(grep -o '^seq=[0-9]*' "$owner_out" | tail -n1 | cut -d= -f2)
  last_seq=${last_seq:-0}

  step "5. Re-attaching on jobgw-$reattach_i: jobctl watch $job_id --after-seq $last_seq (its last seq)"
  local rc=0
  timeout 45 "$jobctl_bin" --addr "127.0.0.1:${rep_grpc[reattach_i]}" watch "$job_id" --plain \
    --after-seq "$last_seq" || rc=$?
  [ "$rc" = 0 ] || fail "the watch re-attached on jobgw-$reattach_i did not see job $job_id succeed (exit $rc)"
  echo "each host's last output line (jobctl logs $job_id on jobgw-$reattach_i):"
  "$jobctl_bin" --addr "127.0.0.1:${rep_grpc[reattach_i]}" logs "$job_id" \
    | awk '/progress/ {last[$1] = $0} END {for (h in last) print "  " last[h]}' | sort

  step "6. The adoption: a surviving replica took the job over"
  wait_exit "$poll_pid" 25
  [ -s "$adopt_file" ] || fail "no replica adopted job $job_id within 20 s of the kill"
  local adopted adopt_ms
  read -r adopted adopt_ms <"$adopt_file"
  printf 'lease %s after the kill: %s (it was %s)\n' \
    "$(awk -v ms="$adopt_ms" 'BEGIN{printf "%.1f s", ms/1000}')" "$adopted" "$lease"
  local found=false line
  for i in $(seq 1 "$replicas"); do
    [ "$i" = "$owner_i" ] && continue
    line=$(grep -m1 "event=job_adopted job_instance_id=$job_id " "$run_dir/jobgw-$i.log" || true)
    if [ -n "$line" ]; then echo "jobgw-$i.log: $line"; found=true; fi
  done
  $found || fail "no surviving replica logged event=job_adopted for job $job_id"
  for i in $(seq 1 "$replicas"); do
    [ "$i" = "$owner_i" ] && continue
    echo "jobgw-$i /metrics: $(metric_lines "${rep_metrics[i]}" 'jobgw_replica_leases_acquired_total{kind="adopt"}')"
  done

  step "7. Meanwhile the watcher on jobgw-$follower_i never stopped; all it printed"
  wait_exit "$fw_pid" 20
  sed 's/^/  /' "$follower_out"
  if [ "$wait_rc" != 0 ] || ! grep -q "^seq=[0-9]* finished job=$job_id status=success " "$follower_out"; then
    fail "the watch on jobgw-$follower_i did not end with job $job_id finished successfully (exit $wait_rc)"
  fi
  local seqs repeated
  seqs=$(grep -o '^seq=[0-9]*' "$follower_out" | cut -d= -f2)
  repeated=$(echo "$seqs" | sort -n | uniq -d | tr '\n' ' ')
  echo "exit 0: $(echo "$seqs" | wc -l) events, seq $(echo "$seqs" | head -n1) to $(echo "$seqs" | tail -n1)," \
    "repeated seqs: ${repeated:-none}, reconnects: $(grep -c 'reconnecting' "$follower_out" || true)"

  demo_ok=true
  if $keep; then
    step "Still running (--keep)"
    for i in $(seq 1 "$replicas"); do
      [ "$i" = "$owner_i" ] && continue
      echo "  jobgw-$i: export JOBGW_ADDR=127.0.0.1:${rep_grpc[i]}   metrics http://127.0.0.1:${rep_metrics[i]}/metrics"
    done
    echo "  $jobctl_bin exec --host-ids 101,102 -c 'hostname' --watch --logs"
    echo "  REDISCLI_AUTH=\$(cat $redis_pw_file) redis-cli -p $redis_port KEYS 'jobgw:*'"
    echo "  jobsim: http://127.0.0.1:$jobsim_port   logs: $run_dir"
    echo "  stop with: kill ${pids[*]}"
  else
    step "Done: stopping the jobgw replicas, jobsim and redis-server"
  fi
}

if [ "$replicas" -gt 0 ]; then
  step "Starting redis-server, jobsim (JOB emulator, 10 hosts) and $replicas jobgw replicas on 127.0.0.1"
else
  step "Starting jobsim (JOB emulator, 10 hosts) and jobgw on 127.0.0.1"
fi
"$jobsim_bin" --hosts 10 --listen 127.0.0.1:0 --port-file "$run_dir/jobsim.port" \
  --data-dir "$run_dir/hosts" >"$run_dir/jobsim.log" 2>&1 &
pids+=($!)
wait_for_file "$run_dir/jobsim.port" 20 || fail "jobsim did not start: $(cat "$run_dir/jobsim.log")"
jobsim_port=$(cat "$run_dir/jobsim.port")

if [ "$replicas" -gt 0 ]; then
  replicas_demo
  exit 0
fi

# --insecure-dev: the demo runs on loopback without credentials (README "Security" for real ones).
"$jobgw_bin" --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 --callback.listen=127.0.0.1:0 \
  --http.listen=127.0.0.1:0 \
  --job.base_url="http://127.0.0.1:$jobsim_port" --ports_file="$run_dir/jobgw.ports" \
  --state.path="$run_dir/jobgw-state.db" --insecure-dev >"$run_dir/jobgw.log" 2>&1 &
pids+=($!)
wait_for_file "$run_dir/jobgw.ports" 20 || fail "jobgw did not start: $(cat "$run_dir/jobgw.log")"
grpc_port=$(json_field "$run_dir/jobgw.ports" grpc)
metrics_port=$(json_field "$run_dir/jobgw.ports" metrics)
http_port=$(json_field "$run_dir/jobgw.ports" http)
export JOBGW_ADDR=127.0.0.1:$grpc_port
echo "jobsim  http://127.0.0.1:$jobsim_port   (hosts: GET /jobsim/inventory)"
echo "jobgw   grpc 127.0.0.1:$grpc_port   metrics http://127.0.0.1:$metrics_port/metrics"
echo "status page (live jobs, hosts and logs): http://127.0.0.1:$http_port/"
"$jobctl_bin" health || fail "jobgw is not serving"

all_hosts=101,102,103,104,105,106,107,108,109,110

step "1. A health check on all 10 hosts, watched live, then each host's output"
# shellcheck disable=SC2016
"$jobctl_bin" exec --name demo-health-check --host-ids "$all_hosts" --watch --logs -c '
echo "host $JOB_HOST_ID ip=$JOB_HOST_IP cloud=$JOB_CLOUD_ID"
sleep "0.$(( (JOB_HOST_ID % 7) + 2 ))"
echo "kernel=$(uname -r) load=$(cut -d" " -f1 /proc/loadavg) sandbox_files=$(ls | wc -l)"
' || fail "the health check did not succeed on every host"

step "2. Pushing a file from host 101 to every other host"
"$jobctl_bin" exec --host-ids 101 --watch --plain \
  -c 'mkdir -p data && echo "release notes $(date +%F), built on host $JOB_HOST_ID" > data/release.txt' \
  >/dev/null || fail "could not create the source file on host 101"
"$jobctl_bin" transfer 101:/data/release.txt --to /opt/app/ \
  --host-ids 102,103,104,105,106,107,108,109,110 --watch \
  || fail "the transfer did not succeed"
"$jobctl_bin" exec --host-ids 110 --watch --logs --plain -c 'cat opt/app/release.txt' \
  | grep -q "release notes" || fail "the file is not on host 110"
echo "host 110 (IPv6) has /opt/app/release.txt"

step "3a. What failure looks like: host 103 exits 3"
set +e
"$jobctl_bin" exec --host-ids 101,102,103 --watch --logs \
  -c 'if [ "$JOB_HOST_ID" = 103 ]; then echo "disk full" >&2; exit 3; fi; echo ok'
rc=$?
set -e
[ "$rc" = 1 ] || fail "a failing host should make jobctl exit 1, got $rc"
echo "jobctl exited 1: the job failed, host 103 shows nonzero_exit_code with exit 3"

step "3b. ... and a terminated job: sleep 60, terminated after a second"
ref=$("$jobctl_bin" exec --host-ids 104,105 -c 'sleep 60')
job_id=$(echo "$ref" | awk '{print $2}')
echo "$ref"
sleep 1
"$jobctl_bin" terminate "$job_id"
set +e
"$jobctl_bin" watch "$job_id" --plain
rc=$?
set -e
[ "$rc" = 1 ] || fail "a terminated job should make jobctl exit 1, got $rc"

step "3c. A job plan (JOB's saved multi-step jobs): plan 1 sets a variable, waits for a confirmation, prints it"
"$jobctl_bin" plan 1
ref=$("$jobctl_bin" run-plan 1 --var who=demo 2>/dev/null)
job_id=$(echo "$ref" | awk '{print $2}')
echo "$ref"
confirm_step=""
for _ in $(seq 1 100); do
  confirm_step=$("$jobctl_bin" status "$job_id" 2>/dev/null | awk '/waits for confirmation/ {print $2; exit}')
  [ -n "$confirm_step" ] && break
  sleep 0.1
done
[ -n "$confirm_step" ] || fail "plan job $job_id never waited for its confirmation"
"$jobctl_bin" status "$job_id" | grep -E "^(STEP|[0-9]+ )|waits for confirmation" | head -n 5
"$jobctl_bin" confirm "$job_id" "$confirm_step"
"$jobctl_bin" watch "$job_id" --plain | grep -E "^(step|finished)" || fail "plan job $job_id did not succeed"
"$jobctl_bin" outputs "$job_id"
"$jobctl_bin" outputs "$job_id" --json | grep -q '"hello, demo"' || fail "plan job $job_id has no greeting output"

step "4. Metrics (Prometheus text at http://127.0.0.1:$metrics_port/metrics)"
python3 - "$metrics_port" <<'PY' || fail "metrics are missing"
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
shown = 0
for line in body.splitlines():
    # Series of known label sets are exported from the start at 0: show what the demo moved.
    if line.endswith(" 0") and not line.startswith("jobgw_watched_jobs"):
        continue
    if line.startswith(("jobgw_jobs_finished_total", "jobgw_rpc_requests_total{", "jobgw_callbacks_total{outcome=\"accepted\"", "jobgw_watched_jobs", "jobgw_job_http_attempts_total", "jobgw_job_up")):
        print("  " + line)
        shown += 1
sys.exit(0 if shown >= 4 else 1)
PY
reads=$(python3 -c "import json,urllib.request; print(json.load(urllib.request.urlopen('http://127.0.0.1:$jobsim_port/jobsim/stats'))['requests'].get('get_job_instance_status',0))")
echo "JOB (jobsim) answered $reads status reads for all the jobs above"

demo_ok=true
if $keep; then
  step "Still running (--keep)"
  echo "  export JOBGW_ADDR=127.0.0.1:$grpc_port"
  echo "  $jobctl_bin exec --host-ids 101,102 -c 'hostname' --watch --logs"
  echo "  metrics: http://127.0.0.1:$metrics_port/metrics   jobsim: http://127.0.0.1:$jobsim_port"
  echo "  status page: http://127.0.0.1:$http_port/   (open it, then start a job: it shows up live)"
  echo "  HTTP API: curl -s 'http://127.0.0.1:$http_port/v1/jobs?page_size=5'"
  echo "  stop with: kill ${pids[*]}"
else
  step "Done: stopping jobgw and jobsim"
fi
