#!/usr/bin/env bash
# Regenerates corpus/request_validation/: realistic gRPC requests of each RPC, in protobuf text
# format here, serialized with protoc --encode. Run after changing the proto or these seeds.
set -euo pipefail
cd "$(dirname "$0")"
out=corpus/request_validation
mkdir -p "$out"
seed() {  # seed NAME MESSAGE; text format on stdin
  protoc --proto_path=../proto --encode="jobgw.v1.$2" jobgw/v1/job_gateway.proto >"$out/$1.pb"
}

seed execute_script_by_host_ids ExecuteScriptRequest <<'PB'
scope { type: "biz" id: "2" }
script_content: "#!/bin/bash\necho \"hi from $JOB_HOST_IP\"\nexit 0\n"
script_language: SCRIPT_LANGUAGE_SHELL
script_param: "--verbose 1"
param_sensitive: true
timeout_seconds: 600
account_alias: "root"
targets { host_ids: 101 host_ids: 102 host_ids: 103 }
task_name: "agent check"
operator: "admin"
request_id: "5b1d3c0e-2f7a-4c55-9d0e-8a1b2c3d4e5f"
PB
seed execute_script_by_ip ExecuteScriptRequest <<'PB'
scope { type: "biz_set" id: "9991001" }
script_id: "1001"
account_id: 3
targets { hosts { cloud_id: 0 ip: "192.0.2.10" } hosts { cloud_id: 2 ip: "10.0.0.1" } }
PB
seed execute_script_topology ExecuteScriptRequest <<'PB'
scope { id: "2" }
script_version_id: 77
targets { dynamic_group_ids: "group-1" topo_nodes { id: 5 node_type: "module" }
          hosts { host_id: 9 ip: "2001:db8::9" } }
task_name: "任务 ✓"
PB
seed execute_script_mixed_hosts ExecuteScriptRequest <<'PB'
scope { id: "2" }
script_content: "Write-Output 1"
script_language: SCRIPT_LANGUAGE_POWERSHELL
targets { host_ids: 1 hosts { ip: "192.0.2.1" } }
PB
seed transfer_file TransferFileRequest <<'PB'
scope { type: "biz" id: "2" }
sources { files: "/data/app/1.log" files: "/data/app/2.log"
          servers { host_ids: 103 } account_alias: "root" }
sources { files: "C:\\logs\\a.txt" servers { hosts { cloud_id: 0 ip: "192.0.2.7" } } account_id: 4 }
target_path: "/tmp/collected/"
targets { host_ids: 101 host_ids: 102 }
timeout_seconds: 3600
upload_limit_mb: 10
download_limit_mb: 20
transfer_mode: TRANSFER_MODE_STRICT
task_name: "collect logs"
PB
seed get_job_status GetJobStatusRequest <<'PB'
scope { type: "biz" id: "2" }
job_instance_id: 10000
operator: "admin"
PB
seed watch_status WatchStatusRequest <<'PB'
scope { type: "biz" id: "2" }
job_instance_id: 10000
after_seq: 17
PB
seed get_ip_logs_hosts GetIpLogsRequest <<'PB'
scope { type: "biz" id: "2" }
job_instance_id: 10000
step_instance_id: 20000
host_ids: 101
hosts { cloud_id: 0 ip: "192.0.2.1" }
PB
seed get_ip_logs_one_host GetIpLogsRequest <<'PB'
scope { id: "2" }
job_instance_id: 10000
hosts { cloud_id: 0 ip: "192.0.2.1" }
PB
seed terminate_job TerminateJobRequest <<'PB'
scope { type: "biz" id: "2" }
job_instance_id: 10000
operator: "ops"
PB
