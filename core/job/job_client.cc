#include "core/job/job_client.h"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace jobgw::core {

Result<std::unique_ptr<JobClient>> JobClient::create(boost::asio::io_context& io,
                                                     JobClientConfig config) {
  Result<std::unique_ptr<HttpClient>> http = HttpClient::create(io, std::move(config.http));
  if (!http) return http.error();
  return std::unique_ptr<JobClient>(
      new JobClient(io, JobCodec(std::move(config.api)), std::move(http.value())));
}

JobClient::JobClient(boost::asio::io_context& io, JobCodec codec, std::unique_ptr<HttpClient> http)
    : io_(io), codec_(std::move(codec)), http_(std::move(http)) {}

JobClient::~JobClient() { shutdown(); }

void JobClient::shutdown() { http_->shutdown(); }

HttpClientStats JobClient::transport_stats() const { return http_->stats(); }

template <typename T>
void JobClient::call(Result<EncodedCall> encoded, bool retryable, Deadline deadline,
                     Result<T> (*decode)(int, std::string_view), Callback<T> done) {
  if (!encoded) {
    // Same contract as a transport failure: complete on the io_context, never inline.
    boost::asio::post(io_, [done = std::move(done), error = encoded.error()]() mutable {
      done(std::move(error));
    });
    return;
  }
  EncodedCall& call = encoded.value();
  HttpRequest request;
  request.label = call.label;
  request.method = std::move(call.method);
  request.target = std::move(call.target);
  request.headers = std::move(call.headers);
  request.body = std::move(call.body);
  CallOptions options;
  options.retryable = retryable;
  options.deadline = deadline;
  send<T>(http_, std::move(request), options, decode, std::move(done), retryable);
}

template <typename T>
void JobClient::send(const std::shared_ptr<HttpClient>& http, HttpRequest request,
                     CallOptions options, Result<T> (*decode)(int, std::string_view),
                     Callback<T> done, bool resend_undecodable) {
  // Only a read that may be sent again keeps a copy of its request.
  std::optional<HttpRequest> again;
  if (resend_undecodable) again = request;
  std::string label = request.label;
  http->send(
      std::move(request), options,
      [weak = std::weak_ptr<HttpClient>(http), label = std::move(label), again = std::move(again),
       options, decode, done = std::move(done)](Result<HttpResponse> response) mutable {
        if (!response) {
          // A failing probe repeats every second of an outage; JobReachability logs the outage.
          spdlog::log(label == "probe" ? spdlog::level::debug : spdlog::level::warn,
                      "job_call api={} {}", label, response.error().describe());
          done(std::move(response.error()));
          return;
        }
        Result<T> out = decode(response->status, response->body);
        auto http = weak.lock();
        if (!out && out.error().kind == ErrorKind::kDecode && again && http) {
          // A read answered with a body that does not decode (cut short by a proxy, an
          // HTML page with 200) is as transient as a dropped connection, and a read is
          // safe to repeat: send it once more, within the same deadline.
          spdlog::info("job_call api={} resending after an undecodable answer {}", label,
                       out.error().describe());
          send<T>(http, std::move(*again), options, decode, std::move(done), false);
          return;
        }
        if (!out) {
          if (response->retry_after) out.error().retry_after = response->retry_after;
          spdlog::log(label == "probe" ? spdlog::level::debug : spdlog::level::warn,
                      "job_call api={} {}", label, out.error().describe());
        } else {
          spdlog::debug("job_call api={} http_status={}", label, response->status);
        }
        done(std::move(out));
      });
}

void JobClient::execute_script(const ExecuteScriptRequest& request, Callback<JobRef> done,
                               Deadline deadline) {
  call<JobRef>(codec_.execute_script(request), false, deadline, &JobCodec::decode_job_ref,
               std::move(done));
}

void JobClient::transfer_file(const TransferFileRequest& request, Callback<JobRef> done,
                              Deadline deadline) {
  call<JobRef>(codec_.transfer_file(request), false, deadline, &JobCodec::decode_job_ref,
               std::move(done));
}

void JobClient::get_job_instance_status(const JobStatusRequest& request, Callback<JobSnapshot> done,
                                        Deadline deadline) {
  call<JobSnapshot>(codec_.get_job_instance_status(request), true, deadline,
                    &JobCodec::decode_job_status, std::move(done));
}

void JobClient::batch_get_job_instance_ip_log(const IpLogsRequest& request, Callback<IpLogs> done,
                                              Deadline deadline) {
  // A POST, but a pure read: safe to send again.
  call<IpLogs>(codec_.batch_get_job_instance_ip_log(request), true, deadline,
               &JobCodec::decode_batch_ip_log, std::move(done));
}

void JobClient::get_job_instance_ip_log(const IpLogsRequest& request, Callback<IpLogs> done,
                                        Deadline deadline) {
  call<IpLogs>(codec_.get_job_instance_ip_log(request), true, deadline, &JobCodec::decode_ip_log,
               std::move(done));
}

void JobClient::operate_job_instance(const OperateJobRequest& request, Callback<std::int64_t> done,
                                     Deadline deadline) {
  call<std::int64_t>(codec_.operate_job_instance(request), false, deadline,
                     &JobCodec::decode_operate, std::move(done));
}

void JobClient::execute_job_plan(const ExecutePlanRequest& request, Callback<JobRef> done,
                                 Deadline deadline) {
  call<JobRef>(codec_.execute_job_plan(request), false, deadline, &JobCodec::decode_execute_plan,
               std::move(done));
}

void JobClient::get_job_plan_list(const PlanListRequest& request, Callback<PlanPage> done,
                                  Deadline deadline) {
  call<PlanPage>(codec_.get_job_plan_list(request), true, deadline, &JobCodec::decode_plan_list,
                 std::move(done));
}

void JobClient::get_job_plan_detail(const PlanDetailRequest& request, Callback<PlanDetail> done,
                                    Deadline deadline) {
  call<PlanDetail>(codec_.get_job_plan_detail(request), true, deadline,
                   &JobCodec::decode_plan_detail, std::move(done));
}

void JobClient::get_job_instance_global_var_value(const GlobalVarValuesRequest& request,
                                                  Callback<JobGlobalVars> done, Deadline deadline) {
  call<JobGlobalVars>(codec_.get_job_instance_global_var_value(request), true, deadline,
                      &JobCodec::decode_global_vars, std::move(done));
}

void JobClient::get_job_instance_list(const JobListRequest& request, Callback<JobInstancePage> done,
                                      Deadline deadline) {
  call<JobInstancePage>(codec_.get_job_instance_list(request), true, deadline,
                        &JobCodec::decode_job_list, std::move(done));
}

void JobClient::operate_step_instance(const OperateStepRequest& request, Callback<StepRef> done,
                                      Deadline deadline) {
  call<StepRef>(codec_.operate_step_instance(request), false, deadline,
                &JobCodec::decode_operate_step, std::move(done));
}

void JobClient::probe(Callback<int> done, Deadline deadline) {
  call<int>(codec_.probe(), false, deadline, &JobCodec::decode_probe, std::move(done));
}

}  // namespace jobgw::core
