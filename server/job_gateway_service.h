#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/job/job_client.h"
#include "core/job/job_requests.h"
#include "core/job/job_snapshot.h"
#include "core/security/audit_log.h"
#include "core/security/caller_limits.h"
#include "core/security/credentials.h"
#include "core/submit/idempotent_submitter.h"
#include "core/watch/watch_hub.h"
#include "jobgw/v1/job_gateway.grpc.pb.h"
#include "server/admission.h"
#include "server/authorizer.h"
#include "server/call.h"
#include "server/ip_log_hosts.h"
#include "server/job_catalog.h"
#include "server/plan_cache.h"
#include "server/request_validation.h"
#include "server/server_metrics.h"
#include "server/status_mapping.h"

namespace jobgw::core {
class LogFollowHub;
class LogFollower;
}  // namespace jobgw::core

namespace jobgw::server {

struct ServiceOptions {
  // What a submit may carry (limits.max_script_bytes, max_param_bytes, max_targets).
  ValidationLimits validation;
  // Attached to submits when non-empty, so JOB's end-of-job callback pokes the hub.
  std::string callback_url;
  // When set, makes each submit's callback URL instead (callback_url plus a per-job token).
  std::function<std::string()> callback_url_for_submit;
  // JOB deadline when the caller set none (else the earlier of both).
  std::chrono::milliseconds job_call_timeout{15000};
  // GetJobStatus (and GetIpLogs' host lookup) answer from the hub when its snapshot is fresher.
  std::chrono::milliseconds status_fresh_for{1000};
  // GetIpLogs paging: most hosts asked of JOB per page, and the largest page built (see
  // log_page_limit, from grpc.max_send_message_bytes).
  std::size_t log_page_hosts = 500;
  std::size_t log_page_max_bytes = 4 * 1024 * 1024;
  // Overload limits: beyond them new calls get RESOURCE_EXHAUSTED at once.
  AdmissionLimits admission;

  // Security (README "Security"); each must outlive the service. The authorizer is required (the
  // constructor refuses null: no accidental open gateway); caller limits and audit may be null.
  const Authorizer* authorizer = nullptr;
  core::CallerLimits* caller_limits = nullptr;
  core::AuditLog* audit = nullptr;
  // Bounds the log lines of calls refused for what the caller sent; null: one line each.
  core::LogThrottle* refusal_log = nullptr;

  // ListJobs' source (server/job_catalog.h) and FollowLogs' shared log reads; null: the RPC
  // answers UNIMPLEMENTED. Each must outlive the service.
  JobCatalog* catalog = nullptr;
  core::LogFollowHub* logs = nullptr;
  // Hosts one FollowLogs stream may follow (follow.max_hosts).
  std::size_t follow_max_hosts = 100;
  // How long ExecuteJobPlan trusts a plan it read to check variables against (plans.cache_ms).
  std::chrono::milliseconds plan_cache_ttl{30000};
};

// What GetIpLogs asks JOB after filling in what the caller left out from the job's status.
struct IpLogsPlan {
  core::IpLogsRequest request;
  // The step's type (core::StepType) when known from the status, else 0.
  int step_type = 0;
  // Where this page starts (empty: the first page) and how large it may get.
  std::string page_token;
  std::size_t page_bytes = 0;
  // Whether the caller named the hosts (else they are every host of the step).
  bool named_hosts = false;
  // The step, when a status read resolved it (else looked up only if a named host has no log).
  std::optional<core::StepSnapshot> step;
};

// Every host of the plan's request in paging order: those by id, then those by cloud id + IP.
std::vector<core::Host> ip_logs_hosts(const core::IpLogsRequest& request);

// Resolves step_instance_id 0 to the job's first step and, when the caller named no hosts, takes
// every host of that step (by host id when every host has one, else by cloud id + IP). Fails
// with NOT_FOUND naming the step when the job has no such step (or no steps at all).
std::optional<CallStatus> complete_ip_logs_request(const core::JobSnapshot& job, IpLogsPlan* plan);

// The JobGateway service over one JobClient and one WatchHub (docs/ARCHITECTURE.md "server/"):
// validates, maps to JOB, maps errors back. Each RPC has a transport-neutral method that runs the
// call pipeline (server/call.h) and answers through the Call's respond; the gRPC overrides
// (below) and the HTTP/JSON face (server/http_api.h) are thin adapters over them. Nothing blocks:
// unary calls finish from JobClient completions on the io threads; streams pull from the hub.
class JobGatewayService final : public v1::JobGateway::CallbackService {
 public:
  // `metrics` may be null. `submitter` may be null: submits then go straight to JOB, with no
  // request_id deduplication and no record for restarts. All must outlive the grpc::Server.
  JobGatewayService(core::JobClient& job, core::WatchHub& hub, ServerMetrics* metrics,
                    ServiceOptions options, core::IdempotentSubmitter* submitter = nullptr);

