#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/targets.h"

namespace jobgw::core {

// JOB's global variable `type` numbers. A number JOB adds later passes through as an int.
enum GlobalVarType : int {
  kVarString = 1,
  kVarNamespace = 2,
  kVarHostList = 3,
  kVarPassword = 4,  // JOB masks the value when it is read back
  kVarAssocArray = 5,
  kVarIndexArray = 6,
};

// Plan step `type` numbers (get_job_plan_detail, and step `type` in get_job_instance_status).
enum PlanStepType : int {
  kPlanStepScript = 1,
  kPlanStepFile = 2,
  kPlanStepConfirm = 3,  // manual confirmation: waits in status 7 with no host results
};

// get_job_plan_list. Times are Unix milliseconds; 0 (or empty) leaves a filter out.
struct PlanListRequest {
  Scope scope;
  std::string operator_name;
  std::int64_t job_template_id = 0;
  std::string creator;
  std::string name;  // substring
  std::int64_t create_time_start = 0;
  std::int64_t create_time_end = 0;
  std::string last_modify_user;
  std::int64_t last_modify_time_start = 0;
  std::int64_t last_modify_time_end = 0;
  std::int64_t start = 0;
  std::int64_t length = 0;  // 0: JOB's default (20)
};

struct PlanSummary {
  std::int64_t id = 0;
  std::int64_t job_template_id = 0;
  std::string name;
  std::string creator;
  std::int64_t create_time = 0;
  std::string last_modify_user;
  std::int64_t last_modify_time = 0;
  bool need_update = false;
  Scope scope;
};

struct PlanPage {
  std::int64_t start = 0;
  std::int64_t length = 0;
  std::int64_t total = 0;
  std::vector<PlanSummary> plans;
};

// get_job_plan_detail.
struct PlanDetailRequest {
  Scope scope;
  std::int64_t job_plan_id = 0;
  std::string operator_name;
};

// One global variable of a plan, with the plan's default.
struct PlanVariable {
  std::int64_t id = 0;
  std::string name;
  std::string description;
  int type = 0;  // GlobalVarType
  bool required = false;
  bool used = false;
  // Never a password: for kVarPassword the decoder leaves it empty and sets masked_value.
  std::string value;
  // JOB answered a (masked) value for a password variable.
  bool masked_value = false;
  // Host-list variables' default hosts.
  std::optional<Targets> server;
};

// An account as a plan step names it.
struct PlanAccount {
  std::int64_t id = 0;
  std::string name;  // JOB's account name or alias
};

struct PlanScriptInfo {
  int script_type = 0;  // 1 local, 2 referenced, 3 public
  std::string script_id;
  std::int64_t script_version_id = 0;
  std::string script_content;  // decoded from Base64
  int script_language = 0;     // ScriptLanguage
  std::string script_param;    // decoded; empty when param_sensitive
  bool param_sensitive = false;
  int timeout_seconds = 0;
  PlanAccount account;
};

struct PlanFileSource {
  std::vector<std::string> files;
  std::optional<Targets> server;
  PlanAccount account;
  int file_type = 0;  // 1 files on servers, 3 a third-party file source
};

struct PlanFileInfo {
  std::vector<PlanFileSource> sources;
  std::string destination_path;
  PlanAccount destination_account;
  std::optional<Targets> destination_server;
  int timeout_seconds = 0;
  int transfer_mode = 0;  // TransferMode
  std::int64_t upload_limit_mb = 0;
  std::int64_t download_limit_mb = 0;
};

// What a manual confirmation step says about who confirms and how they are told.
struct PlanApprovalInfo {
  std::string message;
  std::vector<std::string> approval_users;
  std::vector<std::string> approval_roles;
  std::vector<std::string> notify_channels;
};

struct PlanStep {
  std::int64_t id = 0;
  std::string name;
  int type = 0;  // PlanStepType
  std::optional<PlanScriptInfo> script;
  std::optional<PlanFileInfo> file;
  std::optional<PlanApprovalInfo> approval;
};

struct PlanDetail {
  std::int64_t id = 0;  // JOB's code sends `id`, its docs `job_plan_id`: either is read
  std::int64_t job_template_id = 0;
  std::string name;
  std::string creator;
  std::int64_t create_time = 0;
  std::string last_modify_user;
  std::int64_t last_modify_time = 0;
  Scope scope;
  std::vector<PlanVariable> variables;
  std::vector<PlanStep> steps;
};

// One variable value for execute_job_plan: named by id (wins when positive) or by name, with a
// value (string-like types) or a server (host lists).
struct PlanVariableValue {
  std::int64_t id = 0;
  std::string name;
  std::optional<std::string> value;
  std::optional<Targets> server;
};

// execute_job_plan; JOB answers a JobRef (step_instance_id 0).
struct ExecutePlanRequest {
  Scope scope;
  std::int64_t job_plan_id = 0;
  std::vector<PlanVariableValue> variables;
  std::string callback_url;
  std::string operator_name;
  // false: JOB creates the instance without starting it (operate_job_instance 2 starts it).
  bool start_task = true;
};

// get_job_instance_global_var_value.
struct GlobalVarValuesRequest {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::string operator_name;
};

struct GlobalVarValue {
  std::string name;
  std::string value;
  int type = 0;  // GlobalVarType
};

struct StepGlobalVars {
  std::int64_t step_instance_id = 0;
  std::vector<GlobalVarValue> vars;
};

// Each step's list is the state after that step (JOB lists script steps only), so the last
// entry holds the job's final values.
struct JobGlobalVars {
  std::int64_t job_instance_id = 0;
  std::vector<StepGlobalVars> steps;
};

// get_job_instance_list. create_time_start/_end (ms) are required by JOB (span <= 30 days);
// 0 or empty leaves an optional filter out; launch_mode, type and status are sent when >= 0.
struct JobListRequest {
  Scope scope;
  std::string operator_name;  // JOB's bk_username (who asks)
  std::int64_t create_time_start = 0;
  std::int64_t create_time_end = 0;
  std::int64_t job_instance_id = 0;
  std::int64_t job_cron_id = 0;
  std::string job_operator;  // the `operator` filter: who launched the job
  std::string name;          // substring
  std::string ip;
  int launch_mode = -1;  // 1 web, 2 API, 3 cron
  int type = -1;         // 0 plan, 1 script, 2 file
  int status = -1;
  std::int64_t start = 0;
  std::int64_t length = 0;  // 0: JOB's default
};

struct JobInstanceSummary {
  std::int64_t job_instance_id = 0;
  std::int64_t job_plan_id = 0;
  std::int64_t job_template_id = 0;
  std::string name;
  std::string job_operator;
  int launch_mode = 0;
  int status = 0;
  int type = 0;
  std::int64_t create_time = 0;
  std::int64_t start_time = 0;
  std::int64_t end_time = 0;
  std::int64_t total_time = 0;
  Scope scope;
};

struct JobInstancePage {
  std::int64_t start = 0;
  std::int64_t length = 0;
  std::int64_t total = 0;
  std::vector<JobInstanceSummary> jobs;
};

// operate_step_instance's operation codes; the step status each applies to in parentheses.
namespace step_operation {
constexpr int kRetryFailed = 2;              // retry failed hosts (4, 9, 11)
constexpr int kIgnoreError = 3;              // (4, 9)
constexpr int kConfirm = 6;                  // confirm and continue (7)
constexpr int kRetryAll = 8;                 // retry all hosts (4, 9, 11)
constexpr int kTerminateConfirmation = 9;    // (7 -> 13)
constexpr int kReinitiateConfirmation = 10;  // (13)
constexpr int kNextStep = 11;                // (11)
constexpr int kSkip = 12;                    // force skip (10)
}  // namespace step_operation

// operate_step_instance.
struct OperateStepRequest {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
  int operation_code = 0;  // step_operation::k*
  std::string operator_name;
};

struct StepRef {
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
};

}  // namespace jobgw::core
