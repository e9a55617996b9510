#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "core/base/result.h"
#include "core/http/http_client.h"
#include "core/job/ip_logs.h"
#include "core/job/job_codec.h"
#include "core/job/job_requests.h"
#include "core/job/job_snapshot.h"
#include "core/job/plan_requests.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::core {

struct JobClientConfig {
  JobApiSettings api;
  // http.base_url is JOB's (or jobsim's) base URL.
  HttpClientConfig http;
};

using Deadline = std::optional<std::chrono::steady_clock::time_point>;

// The asynchronous client for JOB's v3 API: JobCodec on top of HttpClient. Each call completes
// exactly once, on the io_context, never inline, so gRPC reactors can call it without blocking.
// Reads are retried by the transport, and once more when an answer does not decode; submits and
// terminate are never re-sent once they may have reached JOB.
class JobClient {
 public:
  template <typename T>
  using Callback = std::function<void(Result<T>)>;

  static Result<std::unique_ptr<JobClient>> create(boost::asio::io_context& io,
                                                   JobClientConfig config);
  ~JobClient();

  void execute_script(const ExecuteScriptRequest& request, Callback<JobRef> done,
                      Deadline deadline = {});
  void transfer_file(const TransferFileRequest& request, Callback<JobRef> done,
                     Deadline deadline = {});
  void get_job_instance_status(const JobStatusRequest& request, Callback<JobSnapshot> done,
                               Deadline deadline = {});
  void batch_get_job_instance_ip_log(const IpLogsRequest& request, Callback<IpLogs> done,
                                     Deadline deadline = {});
  void get_job_instance_ip_log(const IpLogsRequest& request, Callback<IpLogs> done,
                               Deadline deadline = {});
  // operate_job_instance; completes with the job_instance_id JOB acknowledged.
  void operate_job_instance(const OperateJobRequest& request, Callback<std::int64_t> done,
                            Deadline deadline = {});

  // Job plans. Reads are retried; execute_job_plan and operate_step_instance are mutations, never
  // re-sent once they may have reached JOB (a second execute would start a second job).
  void execute_job_plan(const ExecutePlanRequest& request, Callback<JobRef> done,
                        Deadline deadline = {});
  void get_job_plan_list(const PlanListRequest& request, Callback<PlanPage> done,
                         Deadline deadline = {});
  void get_job_plan_detail(const PlanDetailRequest& request, Callback<PlanDetail> done,
                           Deadline deadline = {});
  void get_job_instance_global_var_value(const GlobalVarValuesRequest& request,
                                         Callback<JobGlobalVars> done, Deadline deadline = {});
  void get_job_instance_list(const JobListRequest& request, Callback<JobInstancePage> done,
                             Deadline deadline = {});
  void operate_step_instance(const OperateStepRequest& request, Callback<StepRef> done,
                             Deadline deadline = {});

  // One unretried request that names no job (JobCodec::probe); completes with the HTTP status.
  void probe(Callback<int> done, Deadline deadline = {});

  // Cancels everything in flight (kCancelled) and refuses later calls.
  void shutdown();

  HttpClientStats transport_stats() const;
  const JobCodec& codec() const { return codec_; }

 private:
  JobClient(boost::asio::io_context& io, JobCodec codec, std::unique_ptr<HttpClient> http);

  template <typename T>
  void call(Result<EncodedCall> encoded, bool retryable, Deadline deadline,
            Result<T> (*decode)(int, std::string_view), Callback<T> done);
  // One request through the transport (which retries per CallOptions); with
  // resend_undecodable, an answer that does not decode is sent once more. Holds the transport
  // weakly: a completion may run after the JobClient is gone.
  template <typename T>
  static void send(const std::shared_ptr<HttpClient>& http, HttpRequest request,
                   CallOptions options, Result<T> (*decode)(int, std::string_view),
                   Callback<T> done, bool resend_undecodable);

  boost::asio::io_context& io_;
  JobCodec codec_;
  std::shared_ptr<HttpClient> http_;
};

}  // namespace jobgw::core
