#include "server/job_gateway_service.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "api/status_names.h"
#include "core/request_fingerprint.h"
#include "server/ip_log_hosts.h"
#include "server/ip_log_pages.h"
#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string scope_label(const v1::Scope& scope) {
  return (scope.type().empty() ? std::string("biz") : scope.type()) + ":" + scope.id();
}

// The parts of a mutating call's audit line known before it runs.
core::AuditRecord audit_record(const std::string& rpc, const std::string& scope,
                               const std::string& request_id, std::size_t targets,
                               const std::string& script_content) {
  core::AuditRecord r;
  r.rpc = rpc;
  r.scope = scope;
  r.request_id = request_id;
  r.target_count = targets;
  if (!script_content.empty()) r.script_sha256 = core::sha256_hex(script_content);
  return r;
}

// Client mistakes and expected outcomes are warnings; only jobgw's or JOB's own faults are errors.
spdlog::level::level_enum level_for(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::CANCELLED:
      return spdlog::level::info;
    case grpc::StatusCode::INTERNAL:
    case grpc::StatusCode::UNKNOWN:
    case grpc::StatusCode::DATA_LOSS:
      return spdlog::level::err;
    default:
      return spdlog::level::warn;
  }
}

}  // namespace

core::Deadline job_deadline(std::chrono::system_clock::time_point grpc_deadline,
                            std::chrono::milliseconds cap,
                            std::chrono::system_clock::time_point now_system,
                            std::chrono::steady_clock::time_point now_steady) {
  const auto capped = now_steady + cap;
  if (grpc_deadline == std::chrono::system_clock::time_point::max()) return capped;
  if (grpc_deadline <= now_system) return now_steady;
  const auto remaining = grpc_deadline - now_system;
  if (remaining >= cap) return capped;
  return now_steady + std::chrono::duration_cast<Clock::duration>(remaining);
}

std::optional<grpc::Status> complete_ip_logs_request(const core::JobSnapshot& job,
                                                     IpLogsPlan* plan) {
  core::IpLogsRequest& request = plan->request;
  const core::StepSnapshot* step = nullptr;
  if (request.step_instance_id == 0) {
    if (job.steps.empty()) {
      return grpc::Status(
          grpc::StatusCode::NOT_FOUND,
          "step_instance_id: job " + std::to_string(request.job_instance_id) + " has no steps yet");
    }
    step = &job.steps.front();
    request.step_instance_id = step->step_instance_id;
  } else {
    auto it = std::find_if(job.steps.begin(), job.steps.end(), [&](const core::StepSnapshot& s) {
      return s.step_instance_id == request.step_instance_id;
    });
    if (it == job.steps.end()) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          "step_instance_id: step " + std::to_string(request.step_instance_id) +
                              " is not a step of job " + std::to_string(request.job_instance_id));
    }
    step = &*it;
  }
  plan->step_type = step->type;
  plan->step = *step;
  if (!request.host_ids.empty() || !request.hosts.empty()) return std::nullopt;

  // JOB ignores ip_list whenever host_id_list is present, so mixing the two would silently lose
  // the hosts named by IP: use ids only when every host has one.
  const bool all_have_ids =
      std::all_of(step->hosts.begin(), step->hosts.end(),
                  [](const core::HostResult& h) { return h.host.host_id > 0; });
  for (const auto& result : step->hosts) {
    if (all_have_ids) {
      request.host_ids.push_back(result.host.host_id);
    } else if (core::ip_family(result.host.ip) == core::IpFamily::kV4) {
      core::Host host;
      host.cloud_id = result.host.cloud_id;
      host.ip = result.host.ip;
      request.hosts.push_back(std::move(host));
    } else if (result.host.host_id > 0) {
      request.host_ids.push_back(result.host.host_id);
    }
  }
  return std::nullopt;
}

std::vector<core::Host> ip_logs_hosts(const core::IpLogsRequest& request) {
  std::vector<core::Host> hosts;
  hosts.reserve(request.host_ids.size() + request.hosts.size());
  for (std::int64_t id : request.host_ids) {
    core::Host host;
    host.host_id = id;
    hosts.push_back(std::move(host));
  }
  hosts.insert(hosts.end(), request.hosts.begin(), request.hosts.end());
  return hosts;
}

