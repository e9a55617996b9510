#include "server/job_gateway_service.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "core/submit/request_fingerprint.h"
#include "server/grpc_call.h"
#include "server/job_listing.h"
#include "server/proto_mapping.h"
#include "server/service_calls.h"

// The unary calls but GetIpLogs (ip_logs_rpc.cc); WatchStatus is in watch_reactor.cc.
namespace jobgw::server {
namespace {

const Authorizer& required(const Authorizer* authorizer) {
  if (authorizer == nullptr) {
    throw std::invalid_argument("JobGatewayService needs an Authorizer (ServiceOptions)");
  }
  return *authorizer;
}

}  // namespace

std::string scope_label(const v1::Scope& scope) {
  return (scope.type().empty() ? std::string("biz") : scope.type()) + ":" + scope.id();
}

CallSpec call_spec(const char* method, const v1::Scope& scope, std::int64_t job_instance_id) {
  CallSpec spec;
  spec.method = method;
  spec.scope = scope_label(scope);
  spec.job_instance_id = job_instance_id;
  return spec;
}

core::AuditRecord audit_record(const CallSpec& spec, std::size_t targets,
                               const std::string& script_content) {
  core::AuditRecord r;
  r.rpc = spec.method;
  r.scope = spec.scope;
  r.request_id = spec.request_id;
  r.target_count = targets;
  if (!script_content.empty()) r.script_sha256 = core::sha256_hex(script_content);
  return r;
}

JobGatewayService::JobGatewayService(core::JobClient& job, core::WatchHub& hub,
                                     ServerMetrics* metrics, ServiceOptions options,
                                     core::IdempotentSubmitter* submitter)
    : job_(job),
      hub_(hub),
      metrics_(metrics),
      submitter_(submitter),
      options_(std::move(options)),
      limits_{options_.validation},
      admission_(options_.admission, metrics),
      authorizer_(required(options_.authorizer)),
      plans_(job, options_.plan_cache_ttl) {}

CallServices JobGatewayService::services() {
  CallServices services{admission_,     authorizer_, options_.caller_limits,
                        options_.audit, metrics_,    in_flight_};
  services.refusal_log = options_.refusal_log;
  return services;
}

template <typename Domain>
void JobGatewayService::submit(const CallInput& input, CallSpec spec, Call::Respond respond,
                               core::Operation operation, const std::string& requested_operator,
                               std::function<core::Result<Domain>()> validate,
                               SubmitSend<Domain> send, v1::JobRef* response) {
  auto call = std::make_shared<Call>(services(), std::move(spec), std::move(respond));
  auto validated =
      call->begin(input.presented, validate, operation, requested_operator, /*submit=*/true);
  if (!validated) return;
  submit_validated<Domain>(call, std::make_shared<Domain>(std::move(*validated)),
                           input.job_deadline(options_.job_call_timeout), std::move(send),
                           response);
}

template <typename Domain>
void JobGatewayService::submit_validated(const std::shared_ptr<Call>& call,
                                         std::shared_ptr<Domain> request, core::Deadline deadline,
                                         SubmitSend<Domain> send, v1::JobRef* response) {
  request->callback_url =
      options_.callback_url_for_submit ? options_.callback_url_for_submit() : options_.callback_url;
  const core::Scope scope = request->scope;
  auto done = [this, call, scope, job_operator = request->operator_name, response](
                  core::Result<core::JobRef> result, core::SubmitSource source) {
    submitted(call, scope, job_operator, std::move(result), source, response);
  };
  // Submits are never retried here: a lost answer could mean a job that runs twice.
  core::IdempotentSubmitter::Send to_job = [request, deadline,
                                            send](core::IdempotentSubmitter::SendDone sent) {
    send(*request, std::move(sent), deadline);
  };
  if (submitter_ == nullptr) {
    to_job([done](core::Result<core::JobRef> result) {
      done(std::move(result), core::SubmitSource::kJob);
    });
    return;
  }
  std::optional<core::IdempotencyKey> key;
  if (!call->spec().request_id.empty()) {
    key = core::IdempotencyKey{call->caller(), call->spec().scope, call->spec().request_id};
  }
  submitter_->submit(scope, key, core::fingerprint(*request), std::move(to_job), std::move(done));
}

template void JobGatewayService::submit_validated<core::ExecutePlanRequest>(
    const std::shared_ptr<Call>& call, std::shared_ptr<core::ExecutePlanRequest> request,
    core::Deadline deadline, SubmitSend<core::ExecutePlanRequest> send, v1::JobRef* response);

void JobGatewayService::submitted(const std::shared_ptr<Call>& call, const core::Scope& scope,
                                  const std::string& job_operator,
                                  core::Result<core::JobRef> result, core::SubmitSource source,
                                  v1::JobRef* response) {
  const bool keyed = submitter_ != nullptr && !call->spec().request_id.empty();
  if (!result) {
    if (keyed && metrics_ != nullptr && result.error().kind == core::ErrorKind::kConflict) {
      metrics_->idempotent_submit("conflict");
    }
    call->fail(result.error());
    return;
  }
  const core::JobRef& ref = result.value();
  std::string detail = "step_instance_id=" + std::to_string(ref.step_instance_id);
  if (source == core::SubmitSource::kJob) {
    // Start polling before answering, so the status is on its way before anyone watches. A
    // replayed or joined answer names a job the first submit already handed to the hub.
    if (options_.catalog != nullptr) {
      options_.catalog->submitted(
          scope, ref.job_instance_id,
          SubmitRecord{call->caller(), job_.codec().operator_of(job_operator),
                       ref.job_instance_name});
    }
    hub_.watch(scope, ref.job_instance_id, callback_wired());
    if (keyed && metrics_ != nullptr) metrics_->idempotent_submit("submitted");
  } else {
    const bool remembered = source == core::SubmitSource::kRemembered;
    if (metrics_ != nullptr) metrics_->idempotent_submit(remembered ? "replayed" : "joined");
    detail += remembered ? " idempotent=replayed" : " idempotent=joined";
  }
  to_proto(ref, response);
  call->set_job_instance_id(ref.job_instance_id);
  call->finish_ok(detail);
}

void JobGatewayService::execute_script(const CallInput& input,
                                       const v1::ExecuteScriptRequest& request,
                                       v1::JobRef* response, Call::Respond respond) {
  CallSpec spec = call_spec("ExecuteScript", request.scope(), 0);
  spec.request_id = request.request_id();
  spec.audit = audit_record(spec, target_count(request), request.script_content());
  submit<core::ExecuteScriptRequest>(
      input, std::move(spec), std::move(respond), core::Operation::kExecute, request.operator_(),
      [this, &request]() -> core::Result<core::ExecuteScriptRequest> {
        auto validated = to_execute_script(request, limits_);
        if (!validated) return validated;
        if (auto bad = check_request_id(request.request_id())) return *bad;
        return validated;
      },
      [this](const core::ExecuteScriptRequest& r, core::IdempotentSubmitter::SendDone done,
             core::Deadline deadline) { job_.execute_script(r, std::move(done), deadline); },
      response);
}

void JobGatewayService::transfer_file(const CallInput& input,
                                      const v1::TransferFileRequest& request, v1::JobRef* response,
                                      Call::Respond respond) {
  CallSpec spec = call_spec("TransferFile", request.scope(), 0);
  spec.request_id = request.request_id();
  spec.audit = audit_record(spec, target_count(request), {});
  submit<core::TransferFileRequest>(
      input, std::move(spec), std::move(respond), core::Operation::kTransfer, request.operator_(),
      [this, &request]() -> core::Result<core::TransferFileRequest> {
        auto validated = to_transfer_file(request, limits_);
        if (!validated) return validated;
        if (auto bad = check_request_id(request.request_id())) return *bad;
        return validated;
      },
      [this](const core::TransferFileRequest& r, core::IdempotentSubmitter::SendDone done,
             core::Deadline deadline) { job_.transfer_file(r, std::move(done), deadline); },
      response);
}

void JobGatewayService::get_job_status(const CallInput& input,
                                       const v1::GetJobStatusRequest& request,
                                       v1::JobSnapshot* response, Call::Respond respond) {
  auto call = std::make_shared<Call>(
      services(), call_spec("GetJobStatus", request.scope(), request.job_instance_id()),
      std::move(respond));
  auto domain = call->begin(
      input.presented, [&request] { return to_job_status(request); }, core::Operation::kRead,
      request.operator_());
  if (!domain) return;
  if (auto cached =
          hub_.cached(domain->scope, domain->job_instance_id, options_.status_fresh_for)) {
    to_proto(*cached, response);
    call->finish_ok();
    return;
  }
  job_.get_job_instance_status(
      *domain,
      [this, call, response, scope = domain->scope,
       job = domain->job_instance_id](core::Result<core::JobSnapshot> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        // Before answering: a later call served by the hub must not say running again.
        hub_.offer_finished(scope, job, result.value());
        to_proto(result.value(), response);
        call->finish_ok();
      },
      input.job_deadline(options_.job_call_timeout));
}

void JobGatewayService::terminate_job(const CallInput& input,
                                      const v1::TerminateJobRequest& request,
                                      v1::TerminateJobResponse* response, Call::Respond respond) {
  CallSpec spec = call_spec("TerminateJob", request.scope(), request.job_instance_id());
  spec.audit = audit_record(spec, 0, {});
  auto call = std::make_shared<Call>(services(), std::move(spec), std::move(respond));
  auto domain = call->begin(
      input.presented, [&request] { return to_terminate(request); }, core::Operation::kTerminate,
      request.operator_());
  if (!domain) return;
  const std::int64_t job_instance_id = domain->job_instance_id;
  job_.operate_job_instance(
      *domain,
      [this, call, response, job_instance_id](core::Result<std::int64_t> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        // JOB echoes the id; fall back to the request's should an answer leave it out.
        response->set_job_instance_id(result.value() != 0 ? result.value() : job_instance_id);
        // Read the job now rather than at the poller's (possibly backed-off) next tick, so
        // watchers see TERMINATING/TERMINATED promptly.
        hub_.poke(job_instance_id);
        call->finish_ok("terminate requested");
      },
      input.job_deadline(options_.job_call_timeout));
}

void JobGatewayService::list_jobs(const CallInput& input, const v1::ListJobsRequest& request,
                                  v1::ListJobsResponse* response, Call::Respond respond) {
  CallSpec spec = call_spec("ListJobs", request.scope(), 0);
  spec.any_scope = true;
  auto call = std::make_shared<Call>(services(), std::move(spec), std::move(respond));
  auto query = call->begin(input.presented, [&request] { return to_list_jobs(request); },
                           core::Operation::kRead, {});
  if (!query) return;
  if (options_.catalog == nullptr) {
    call->finish(CallStatus(StatusCode::kUnimplemented, "ListJobs is not served by this jobgw"));
    return;
  }
  options_.catalog->list(
      [call, response, query = std::move(*query)](core::Result<std::vector<CatalogEntry>> entries) {
        if (!entries) {
          // The catalog's own trouble (Redis), not JOB's.
          call->finish(CallStatus(StatusCode::kUnavailable, entries.error().message),
                       entries.error().describe());
          return;
        }
        auto page = list_page(std::move(entries.value()), query,
                              [&call](const core::Scope& scope) { return call->may_read(scope); });
        if (!page) {
          call->fail(page.error());
          return;
        }
        *response = std::move(page.value());
        call->finish_ok();
      });
}

// The gRPC face: each override hands its call to the transport-neutral method.

grpc::ServerUnaryReactor* JobGatewayService::ExecuteScript(grpc::CallbackServerContext* context,
                                                           const v1::ExecuteScriptRequest* request,
                                                           v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  execute_script(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TransferFile(grpc::CallbackServerContext* context,
                                                          const v1::TransferFileRequest* request,
                                                          v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  transfer_file(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetJobStatus(grpc::CallbackServerContext* context,
                                                          const v1::GetJobStatusRequest* request,
                                                          v1::JobSnapshot* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  get_job_status(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetIpLogs(grpc::CallbackServerContext* context,
                                                       const v1::GetIpLogsRequest* request,
                                                       v1::GetIpLogsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  get_ip_logs(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TerminateJob(grpc::CallbackServerContext* context,
                                                          const v1::TerminateJobRequest* request,
                                                          v1::TerminateJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  terminate_job(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::ListJobs(grpc::CallbackServerContext* context,
                                                      const v1::ListJobsRequest* request,
                                                      v1::ListJobsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  list_jobs(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

}  // namespace jobgw::server
