#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts jobsim (10 simulated hosts, one IPv6) and
# jobgw on loopback, then runs real jobs through the gateway and watches them live.
#   bash scripts/demo.sh          run it and stop everything at the end
#   bash scripts/demo.sh --keep   leave jobsim and jobgw running and print how to reach them
# Exits non-zero as soon as any step does not behave as described.
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
for arg in "$@"; do
  case "$arg" in
    --keep) keep=true ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument $arg" >&2; exit 2 ;;
  esac
done

build_dir=${BUILD_DIR:-build}
bold=$'\e[1m'; reset=$'\e[0m'
[ -t 1 ] || { bold=""; reset=""; }
step() { printf '\n%s== %s ==%s\n' "$bold" "$*" "$reset"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

step "Installing dependencies and building jobsim, jobgw and jobctl"
bash scripts/install-deps.sh
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=${BUILD_TYPE:-RelWithDebInfo} >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}" --target jobsim jobgw jobctl

jobsim_bin=$build_dir/jobsim/jobsim
jobgw_bin=$build_dir/server/jobgw
jobctl_bin=$build_dir/client/jobctl
run_dir=$(mktemp -d /tmp/jobgw-demo-XXXXXX)
pids=()
cleanup() {
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

step "Starting jobsim (JOB emulator, 10 hosts) and jobgw on 127.0.0.1"
"$jobsim_bin" --hosts 10 --listen 127.0.0.1:0 --port-file "$run_dir/jobsim.port" \
  --data-dir "$run_dir/hosts" >"$run_dir/jobsim.log" 2>&1 &
pids+=($!)
wait_for_file "$run_dir/jobsim.port" 20 || fail "jobsim did not start: $(cat "$run_dir/jobsim.log")"
jobsim_port=$(cat "$run_dir/jobsim.port")
# --insecure-dev: the demo runs on loopback without credentials (README "Security" for real ones).
"$jobgw_bin" --grpc.listen=127.0.0.1:0 --metrics.listen=127.0.0.1:0 --callback.listen=127.0.0.1:0 \
  --job.base_url="http://127.0.0.1:$jobsim_port" --ports_file="$run_dir/jobgw.ports" \
  --state.path="$run_dir/jobgw-state.db" --insecure-dev >"$run_dir/jobgw.log" 2>&1 &
pids+=($!)
wait_for_file "$run_dir/jobgw.ports" 20 || fail "jobgw did not start: $(cat "$run_dir/jobgw.log")"
grpc_port=$(json_field "$run_dir/jobgw.ports" grpc)
metrics_port=$(json_field "$run_dir/jobgw.ports" metrics)
export JOBGW_ADDR=127.0.0.1:$grpc_port
echo "jobsim  http://127.0.0.1:$jobsim_port   (hosts: GET /jobsim/inventory)"
echo "jobgw   grpc 127.0.0.1:$grpc_port   metrics http://127.0.0.1:$metrics_port/metrics"
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

step "4. Metrics (Prometheus text at http://127.0.0.1:$metrics_port/metrics)"
python3 - "$metrics_port" <<'PY' || fail "metrics are missing"
import sys, urllib.request
body = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
shown = 0
for line in body.splitlines():
    if line.startswith(("jobgw_jobs_finished_total", "jobgw_rpc_requests_total{", "jobgw_callbacks_total{outcome=\"accepted\"", "jobgw_watched_jobs", "jobgw_job_calls_total")):
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
  echo "  stop with: kill ${pids[*]}"
else
  step "Done: stopping jobgw and jobsim"
fi