// ---------------------------------------------------------------------------------------------
// WatchStatus
// ---------------------------------------------------------------------------------------------

// One WatchStatus stream: pulls one item at a time from its Subscription (next -> StartWrite ->
// OnWriteDone -> next), so a slow caller only ever fills its own bounded hub queue.
//
// Lifetime: the hub's `ready` callback may run on a hub thread at any time, even after OnCancel
// or OnDone, so it never holds the reactor: it holds `Shared`, and touches the reactor only under
// Shared::mu while `finishing` is false. Finish is called only under that mutex after setting
// `finishing`, and gRPC calls OnDone (which deletes the reactor) only after Finish, so a `ready`
// that sees finishing == false under the lock is looking at a live reactor.
class JobGatewayService::WatchReactor final : public grpc::ServerWriteReactor<v1::StatusEvent> {
 public:
  WatchReactor(JobGatewayService* service, grpc::CallbackServerContext* context,
               const v1::WatchStatusRequest* request)
      : service_(service), context_(context), shared_(std::make_shared<Shared>()) {
    shared_->self = this;
    info_ = service_->rpc_info("WatchStatus", request->scope(), request->job_instance_id());
    if (!service_->admission_.admit(Admission::Kind::kStream)) {
      const std::string why = service_->admission_.refusal(Admission::Kind::kStream);
      std::lock_guard<std::mutex> lock(shared_->mu);
      finish_locked(MappedStatus{grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why), {}}, why);
      return;
    }
    info_.slot = Admission::Kind::kStream;
    const Identity identity = service_->authorizer_.authenticate(presented_by(*context));
    info_.caller = identity.name();
    if (!identity.ok()) {
      refuse(identity.status, identity.reason);
      return;
    }
    auto target = to_watch(*request);
    if (!target) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      finish_locked(map_error(target.error()), target.error().describe());
      return;
    }
    const Decision decision =
        service_->authorizer_.authorize(identity, target->scope, core::Operation::kRead, {});
    if (!decision.ok()) {
      refuse(decision.status, decision.reason);
      return;
    }
    if (core::CallerLimits* limits = service_->options_.caller_limits) {
      if (!limits->open_stream(info_.caller)) {
        if (service_->metrics_ != nullptr) service_->metrics_->caller_limit_rejected("streams");
        const std::string why = "caller " + info_.caller + " has " +
                                std::to_string(limits->config().max_streams) +
                                " WatchStatus streams open (limits.caller_max_streams); retry "
                                "after closing one";
        std::lock_guard<std::mutex> lock(shared_->mu);
        finish_locked(MappedStatus{grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why), {}},
                      why);
        return;
      }
      caller_stream_ = true;
    }
    subscription_ =
        service_->hub_.subscribe(target->scope, target->job_instance_id, target->after_seq);
    if (subscription_ == nullptr) {
      std::lock_guard<std::mutex> lock(shared_->mu);
      finish_locked(MappedStatus{grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                              "jobgw is shutting down; reconnect with after_seq"),
                                 {}},
                    "no subscription");
      return;
    }
    pull();
  }

  void OnWriteDone(bool ok) override {
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      write_in_flight_ = false;
      if (pending_finish_) {
        Finish(*pending_finish_);
        pending_finish_.reset();
        return;
      }
      if (shared_->finishing) return;
      if (!ok) {
        // The stream broke under the write: the caller is gone. OnCancel usually comes too;
        // whichever is first finishes.
        finish_locked(
            MappedStatus{
                grpc::Status(grpc::StatusCode::CANCELLED, "the stream broke while writing"), {}},
            "write failed");
        return;
      }
    }
    pull();
  }

  void OnCancel() override {
    // Cancel first, outside our lock: the hub drops the pending `ready`, and one already running
    // will find `finishing` set (or win the lock first and write; that write then fails).
    if (subscription_ != nullptr) subscription_->cancel();
    std::lock_guard<std::mutex> lock(shared_->mu);
    finish_locked(
        MappedStatus{grpc::Status(grpc::StatusCode::CANCELLED, "the caller cancelled the stream"),
                     {}},
        "cancelled by the caller");
  }

  void OnDone() override {
    // Frees the hub's queue for this subscriber now (a no-op when already cancelled or ended).
    if (subscription_ != nullptr) subscription_->cancel();
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      shared_->self = nullptr;
    }
    delete this;
  }

 private:
  struct Shared {
    std::mutex mu;
    WatchReactor* self = nullptr;
    bool finishing = false;
  };

  // Called without shared_->mu held: the hub may run `ready` inline.
  void pull() {
    std::shared_ptr<Shared> shared = shared_;
    subscription_->next([shared](core::WatchItem item) {
      std::lock_guard<std::mutex> lock(shared->mu);
      if (shared->self == nullptr || shared->finishing) return;
      shared->self->on_item(std::move(item));
    });
  }

  // Called with shared_->mu held, while the reactor is live and not finishing.
  void on_item(core::WatchItem item) {
    if (item.is_end()) {
      if (item.error) {
        finish_locked(map_stream_end(*item.error), item.error->describe());
      } else {
        finish_locked(MappedStatus{grpc::Status::OK, {}}, {});
      }
      return;
    }
    to_proto(*item.event, &out_);
    write_in_flight_ = true;
    StartWrite(&out_);
  }

  void refuse(const grpc::Status& status, const std::string& reason) {
    if (service_->metrics_ != nullptr) service_->metrics_->auth_refused(reason);
    std::lock_guard<std::mutex> lock(shared_->mu);
    finish_locked(MappedStatus{status, {}}, "reason=" + reason + " " + status.error_message());
  }

  // Exactly once: records the metric, logs a failure, adds trailers and finishes now, or after
  // the write in flight completes (a Finish never overlaps a write).
  void finish_locked(const MappedStatus& mapped, const std::string& detail) {
    if (shared_->finishing) return;
    shared_->finishing = true;
    if (caller_stream_) service_->options_.caller_limits->close_stream(info_.caller);
    const grpc::StatusCode code = mapped.status.error_code();
    service_->record(info_, code);
    if (code != grpc::StatusCode::OK) {
      service_->log_failure(info_, code, detail.empty() ? mapped.status.error_message() : detail);
    }
    add_trailers(mapped, context_);
    if (write_in_flight_) {
      pending_finish_ = mapped.status;
    } else {
      Finish(mapped.status);
    }
  }

  JobGatewayService* service_;
  grpc::CallbackServerContext* context_;
  std::shared_ptr<Shared> shared_;
  RpcInfo info_;
  std::shared_ptr<core::Subscription> subscription_;
  // Guarded by shared_->mu.
  v1::StatusEvent out_;
  bool write_in_flight_ = false;
  std::optional<grpc::Status> pending_finish_;
  // Whether this stream holds one of its caller's limits.caller_max_streams slots.
  bool caller_stream_ = false;
};

