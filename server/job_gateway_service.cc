#include "server/job_gateway_service.h"

#include <spdlog/spdlog.h>

#include <memory>
#include <stdexcept>
#include <utility>

#include "core/submit/request_fingerprint.h"
#include "server/grpc_call.h"
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
      authorizer_(required(options_.authorizer)) {}

CallServices JobGatewayService::services() {
  return CallServices{admission_,     authorizer_, options_.caller_limits,
                      options_.audit, metrics_,    in_flight_};
}

template <typename Domain>
void JobGatewayService::submit(
    grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor, CallSpec spec,
    core::Operation operation, const std::string& requested_operator,
    std::function<core::Result<Domain>()> validate,
    std::function<void(const Domain&, core::IdempotentSubmitter::SendDone, core::Deadline)> send,
    v1::JobRef* response) {
  auto call = unary_call(services(), std::move(spec), context, reactor);
  auto validated = call->begin(presented_by(*context), validate, operation, requested_operator,
                               /*submit=*/true);
  if (!validated) return;
  auto request = std::make_shared<Domain>(std::move(*validated));
  request->callback_url =
      options_.callback_url_for_submit ? options_.callback_url_for_submit() : options_.callback_url;
  const core::Deadline deadline = deadline_of(*context, options_.job_call_timeout);
  const core::Scope scope = request->scope;
  auto done = [this, call, scope, response](core::Result<core::JobRef> result,
                                            core::SubmitSource source) {
    submitted(call, scope, std::move(result), source, response);
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

void JobGatewayService::submitted(const std::shared_ptr<Call>& call, const core::Scope& scope,
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
    hub_.watch(scope, ref.job_instance_id);
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

grpc::ServerUnaryReactor* JobGatewayService::ExecuteScript(grpc::CallbackServerContext* context,
                                                           const v1::ExecuteScriptRequest* request,
                                                           v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallSpec spec = call_spec("ExecuteScript", request->scope(), 0);
  spec.request_id = request->request_id();
  spec.audit = audit_record(spec, target_count(*request), request->script_content());
  submit<core::ExecuteScriptRequest>(
      context, reactor, std::move(spec), core::Operation::kExecute, request->operator_(),
      [this, request]() -> core::Result<core::ExecuteScriptRequest> {
        auto validated = to_execute_script(*request, limits_);
        if (!validated) return validated;
        if (auto bad = check_request_id(request->request_id())) return *bad;
        return validated;
      },
      [this](const core::ExecuteScriptRequest& r, core::IdempotentSubmitter::SendDone done,
             core::Deadline deadline) { job_.execute_script(r, std::move(done), deadline); },
      response);
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TransferFile(grpc::CallbackServerContext* context,
                                                          const v1::TransferFileRequest* request,
                                                          v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallSpec spec = call_spec("TransferFile", request->scope(), 0);
  spec.request_id = request->request_id();
  spec.audit = audit_record(spec, target_count(*request), {});
  submit<core::TransferFileRequest>(
      context, reactor, std::move(spec), core::Operation::kTransfer, request->operator_(),
      [this, request]() -> core::Result<core::TransferFileRequest> {
        auto validated = to_transfer_file(*request, limits_);
        if (!validated) return validated;
        if (auto bad = check_request_id(request->request_id())) return *bad;
        return validated;
      },
      [this](const core::TransferFileRequest& r, core::IdempotentSubmitter::SendDone done,
             core::Deadline deadline) { job_.transfer_file(r, std::move(done), deadline); },
      response);
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetJobStatus(grpc::CallbackServerContext* context,
                                                          const v1::GetJobStatusRequest* request,
                                                          v1::JobSnapshot* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  auto call = unary_call(services(),
                         call_spec("GetJobStatus", request->scope(), request->job_instance_id()),
                         context, reactor);
  auto domain = call->begin(
      presented_by(*context), [request] { return to_job_status(*request); }, core::Operation::kRead,
      request->operator_());
  if (!domain) return reactor;
  if (auto cached =
          hub_.cached(domain->scope, domain->job_instance_id, options_.status_fresh_for)) {
    to_proto(*cached, response);
    call->finish_ok();
    return reactor;
  }
  job_.get_job_instance_status(
      *domain,
      [call, response](core::Result<core::JobSnapshot> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        to_proto(result.value(), response);
        call->finish_ok();
      },
      deadline_of(*context, options_.job_call_timeout));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TerminateJob(grpc::CallbackServerContext* context,
                                                          const v1::TerminateJobRequest* request,
                                                          v1::TerminateJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  CallSpec spec = call_spec("TerminateJob", request->scope(), request->job_instance_id());
  spec.audit = audit_record(spec, 0, {});
  auto call = unary_call(services(), std::move(spec), context, reactor);
  auto domain = call->begin(
      presented_by(*context), [request] { return to_terminate(*request); },
      core::Operation::kTerminate, request->operator_());
  if (!domain) return reactor;
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
      deadline_of(*context, options_.job_call_timeout));
  return reactor;
}

}  // namespace jobgw::server
