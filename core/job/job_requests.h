#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/targets.h"

namespace jobgw::core {

// JOB's script_language numbers.
enum ScriptLanguage : int {
  kShell = 1,
  kBat = 2,
  kPerl = 3,
  kPython = 4,
  kPowerShell = 5,
};

// JOB's transfer_mode numbers; 0 leaves JOB's default (forced).
enum TransferMode : int {
  kTransferModeDefault = 0,
  kTransferModeStrict = 1,
  kTransferModeForce = 2,
};

// fast_execute_script. Text fields are plain; the codec Base64-encodes them.
struct ExecuteScriptRequest {
  Scope scope;
  std::string script_content;
  int script_language = 0;
  std::string script_param;
  bool param_sensitive = false;
  int timeout_seconds = 0;  // 0: JOB's default (7200)
  std::string account_alias;
  std::int64_t account_id = 0;
  Targets targets;
  std::string task_name;
  std::string operator_name;  // JOB's bk_username; empty: the configured default
  std::string script_id;
  std::int64_t script_version_id = 0;
  std::string callback_url;
};

// One entry of fast_transfer_file's file_source_list.
struct FileSource {
  std::vector<std::string> files;
  Targets servers;
  std::string account_alias;
  std::int64_t account_id = 0;
};

// fast_transfer_file.
struct TransferFileRequest {
  Scope scope;
  std::vector<FileSource> sources;
  std::string target_path;
  Targets targets;
  std::string account_alias;
  std::int64_t account_id = 0;
  int timeout_seconds = 0;
  std::int64_t upload_limit_mb = 0;    // 0: unlimited
  std::int64_t download_limit_mb = 0;  // 0: unlimited
  int transfer_mode = kTransferModeDefault;
  std::string task_name;
  std::string operator_name;
  std::string callback_url;
};

// get_job_instance_status.
struct JobStatusRequest {
  Scope scope;
  std::int64_t job_instance_id = 0;
  bool return_ip_result = true;
  std::string operator_name;
};

// batch_get_job_instance_ip_log (many hosts) or get_job_instance_ip_log (one host).
struct IpLogsRequest {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
  std::vector<std::int64_t> host_ids;
  std::vector<Host> hosts;
  std::string operator_name;
};

// operate_job_instance.
struct OperateJobRequest {
  Scope scope;
  std::int64_t job_instance_id = 0;
  int operation_code = 1;  // 1: terminate
  std::string operator_name;
};

// What a submit returns.
struct JobRef {
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
  std::string job_instance_name;
};

}  // namespace jobgw::core