// ---------------------------------------------------------------------------------------------
// The service
// ---------------------------------------------------------------------------------------------

namespace {

const Authorizer& required(const Authorizer* authorizer) {
  if (authorizer == nullptr) {
    throw std::invalid_argument("JobGatewayService needs an Authorizer (ServiceOptions)");
  }
  return *authorizer;
}

}  // namespace

JobGatewayService::JobGatewayService(core::JobClient& job, core::WatchHub& hub,
                                     ServerMetrics* metrics, ServiceOptions options,
                                     core::IdempotentSubmitter* submitter)
    : job_(job),
      hub_(hub),
      metrics_(metrics),
      submitter_(submitter),
      options_(std::move(options)),
      limits_{options_.max_script_bytes, options_.max_param_bytes, options_.max_targets},
      admission_(options_.admission, metrics),
      authorizer_(required(options_.authorizer)) {}

JobGatewayService::RpcInfo JobGatewayService::rpc_info(const char* method, const v1::Scope& scope,
                                                       std::int64_t job_instance_id,
                                                       const std::string& caller_request_id) const {
  RpcInfo info;
  info.method = method;
  info.scope = scope_label(scope);
  info.job_instance_id = job_instance_id;
  info.caller_request_id = caller_request_id;
  info.start = Clock::now();
  in_flight_++;
  return info;
}

core::Deadline JobGatewayService::deadline_for(const grpc::CallbackServerContext* context) const {
  return job_deadline(context->deadline(), options_.job_call_timeout,
                      std::chrono::system_clock::now(), Clock::now());
}

