#include "server/call.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <sstream>

#include "server/status_mapping.h"

namespace jobgw::server {
namespace {

// Client mistakes and expected outcomes are warnings; only jobgw's or JOB's own faults are errors.
spdlog::level::level_enum level_for(StatusCode code) {
  switch (code) {
    case StatusCode::kCancelled:
      return spdlog::level::info;
    case StatusCode::kInternal:
    case StatusCode::kUnknown:
    case StatusCode::kDataLoss:
      return spdlog::level::err;
    default:
      return spdlog::level::warn;
  }
}

// Refusals a caller can cause again and again at will: a missing or bad token, a denied scope or
// operation, a limit, an invalid request.
bool refused_for_what_was_sent(StatusCode code) {
  return code == StatusCode::kUnauthenticated || code == StatusCode::kPermissionDenied ||
         code == StatusCode::kResourceExhausted || code == StatusCode::kInvalidArgument;
}

}  // namespace

core::Deadline job_deadline(std::chrono::system_clock::time_point caller_deadline,
                            std::chrono::milliseconds cap,
                            std::chrono::system_clock::time_point now_system,
                            std::chrono::steady_clock::time_point now_steady) {
  const auto capped = now_steady + cap;
  if (caller_deadline == std::chrono::system_clock::time_point::max()) return capped;
  if (caller_deadline <= now_system) return now_steady;
  const auto remaining = caller_deadline - now_system;
  if (remaining >= cap) return capped;
  return now_steady + std::chrono::duration_cast<std::chrono::steady_clock::duration>(remaining);
}

core::Deadline CallInput::job_deadline(std::chrono::milliseconds cap) const {
  return server::job_deadline(deadline, cap, std::chrono::system_clock::now(),
                              std::chrono::steady_clock::now());
}

Call::Call(CallServices services, CallSpec spec, Respond respond)
    : services_(services),
      spec_(std::move(spec)),
      respond_(std::move(respond)),
      start_(std::chrono::steady_clock::now()) {
  services_.in_flight++;
}

Call::~Call() {
  if (!finished_) {
    finish(CallStatus(StatusCode::kInternal, "jobgw dropped the call without an answer"),
           "dropped");
  }
}

bool Call::authenticate(const Presented& presented) {
  identity_ = services_.authorizer.authenticate(presented);
  caller_ = identity_.name();
  if (identity_.ok()) return true;
  refuse(identity_.status, identity_.reason);
  return false;
}

bool Call::admit() {
  const Admission::Kind kind = spec_.stream ? Admission::Kind::kStream : Admission::Kind::kJobCall;
  if (services_.admission.admit(kind)) {
    slot_ = kind;
    return true;
  }
  const std::string why = services_.admission.refusal(kind);
  finish(CallStatus(StatusCode::kResourceExhausted, why), why);
  return false;
}

bool Call::authorize(const core::Scope& scope, core::Operation operation,
                     const std::string& requested_operator, std::string* job_operator) {
  if (spec_.audit) {
    spec_.audit->job_operator =
        requested_operator.empty() ? identity_.caller->job_operator : requested_operator;
  }
  Decision decision =
      services_.authorizer.authorize(identity_, scope, operation, requested_operator);
  if (!decision.ok()) {
    refuse(decision.status, decision.reason);
    return false;
  }
  *job_operator = decision.job_operator;
  if (spec_.audit) spec_.audit->job_operator = decision.job_operator;
  return true;
}

bool Call::may_read(const core::Scope& scope) const {
  if (!identity_.ok()) return false;
  return services_.authorizer.authorize(identity_, scope, core::Operation::kRead, {}).ok();
}

bool Call::within_submit_rate() {
  core::CallerLimits* limits = services_.caller_limits;
  if (limits == nullptr) return true;
  auto wait = limits->take_submit(caller_);
  if (!wait) return true;
  if (services_.metrics != nullptr) services_.metrics->caller_limit_rejected("submit_rate");
  std::ostringstream rate;
  rate << limits->config().submits_per_second;
  const std::string why = "caller " + caller_ + " is over limits.caller_submits_per_second (" +
                          rate.str() + "/s); retry in " + std::to_string(wait->count()) + " ms";
  CallStatus status(StatusCode::kResourceExhausted, why);
  status.trailers.emplace_back("retry-after-ms", std::to_string(wait->count()));
  finish(status, why);
  return false;
}

bool Call::open_caller_stream() {
  core::CallerLimits* limits = services_.caller_limits;
  if (limits == nullptr) return true;
  if (limits->open_stream(caller_)) {
    caller_stream_ = true;
    return true;
  }
  if (services_.metrics != nullptr) services_.metrics->caller_limit_rejected("streams");
  const std::string why = "caller " + caller_ + " has " +
                          std::to_string(limits->config().max_streams) +
                          " WatchStatus streams open (limits.caller_max_streams); retry after "
                          "closing one";
  finish(CallStatus(StatusCode::kResourceExhausted, why), why);
  return false;
}

void Call::refuse(const CallStatus& status, const std::string& reason) {
  if (services_.metrics != nullptr) services_.metrics->auth_refused(reason);
  finish(status, "reason=" + reason + " " + status.message);
}

void Call::finish_ok(const std::string& detail) { finish(CallStatus(), detail); }

void Call::fail(const core::Error& error) { finish(map_error(error), error.describe()); }

void Call::finish(const CallStatus& status, const std::string& detail) {
  if (finished_) return;
  finished_ = true;
  if (slot_) services_.admission.release(*slot_);
  if (caller_stream_) services_.caller_limits->close_stream(caller_);
  services_.in_flight--;
  if (services_.metrics != nullptr) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    if (spec_.stream) {
      services_.metrics->stream_finished(spec_.method, code_name(status.code), seconds);
    } else {
      services_.metrics->rpc_finished(spec_.method, code_name(status.code), seconds);
    }
  }
  write_audit(status);
  log(status, detail);
  Respond respond = std::move(respond_);
  respond_ = nullptr;
  if (respond) respond(status);
}

