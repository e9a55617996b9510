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

namespace jobgw::core {

// How JOB is reached: the API gateway (credentials in a header) or the older ESB
// (credentials in the body or query string).
enum class ApiMode { kApigw, kEsb };

Result<ApiMode> parse_api_mode(std::string_view text);
std::string_view api_mode_name(ApiMode mode);

// JOB's "illegal parameter with reason"; operate_job_instance gives it for a finished job.
constexpr std::int64_t kJobCodeIllegalParamReason = 1241010;

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
  // A request that names no job: JOB answers it with its own error (a missing parameter), which
  // shows JOB's API is there, without reading anything. JobReachability's probe.
  EncodedCall probe() const;

  // Each decoder takes the HTTP status and body JOB (or its API gateway) answered.
  static Result<JobRef> decode_job_ref(int http_status, std::string_view body);
  static Result<JobSnapshot> decode_job_status(int http_status, std::string_view body);
  static Result<IpLogs> decode_batch_ip_log(int http_status, std::string_view body);
  static Result<IpLogs> decode_ip_log(int http_status, std::string_view body);
  static Result<std::int64_t> decode_operate(int http_status, std::string_view body);
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