  // Transport-neutral unary calls: `respond` runs exactly once, after `response` (which must
  // live until then) is filled when the status is OK. Requests are read before they return.
  void execute_script(const CallInput& input, const v1::ExecuteScriptRequest& request,
                      v1::JobRef* response, Call::Respond respond);
  void transfer_file(const CallInput& input, const v1::TransferFileRequest& request,
                     v1::JobRef* response, Call::Respond respond);
  void get_job_status(const CallInput& input, const v1::GetJobStatusRequest& request,
                      v1::JobSnapshot* response, Call::Respond respond);
  void get_ip_logs(const CallInput& input, const v1::GetIpLogsRequest& request,
                   v1::GetIpLogsResponse* response, Call::Respond respond);
  void terminate_job(const CallInput& input, const v1::TerminateJobRequest& request,
                     v1::TerminateJobResponse* response, Call::Respond respond);
  void list_jobs(const CallInput& input, const v1::ListJobsRequest& request,
                 v1::ListJobsResponse* response, Call::Respond respond);
  // Job plans (plan_rpcs.cc).
  void list_job_plans(const CallInput& input, const v1::ListJobPlansRequest& request,
                      v1::ListJobPlansResponse* response, Call::Respond respond);
  void get_job_plan(const CallInput& input, const v1::GetJobPlanRequest& request,
                    v1::JobPlan* response, Call::Respond respond);
  void execute_job_plan(const CallInput& input, const v1::ExecuteJobPlanRequest& request,
                        v1::JobRef* response, Call::Respond respond);
  void operate_step(const CallInput& input, const v1::OperateStepRequest& request,
                    v1::OperateStepResponse* response, Call::Respond respond);
  void get_job_outputs(const CallInput& input, const v1::GetJobOutputsRequest& request,
                       v1::JobOutputs* response, Call::Respond respond);

  // Transport-neutral streams: a Call whose respond ends the transport's stream, and the
  // subscription it pulls from. Null subscription: the pipeline refused the call (finished).
  std::unique_ptr<Call> stream_call(const char* method, const v1::Scope& scope,
                                    std::int64_t job_instance_id, Call::Respond respond);
  std::shared_ptr<core::Subscription> open_watch(Call& call, const CallInput& input,
                                                 const v1::WatchStatusRequest& request);
  std::shared_ptr<core::LogFollower> open_follow(Call& call, const CallInput& input,
                                                 const v1::FollowLogsRequest& request);