bool JobGatewayService::admit(grpc::CallbackServerContext* context,
                              grpc::ServerUnaryReactor* reactor, RpcInfo* info) {
  if (admission_.admit(Admission::Kind::kJobCall)) {
    info->slot = Admission::Kind::kJobCall;
    return true;
  }
  const std::string why = admission_.refusal(Admission::Kind::kJobCall);
  finish_status(context, reactor, *info,
                MappedStatus{grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why), {}}, why);
  return false;
}

void JobGatewayService::record(const RpcInfo& info, grpc::StatusCode code) {
  if (info.slot) admission_.release(*info.slot);
  in_flight_--;
  if (metrics_ != nullptr) {
    metrics_->rpc_finished(info.method, api::grpc_code_name(code), seconds_since(info.start));
  }
}

void JobGatewayService::log_failure(const RpcInfo& info, grpc::StatusCode code,
                                    const std::string& detail) {
  // Never the request body: script content, parameters and credentials stay out of logs.
  spdlog::log(level_for(code), "rpc={} caller={} scope={} job_instance_id={}{}{} code={} {}",
              info.method, info.caller.empty() ? "-" : info.caller, info.scope,
              info.job_instance_id,
              info.caller_request_id.empty() ? "" : " request_id=", info.caller_request_id,
              api::grpc_code_name(code), detail);
}

void JobGatewayService::write_audit(const RpcInfo& info, grpc::StatusCode code,
                                    const std::string& reason) {
  if (!info.audit || options_.audit == nullptr) return;
  core::AuditRecord record = *info.audit;
  record.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  record.caller = info.caller.empty() ? Authorizer::kUnauthenticated : info.caller;
  record.job_instance_id = info.job_instance_id;
  record.code = api::grpc_code_name(code);
  // Short: the first line, at most 300 bytes; the full story is in the main log.
  constexpr std::size_t kMaxReason = 300;
  record.reason = reason.substr(0, std::min(reason.find('\n'), kMaxReason));
  options_.audit->write(record);
}

void JobGatewayService::finish_ok(grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                  const std::string& detail) {
  record(info, grpc::StatusCode::OK);
  write_audit(info, grpc::StatusCode::OK, {});
  if (!detail.empty()) {
    spdlog::info("rpc={} caller={} scope={} job_instance_id={}{}{} code=OK {}", info.method,
                 info.caller, info.scope, info.job_instance_id,
                 info.caller_request_id.empty() ? "" : " request_id=", info.caller_request_id,
                 detail);
  }
  reactor->Finish(grpc::Status::OK);
}

void JobGatewayService::finish_error(grpc::CallbackServerContext* context,
                                     grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                     const core::Error& error) {
  finish_status(context, reactor, info, map_error(error), error.describe());
}

void JobGatewayService::finish_status(grpc::CallbackServerContext* context,
                                      grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                      const MappedStatus& mapped, const std::string& detail) {
  const grpc::StatusCode code = mapped.status.error_code();
  record(info, code);
  write_audit(info, code, mapped.status.error_message());
  log_failure(info, code, detail);
  add_trailers(mapped, context);
  reactor->Finish(mapped.status);
}

void JobGatewayService::refuse_auth(grpc::CallbackServerContext* context,
                                    grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                    const grpc::Status& status, const std::string& reason) {
  if (metrics_ != nullptr) metrics_->auth_refused(reason);
  finish_status(context, reactor, info, MappedStatus{status, {}},
                "reason=" + reason + " " + status.error_message());
}

bool JobGatewayService::authenticate(grpc::CallbackServerContext* context,
                                     grpc::ServerUnaryReactor* reactor, RpcInfo* info,
                                     Identity* identity) {
  *identity = authorizer_.authenticate(presented_by(*context));
  info->caller = identity->name();
  if (identity->ok()) return true;
  refuse_auth(context, reactor, *info, identity->status, identity->reason);
  return false;
}

