#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/job/ip_logs.h"
#include "core/job/job_requests.h"
#include "core/job/job_snapshot.h"
#include "core/job/plan_requests.h"

namespace jobgw::core {

// How JOB is reached: the API gateway (credentials in a header) or the older ESB
// (credentials in the body or query string).
enum class ApiMode { kApigw, kEsb };

Result<ApiMode> parse_api_mode(std::string_view text);
std::string_view api_mode_name(ApiMode mode);

// JOB's "illegal parameter with reason"; operate_job_instance gives it for a finished job.
constexpr std::int64_t kJobCodeIllegalParamReason = 1241010;
// JOB's "the step's state does not allow this operation" (operate_step_instance).
constexpr std::int64_t kJobCodeStepStateRefused = 1241003;

struct JobApiSettings {
  ApiMode mode = ApiMode::kApigw;
  std::string app_code;
  std::string app_secret;
  // bk_username for calls that do not name an operator.
  std::string default_operator = "admin";
  // Account on the targets for calls that name neither account_id nor account_alias.
  std::string default_account_alias = "root";
};

// One HTTP call to JOB, ready for the transport: target is path + query, already encoded, relative
// to the base URL (whose own path prefix, e.g. /prod, the transport puts in front).
struct EncodedCall {
  std::string label;  // JOB's API name, for logs and metrics
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The JOB v3 JSON codec: domain <-> the request/response shapes of docs/JOB_API.md.
// Encoding fails only on targets JOB cannot express (IPv6 without host id, bad IPs).
// Decoding never throws: any shape docs/JOB_API.md does not allow is an Error naming the field.
class JobCodec {
 public:
  explicit JobCodec(JobApiSettings settings);

  Result<EncodedCall> execute_script(const ExecuteScriptRequest& request) const;
  Result<EncodedCall> transfer_file(const TransferFileRequest& request) const;
  EncodedCall get_job_instance_status(const JobStatusRequest& request) const;
  Result<EncodedCall> batch_get_job_instance_ip_log(const IpLogsRequest& request) const;
  // Exactly one host, by hosts[0] or host_ids[0].
  Result<EncodedCall> get_job_instance_ip_log(const IpLogsRequest& request) const;
  EncodedCall operate_job_instance(const OperateJobRequest& request) const;
  // Job plans. execute_job_plan fails only on a host-list variable's targets JOB cannot express.
  Result<EncodedCall> execute_job_plan(const ExecutePlanRequest& request) const;
  EncodedCall get_job_plan_list(const PlanListRequest& request) const;
  EncodedCall get_job_plan_detail(const PlanDetailRequest& request) const;
  EncodedCall get_job_instance_global_var_value(const GlobalVarValuesRequest& request) const;
  EncodedCall get_job_instance_list(const JobListRequest& request) const;
  EncodedCall operate_step_instance(const OperateStepRequest& request) const;
  // A request that names no job: JOB answers it with its own error (a missing parameter), which
  // shows JOB's API is there, without reading anything. JobReachability's probe.
  EncodedCall probe() const;

  // Each decoder takes the HTTP status and body JOB (or its API gateway) answered.
  static Result<JobRef> decode_job_ref(int http_status, std::string_view body);
  static Result<JobSnapshot> decode_job_status(int http_status, std::string_view body);
  static Result<IpLogs> decode_batch_ip_log(int http_status, std::string_view body);
  static Result<IpLogs> decode_ip_log(int http_status, std::string_view body);
  static Result<std::int64_t> decode_operate(int http_status, std::string_view body);
  // execute_job_plan: a JobRef whose step_instance_id is 0 (JOB names no step for a plan).
  static Result<JobRef> decode_execute_plan(int http_status, std::string_view body);
  static Result<PlanPage> decode_plan_list(int http_status, std::string_view body);
  // Password variables' values are dropped here (PlanVariable::masked_value says one existed).
  static Result<PlanDetail> decode_plan_detail(int http_status, std::string_view body);
  static Result<JobGlobalVars> decode_global_vars(int http_status, std::string_view body);
  static Result<JobInstancePage> decode_job_list(int http_status, std::string_view body);
  // JOB's "wrong state" codes (1241003, 1241010) become kFailedPrecondition, job_code kept.
  static Result<StepRef> decode_operate_step(int http_status, std::string_view body);
  // The HTTP status when JOB (or its API gateway) answered below 500.
  static Result<int> decode_probe(int http_status, std::string_view body);

  const JobApiSettings& settings() const { return settings_; }
  // The bk_username JOB is asked as: `requested`, else the default operator.
  std::string operator_of(const std::string& requested) const;

 private:
  std::string path(const char* name) const;

  JobApiSettings settings_;
  // The apigw credentials header up to the operator's name, built once: a JSON object per call
  // cost every JOB call a map, its nodes and a serializer run.
  std::string apigw_auth_prefix_;
};

}  // namespace jobgw::core