void Call::write_audit(const CallStatus& status) {
  if (!spec_.audit || services_.audit == nullptr) return;
  core::AuditRecord record = *spec_.audit;
  record.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  record.caller = caller_.empty() ? Authorizer::kUnauthenticated : caller_;
  record.job_instance_id = spec_.job_instance_id;
  record.code = code_name(status.code);
  // Short: the first line, at most 300 bytes; the full story is in the main log.
  constexpr std::size_t kMaxReason = 300;
  if (!status.ok()) {
    record.reason = status.message.substr(0, std::min(status.message.find('\n'), kMaxReason));
  }
  services_.audit->write(record);
}

// Never the request body: script content, parameters and credentials stay out of logs.
void Call::log(const CallStatus& status, const std::string& detail) const {
  const std::string request_id =
      spec_.request_id.empty() ? std::string() : " request_id=" + spec_.request_id;
  if (status.ok()) {
    if (detail.empty()) return;
    spdlog::info("rpc={} caller={} scope={} job_instance_id={}{} code=OK {}", spec_.method, caller_,
                 spec_.scope, spec_.job_instance_id, request_id, detail);
    return;
  }
  // Counted in the metrics all the same (rpc_finished, auth_refused, ...).
  if (services_.refusal_log != nullptr && refused_for_what_was_sent(status.code) &&
      !services_.refusal_log->admit(code_name(status.code))) {
    return;
  }
  spdlog::log(level_for(status.code), "rpc={} caller={} scope={} job_instance_id={}{} code={} {}",
              spec_.method, caller_.empty() ? "-" : caller_, spec_.scope, spec_.job_instance_id,
              request_id, code_name(status.code), detail.empty() ? status.message : detail);
}

}  // namespace jobgw::server