bool JobGatewayService::authorize(grpc::CallbackServerContext* context,
                                  grpc::ServerUnaryReactor* reactor, RpcInfo* info,
                                  const Identity& identity, const core::Scope& scope,
                                  core::Operation op, const std::string& requested_operator,
                                  std::string* job_operator) {
  if (info->audit) {
    info->audit->job_operator =
        requested_operator.empty() ? identity.caller->job_operator : requested_operator;
  }
  Decision decision = authorizer_.authorize(identity, scope, op, requested_operator);
  if (!decision.ok()) {
    refuse_auth(context, reactor, *info, decision.status, decision.reason);
    return false;
  }
  *job_operator = decision.job_operator;
  if (info->audit) info->audit->job_operator = decision.job_operator;
  return true;
}

bool JobGatewayService::within_submit_rate(grpc::CallbackServerContext* context,
                                           grpc::ServerUnaryReactor* reactor, const RpcInfo& info) {
  if (options_.caller_limits == nullptr) return true;
  auto wait = options_.caller_limits->take_submit(info.caller);
  if (!wait) return true;
  if (metrics_ != nullptr) metrics_->caller_limit_rejected("submit_rate");
  const auto& limits = options_.caller_limits->config();
  std::ostringstream rate;
  rate << limits.submits_per_second;
  const std::string why = "caller " + info.caller + " is over limits.caller_submits_per_second (" +
                          rate.str() + "/s); retry in " + std::to_string(wait->count()) + " ms";
  context->AddTrailingMetadata("retry-after-ms", std::to_string(wait->count()));
  finish_status(context, reactor, info,
                MappedStatus{grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, why), {}}, why);
  return false;
}

void JobGatewayService::submit(grpc::CallbackServerContext* context,
                               grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                               const core::Scope& scope, const std::string& fingerprint,
                               core::IdempotentSubmitter::Send send, v1::JobRef* response) {
  auto done = [this, context, reactor, info, scope, response](core::Result<core::JobRef> result,
                                                              core::SubmitSource source) {
    submitted(context, reactor, info, scope, std::move(result), source, response);
  };
  if (submitter_ == nullptr) {
    send([done](core::Result<core::JobRef> result) {
      done(std::move(result), core::SubmitSource::kJob);
    });
    return;
  }
  std::optional<core::IdempotencyKey> key;
  if (!info.caller_request_id.empty()) {
    key = core::IdempotencyKey{info.caller, info.scope, info.caller_request_id};
  }
  submitter_->submit(scope, key, fingerprint, std::move(send), std::move(done));
}