  grpc::ServerUnaryReactor* ExecuteScript(grpc::CallbackServerContext* context,
                                          const v1::ExecuteScriptRequest* request,
                                          v1::JobRef* response) override;
  grpc::ServerUnaryReactor* TransferFile(grpc::CallbackServerContext* context,
                                         const v1::TransferFileRequest* request,
                                         v1::JobRef* response) override;
  grpc::ServerWriteReactor<v1::StatusEvent>* WatchStatus(
      grpc::CallbackServerContext* context, const v1::WatchStatusRequest* request) override;
  grpc::ServerUnaryReactor* GetIpLogs(grpc::CallbackServerContext* context,
                                      const v1::GetIpLogsRequest* request,
                                      v1::GetIpLogsResponse* response) override;
  grpc::ServerUnaryReactor* GetJobStatus(grpc::CallbackServerContext* context,
                                         const v1::GetJobStatusRequest* request,
                                         v1::JobSnapshot* response) override;
  grpc::ServerUnaryReactor* TerminateJob(grpc::CallbackServerContext* context,
                                         const v1::TerminateJobRequest* request,
                                         v1::TerminateJobResponse* response) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* context,
                                     const v1::ListJobsRequest* request,
                                     v1::ListJobsResponse* response) override;
  grpc::ServerWriteReactor<v1::LogEvent>* FollowLogs(grpc::CallbackServerContext* context,
                                                     const v1::FollowLogsRequest* request) override;
  grpc::ServerUnaryReactor* ListJobPlans(grpc::CallbackServerContext* context,
                                         const v1::ListJobPlansRequest* request,
                                         v1::ListJobPlansResponse* response) override;
  grpc::ServerUnaryReactor* GetJobPlan(grpc::CallbackServerContext* context,
                                       const v1::GetJobPlanRequest* request,
                                       v1::JobPlan* response) override;
  grpc::ServerUnaryReactor* ExecuteJobPlan(grpc::CallbackServerContext* context,
                                           const v1::ExecuteJobPlanRequest* request,
                                           v1::JobRef* response) override;
  grpc::ServerUnaryReactor* OperateStep(grpc::CallbackServerContext* context,
                                        const v1::OperateStepRequest* request,
                                        v1::OperateStepResponse* response) override;
  grpc::ServerUnaryReactor* GetJobOutputs(grpc::CallbackServerContext* context,
                                          const v1::GetJobOutputsRequest* request,
                                          v1::JobOutputs* response) override;

  const ServiceOptions& options() const { return options_; }
  // RPCs started and not yet finished; shutdown waits for this to reach 0 rather than for the
  // whole grace period.
  std::int64_t in_flight() const { return in_flight_.load(); }

 private:
  // What every call's pipeline uses (server/call.h).
  CallServices services();
  template <typename Domain>
  using SubmitSend =
      std::function<void(const Domain&, core::IdempotentSubmitter::SendDone, core::Deadline)>;
  // ExecuteScript and TransferFile: one path from the pipeline's steps to the JobRef. `validate`
  // makes the core request (request_id checked too); `send` hands it to JOB, exactly once.
  template <typename Domain>
  void submit(const CallInput& input, CallSpec spec, Call::Respond respond,
              core::Operation operation, const std::string& requested_operator,
              std::function<core::Result<Domain>()> validate, SubmitSend<Domain> send,
              v1::JobRef* response);
  // The part of a submit after the pipeline's steps (ExecuteJobPlan joins here once its
  // variables are checked against the plan): the callback URL, request_id deduplication, JOB.
  template <typename Domain>
  void submit_validated(const std::shared_ptr<Call>& call, std::shared_ptr<Domain> request,
                        core::Deadline deadline, SubmitSend<Domain> send, v1::JobRef* response);
  // Whether submits carry jobgw's callback URL (so the hub may wait for JOB's callback).
  bool callback_wired() const {
    return !options_.callback_url.empty() || options_.callback_url_for_submit != nullptr;
  }
  void submitted(const std::shared_ptr<Call>& call, const core::Scope& scope,
                 const std::string& job_operator, core::Result<core::JobRef> result,
                 core::SubmitSource source, v1::JobRef* response);
  // GetIpLogs (ip_logs_rpc.cc): the step and hosts from the job's status when the caller left
  // them out, one page from JOB, and a look at the step for named hosts JOB has no log for.
  void plan_ip_logs(const std::shared_ptr<Call>& call, IpLogsPlan plan,
                    const core::JobSnapshot& job, core::Deadline deadline,
                    v1::GetIpLogsResponse* response);
  void fetch_ip_logs(const std::shared_ptr<Call>& call, IpLogsPlan plan, core::Deadline deadline,
                     v1::GetIpLogsResponse* response);
  // Finishes a page some named hosts have no log on: NOT_FOUND naming those the step does not
  // have, else OK (the page is in the response already).
  void confirm_hosts(const std::shared_ptr<Call>& call, const IpLogsPlan& plan, NamedHosts missing,
                     core::Deadline deadline);

  core::JobClient& job_;
  core::WatchHub& hub_;
  std::atomic<std::int64_t> in_flight_{0};
  ServerMetrics* metrics_;
  core::IdempotentSubmitter* submitter_;
  const ServiceOptions options_;
  const ValidationLimits limits_;
  Admission admission_;
  const Authorizer& authorizer_;
  PlanCache plans_;
};

}  // namespace jobgw::server
