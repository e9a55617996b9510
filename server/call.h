#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/base/log_throttle.h"
#include "core/base/result.h"
#include "core/job/job_client.h"
#include "core/security/audit_log.h"
#include "core/security/caller_limits.h"
#include "server/admission.h"
#include "server/authorizer.h"
#include "server/call_status.h"
#include "server/server_metrics.h"

// The call pipeline: the steps every call to jobgw goes through, in one order, whatever the
// transport. Nothing here knows gRPC; a transport adapter (server/grpc_call.h) reads what the
// caller presented and turns the final CallStatus into its own answer.
namespace jobgw::server {

// The steady_clock deadline for JOB calls of a call whose caller's deadline is `caller_deadline`
// (system_clock::time_point::max() when the caller set none): the earlier of the caller's
// deadline and now + cap. A deadline already past yields `now_steady`, so JobClient fails fast
// with kTimeout.
core::Deadline job_deadline(std::chrono::system_clock::time_point caller_deadline,
                            std::chrono::milliseconds cap,
                            std::chrono::system_clock::time_point now_system,
                            std::chrono::steady_clock::time_point now_steady);

// What the pipeline's steps use; owned by the service, outliving every call.
struct CallServices {
  Admission& admission;
  const Authorizer& authorizer;
  core::CallerLimits* caller_limits = nullptr;  // null: no per-caller limits
  core::AuditLog* audit = nullptr;              // null: no audit trail
  ServerMetrics* metrics = nullptr;             // null: no metrics
  std::atomic<std::int64_t>& in_flight;
  // Bounds the log lines of calls refused for what the caller sent (no or a bad token, a denied
  // scope, a limit, an invalid request), which it can repeat at will; null: one line each.
  core::LogThrottle* refusal_log = nullptr;
};

// What a transport hands over for one call: what the caller presented and its deadline.
struct CallInput {
  Presented presented;
  // system_clock::time_point::max(): the caller set none.
  std::chrono::system_clock::time_point deadline = std::chrono::system_clock::time_point::max();

  // The deadline for JOB calls: the caller's, capped at `cap`.
  core::Deadline job_deadline(std::chrono::milliseconds cap) const;
};

// What a call is, known before any step runs.
struct CallSpec {
  const char* method = "";  // "ExecuteScript"
  std::string scope;        // "biz:1", as the caller wrote it (for logs)
  std::int64_t job_instance_id = 0;
  std::string request_id;  // the caller's idempotency key, submits only
  // Streams hold a WatchStatus slot (limits.max_streams) and a per-caller stream slot; unary
  // calls a JOB-call slot (limits.max_inflight_job_calls).
  bool stream = false;
  // A read whose request may leave the scope empty (ListJobs): then no scope is authorized up
  // front, and the call keeps to what may_read() allows.
  bool any_scope = false;
  // Mutating calls are audited: the record's known parts (rpc, scope, request_id, targets, script
  // digest); the pipeline fills in caller, operator, job and outcome.
  std::optional<core::AuditRecord> audit;
};

// One call, from its first step to its status. It holds what the call took (its admission slot,
// its caller's stream slot, its audit record) and gives it all back when it finishes, which it
// does exactly once: metrics, audit line and log line, then the transport's `respond`. A call
// dropped without a status finishes INTERNAL rather than leaving its caller waiting.
class Call {
 public:
  using Respond = std::function<void(const CallStatus& status)>;

  Call(CallServices services, CallSpec spec, Respond respond);
  ~Call();
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // The steps before the call's work, in the order every call takes them: authenticate, admit,
  // validate (`validate()` turns the transport's request into the core request, or fails naming
  // the field), authorize the operation in the request's scope (as the operator it names),
  // then, for submits, the caller's submit rate and, for streams, the caller's stream limit.
  // Returns the core request, its operator_name set to the operator JOB is asked as; nothing
  // when a step refused the call (it is finished by then).
  template <typename Validate>
  auto begin(const Presented& presented, Validate&& validate, core::Operation operation,
             const std::string& requested_operator, bool submit = false)
      -> std::optional<typename std::decay_t<decltype(validate().value())>> {
    if (!authenticate(presented) || !admit()) return std::nullopt;
    auto validated = validate();
    if (!validated) {
      fail(validated.error());
      return std::nullopt;
    }
    auto request = std::move(validated.value());
    if ((!spec_.any_scope || !request.scope.id.empty()) &&
        !authorize(request.scope, operation, requested_operator, &request.operator_name)) {
      return std::nullopt;
    }
    if (submit && !within_submit_rate()) return std::nullopt;
    if (spec_.stream && !open_caller_stream()) return std::nullopt;
    return request;
  }

  // Finishing, each once per call (later ones do nothing): OK (with a detail for the log line
  // when the call did something worth a line), a core error mapped to its status, or a status.
  void finish_ok(const std::string& detail = {});
  void fail(const core::Error& error);
  void finish(const CallStatus& status, const std::string& detail = {});

  // Whether the authenticated caller may read `scope` (for calls that span scopes).
  bool may_read(const core::Scope& scope) const;

  bool finished() const { return finished_; }
  const std::string& caller() const { return caller_; }
  const CallSpec& spec() const { return spec_; }
  // The job the call turned out to be about (a submit learns it from JOB's answer).
  void set_job_instance_id(std::int64_t id) { spec_.job_instance_id = id; }

 private:
  bool authenticate(const Presented& presented);
  bool admit();
  bool authorize(const core::Scope& scope, core::Operation operation,
                 const std::string& requested_operator, std::string* job_operator);
  bool within_submit_rate();
  bool open_caller_stream();
  void refuse(const CallStatus& status, const std::string& reason);
  void write_audit(const CallStatus& status);
  void log(const CallStatus& status, const std::string& detail) const;

  CallServices services_;
  CallSpec spec_;
  Respond respond_;
  const std::chrono::steady_clock::time_point start_;
  std::optional<Admission::Kind> slot_;
  bool caller_stream_ = false;
  Identity identity_;
  // Who is calling: the credentials entry's name (the first part of every idempotency key),
  // "anonymous" in insecure-dev mode, "unauthenticated" when refused; empty before that.
  std::string caller_;
  bool finished_ = false;
};

}  // namespace jobgw::server