void JobGatewayService::submitted(grpc::CallbackServerContext* context,
                                  grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                  const core::Scope& scope, core::Result<core::JobRef> result,
                                  core::SubmitSource source, v1::JobRef* response) {
  const bool keyed = submitter_ != nullptr && !info.caller_request_id.empty();
  if (!result) {
    if (keyed && metrics_ != nullptr && result.error().kind == core::ErrorKind::kConflict) {
      metrics_->idempotent_submit("conflict");
    }
    finish_error(context, reactor, info, result.error());
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
  RpcInfo done = info;
  done.job_instance_id = ref.job_instance_id;
  finish_ok(reactor, done, detail);
}

grpc::ServerUnaryReactor* JobGatewayService::ExecuteScript(grpc::CallbackServerContext* context,
                                                           const v1::ExecuteScriptRequest* request,
                                                           v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RpcInfo info = rpc_info("ExecuteScript", request->scope(), 0, request->request_id());
  info.audit = audit_record(info.method, info.scope, info.caller_request_id, target_count(*request),
                            request->script_content());
  Identity identity;
  if (!authenticate(context, reactor, &info, &identity)) return reactor;
  if (!admit(context, reactor, &info)) return reactor;
  auto validated = to_execute_script(*request, limits_);
  if (!validated) {
    finish_error(context, reactor, info, validated.error());
    return reactor;
  }
  if (auto bad = check_request_id(request->request_id())) {
    finish_error(context, reactor, info, *bad);
    return reactor;
  }
  auto domain = std::make_shared<core::ExecuteScriptRequest>(std::move(validated.value()));
  if (!authorize(context, reactor, &info, identity, domain->scope, core::Operation::kExecute,
                 request->operator_(), &domain->operator_name) ||
      !within_submit_rate(context, reactor, info)) {
    return reactor;
  }
  domain->callback_url =
      options_.callback_url_for_submit ? options_.callback_url_for_submit() : options_.callback_url;
  const core::Deadline deadline = deadline_for(context);
  // Submits are never retried here: a lost answer could mean a job that runs twice.
  submit(
      context, reactor, info, domain->scope, core::fingerprint(*domain),
      [this, domain, deadline](core::IdempotentSubmitter::SendDone done) {
        job_.execute_script(*domain, std::move(done), deadline);
      },
      response);
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TransferFile(grpc::CallbackServerContext* context,
                                                          const v1::TransferFileRequest* request,
                                                          v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RpcInfo info = rpc_info("TransferFile", request->scope(), 0, request->request_id());
  info.audit =
      audit_record(info.method, info.scope, info.caller_request_id, target_count(*request), {});
  Identity identity;
  if (!authenticate(context, reactor, &info, &identity)) return reactor;
  if (!admit(context, reactor, &info)) return reactor;
  auto validated = to_transfer_file(*request, limits_);
  if (!validated) {
    finish_error(context, reactor, info, validated.error());
    return reactor;
  }
  if (auto bad = check_request_id(request->request_id())) {
    finish_error(context, reactor, info, *bad);
    return reactor;
  }
  auto domain = std::make_shared<core::TransferFileRequest>(std::move(validated.value()));
  if (!authorize(context, reactor, &info, identity, domain->scope, core::Operation::kTransfer,
                 request->operator_(), &domain->operator_name) ||
      !within_submit_rate(context, reactor, info)) {
    return reactor;
  }
  domain->callback_url =
      options_.callback_url_for_submit ? options_.callback_url_for_submit() : options_.callback_url;
  const core::Deadline deadline = deadline_for(context);
  submit(
      context, reactor, info, domain->scope, core::fingerprint(*domain),
      [this, domain, deadline](core::IdempotentSubmitter::SendDone done) {
        job_.transfer_file(*domain, std::move(done), deadline);
      },
      response);
  return reactor;
}

grpc::ServerWriteReactor<v1::StatusEvent>* JobGatewayService::WatchStatus(
    grpc::CallbackServerContext* context, const v1::WatchStatusRequest* request) {
  return new WatchReactor(this, context, request);
}

grpc::ServerUnaryReactor* JobGatewayService::GetJobStatus(grpc::CallbackServerContext* context,
                                                          const v1::GetJobStatusRequest* request,
                                                          v1::JobSnapshot* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RpcInfo info = rpc_info("GetJobStatus", request->scope(), request->job_instance_id());
  Identity identity;
  if (!authenticate(context, reactor, &info, &identity)) return reactor;
  if (!admit(context, reactor, &info)) return reactor;
  auto validated = to_job_status(*request);
  if (!validated) {
    finish_error(context, reactor, info, validated.error());
    return reactor;
  }
  core::JobStatusRequest& domain = validated.value();
  if (!authorize(context, reactor, &info, identity, domain.scope, core::Operation::kRead,
                 request->operator_(), &domain.operator_name)) {
    return reactor;
  }
  if (auto cached = hub_.cached(domain.scope, domain.job_instance_id, options_.status_fresh_for)) {
    to_proto(*cached, response);
    finish_ok(reactor, info);
    return reactor;
  }
  job_.get_job_instance_status(
      domain,
      [this, context, reactor, info, response](core::Result<core::JobSnapshot> result) {
        if (!result) {
          finish_error(context, reactor, info, result.error());
          return;
        }
        to_proto(result.value(), response);
        finish_ok(reactor, info);
      },
      deadline_for(context));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::TerminateJob(grpc::CallbackServerContext* context,
                                                          const v1::TerminateJobRequest* request,
                                                          v1::TerminateJobResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RpcInfo info = rpc_info("TerminateJob", request->scope(), request->job_instance_id());
  info.audit = audit_record(info.method, info.scope, info.caller_request_id, 0, {});
  Identity identity;
  if (!authenticate(context, reactor, &info, &identity)) return reactor;
  if (!admit(context, reactor, &info)) return reactor;
  auto validated = to_terminate(*request);
  if (!validated) {
    finish_error(context, reactor, info, validated.error());
    return reactor;
  }
  if (!authorize(context, reactor, &info, identity, validated->scope, core::Operation::kTerminate,
                 request->operator_(), &validated->operator_name)) {
    return reactor;
  }
  const std::int64_t job_instance_id = validated->job_instance_id;
  job_.operate_job_instance(
      validated.value(),
      [this, context, reactor, info, response, job_instance_id](core::Result<std::int64_t> result) {
        if (!result) {
          finish_error(context, reactor, info, result.error());
          return;
        }
        // JOB echoes the id; fall back to the request's should an answer leave it out.
        response->set_job_instance_id(result.value() != 0 ? result.value() : job_instance_id);
        // Read the job now rather than at the poller's (possibly backed-off) next tick, so
        // watchers see TERMINATING/TERMINATED promptly.
        hub_.poke(job_instance_id);
        finish_ok(reactor, info, "terminate requested");
      },
      deadline_for(context));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetIpLogs(grpc::CallbackServerContext* context,
                                                       const v1::GetIpLogsRequest* request,
                                                       v1::GetIpLogsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  RpcInfo info = rpc_info("GetIpLogs", request->scope(), request->job_instance_id());
  Identity identity;
  if (!authenticate(context, reactor, &info, &identity)) return reactor;
  if (!admit(context, reactor, &info)) return reactor;
  auto validated = to_ip_logs(*request);
  if (!validated) {
    finish_error(context, reactor, info, validated.error());
    return reactor;
  }
  if (!authorize(context, reactor, &info, identity, validated->scope, core::Operation::kRead,
                 request->operator_(), &validated->operator_name)) {
    return reactor;
  }
  auto page_bytes = log_page_bytes(*request, options_.log_page_max_bytes);
  if (!page_bytes) {
    finish_error(context, reactor, info, page_bytes.error());
    return reactor;
  }
  IpLogsPlan plan;
  plan.request = std::move(validated.value());
  plan.page_token = request->page_token();
  plan.page_bytes = page_bytes.value();
  // One deadline for both JOB calls: the caller waits for the pair, not for each.
  const core::Deadline deadline = deadline_for(context);
  plan.named_hosts = !plan.request.host_ids.empty() || !plan.request.hosts.empty();
  if (plan.request.step_instance_id != 0 && plan.named_hosts) {
    fetch_ip_logs(context, reactor, info, std::move(plan), deadline, response);
    return reactor;
  }
  // The step's host list and the job's first step never change once JOB created the job, so a
  // cached snapshot is as good as a fresh one here; the freshness bound just keeps it simple.
  if (auto cached = hub_.cached(plan.request.scope, plan.request.job_instance_id,
                                options_.status_fresh_for)) {
    plan_ip_logs(context, reactor, info, std::move(plan), *cached, deadline, response);
    return reactor;
  }
  core::JobStatusRequest status;
  status.scope = plan.request.scope;
  status.job_instance_id = plan.request.job_instance_id;
  status.return_ip_result = true;
  status.operator_name = plan.request.operator_name;
  auto shared_plan = std::make_shared<IpLogsPlan>(std::move(plan));
  job_.get_job_instance_status(
      status,
      [this, context, reactor, info, shared_plan, deadline,
       response](core::Result<core::JobSnapshot> result) {
        if (!result) {
          finish_error(context, reactor, info, result.error());
          return;
        }
        plan_ip_logs(context, reactor, info, std::move(*shared_plan), result.value(), deadline,
                     response);
      },
      deadline);
  return reactor;
}

void JobGatewayService::plan_ip_logs(grpc::CallbackServerContext* context,
                                     grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                     IpLogsPlan plan, const core::JobSnapshot& job,
                                     core::Deadline deadline, v1::GetIpLogsResponse* response) {
  if (auto failed = complete_ip_logs_request(job, &plan)) {
    finish_status(context, reactor, info, MappedStatus{*failed, {}}, failed->error_message());
    return;
  }
  fetch_ip_logs(context, reactor, info, std::move(plan), deadline, response);
}

// One page: the host list is fixed by now, so the token can be checked against it, and JOB is
// asked only for the hosts this page may hold.
void JobGatewayService::fetch_ip_logs(grpc::CallbackServerContext* context,
                                      grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                      IpLogsPlan plan, core::Deadline deadline,
                                      v1::GetIpLogsResponse* response) {
  auto pager = core::LogPager::start(plan.request.scope, plan.request.job_instance_id,
                                     plan.request.step_instance_id, ip_logs_hosts(plan.request),
                                     plan.page_token, {options_.log_page_hosts, plan.page_bytes});
  if (!pager) {
    finish_error(context, reactor, info, pager.error());
    return;
  }
  if (pager->chunk().empty()) {
    // A step without hosts (yet) has no logs; asking JOB would only earn "host list empty".
    response->set_log_type(plan.step_type == core::kStepFile ? v1::LOG_TYPE_FILE
                                                             : v1::LOG_TYPE_SCRIPT);
    finish_ok(reactor, info);
    return;
  }
  // The plan keeps scope, job, step and operator for confirm_hosts; its host lists are done.
  core::IpLogsRequest page_request = plan.request;
  page_request.host_ids.clear();
  page_request.hosts = pager->chunk();
  plan.request.host_ids.clear();
  plan.request.hosts.clear();
  auto shared_pager = std::make_shared<core::LogPager>(std::move(pager.value()));
  auto shared_plan = std::make_shared<IpLogsPlan>(std::move(plan));
  job_.batch_get_job_instance_ip_log(
      page_request,
      [this, context, reactor, info, response, shared_pager, shared_plan,
       deadline](core::Result<core::IpLogs> result) {
        if (!result) {
          finish_error(context, reactor, info, result.error());
          return;
        }
        // JOB answers nothing for a host its step does not have; a named host without a log
        // is looked up in the step's status (usually every host has one: no status read).
        NamedHosts missing;
        if (shared_plan->named_hosts) missing = without_logs(shared_pager->chunk(), *result);
        core::LogPage page = shared_pager->fill(std::move(result.value()), proto_log_page_sizer());
        to_proto(page.logs, response);
        response->set_next_page_token(page.next_page_token);
        spdlog::debug("rpc=GetIpLogs job_instance_id={} hosts={}..{} of {} asked={} last={}",
                      info.job_instance_id, shared_pager->offset(),
                      shared_pager->offset() + page.hosts_covered, shared_pager->total_hosts(),
                      shared_pager->chunk().size(), page.next_page_token.empty());
        if (missing.empty()) {
          finish_ok(reactor, info);
          return;
        }
        confirm_hosts(context, reactor, info, *shared_plan, std::move(missing), deadline);
      },
      deadline);
}

void JobGatewayService::confirm_hosts(grpc::CallbackServerContext* context,
                                      grpc::ServerUnaryReactor* reactor, const RpcInfo& info,
                                      const IpLogsPlan& plan, NamedHosts missing,
                                      core::Deadline deadline) {
  const core::IpLogsRequest& request = plan.request;
  auto judge = [this, context, reactor, info, missing = std::move(missing),
                step_id = request.step_instance_id](const core::StepSnapshot* step) {
    const NamedHosts unknown = step != nullptr ? not_in_step(missing, *step) : NamedHosts{};
    if (unknown.empty()) {
      finish_ok(reactor, info);
      return;
    }
    const std::string why = not_hosts_message(unknown, step_id, info.job_instance_id);
    finish_status(context, reactor, info,
                  MappedStatus{grpc::Status(grpc::StatusCode::NOT_FOUND, why), {}}, why);
  };
  auto step_of = [step_id = request.step_instance_id](const core::JobSnapshot& job) {
    auto it = std::find_if(job.steps.begin(), job.steps.end(), [&](const core::StepSnapshot& s) {
      return s.step_instance_id == step_id;
    });
    return it == job.steps.end() ? nullptr : &*it;
  };
  if (plan.step) {
    judge(&*plan.step);
    return;
  }
  if (auto cached =
          hub_.cached(request.scope, request.job_instance_id, options_.status_fresh_for)) {
    judge(step_of(*cached));
    return;
  }
  core::JobStatusRequest status;
  status.scope = request.scope;
  status.job_instance_id = request.job_instance_id;
  status.return_ip_result = true;
  status.operator_name = request.operator_name;
  job_.get_job_instance_status(
      status,
      [this, context, reactor, info, judge, step_of](core::Result<core::JobSnapshot> result) {
        if (!result) {
          finish_error(context, reactor, info, result.error());
          return;
        }
        judge(step_of(result.value()));
      },
      deadline);
}

}  // namespace jobgw::server
