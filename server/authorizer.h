#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"
#include "core/security/credentials.h"
#include "server/call_status.h"

namespace jobgw::server {

// What a call presents to prove who it is, read by a transport adapter (server/grpc_call.h
// presented_by) or built by a test.
struct Presented {
  // Every `authorization` metadata value (normally one: "Bearer <token>").
  std::vector<std::string> authorization;
  // The names of a verified client certificate (subject CN, then SANs); empty without mTLS.
  std::vector<std::string> certificate_names;
};

// Who a call is, or why it is refused (UNAUTHENTICATED). Holds the credentials it was found in,
// so a reload during the call never pulls the entry from under it.
struct Identity {
  std::shared_ptr<const core::Credentials> credentials;
  const core::Caller* caller = nullptr;  // null: refused
  CallStatus status;                     // OK, or UNAUTHENTICATED saying why
  std::string reason;                    // metric label: missing_token, bad_token, ...

  bool ok() const { return caller != nullptr; }
  // The caller's name; "unauthenticated" when refused.
  std::string name() const;
};

// Whether an authenticated caller may do one operation in one scope.
struct Decision {
  CallStatus status;         // OK, or PERMISSION_DENIED naming the caller and what was refused
  std::string reason;        // metric label: operation, scope, operator; empty when allowed
  std::string job_operator;  // the bk_username to send JOB (empty: jobgw's default)

  bool ok() const { return status.ok(); }
};

// Decides every JobGateway call (README "Security": credentials file, tokens, grants):
// authenticate() finds the caller from a bearer token or a client certificate name, authorize()
// checks its grants. The credentials can be replaced at any time (reload) while calls are
// decided on other threads.
// Refusal messages never contain the token.
class Authorizer {
 public:
  static constexpr const char* kAnonymous = "anonymous";
  static constexpr const char* kUnauthenticated = "unauthenticated";

  // --insecure-dev: every call is allowed as caller "anonymous" running as jobgw's default
  // operator, or as the operator a request names (the behaviour before authentication existed).
  static std::unique_ptr<Authorizer> insecure_dev();
  explicit Authorizer(core::Credentials credentials);

  bool insecure() const { return insecure_; }
  void replace(core::Credentials credentials);
  std::shared_ptr<const core::Credentials> credentials() const;

  Identity authenticate(const Presented& presented) const;
  Decision authorize(const Identity& identity, const core::Scope& scope, core::Operation op,
                     std::string_view requested_operator) const;

 private:
  Authorizer();

  const bool insecure_;
  core::Caller anonymous_;
  mutable std::mutex mu_;
  std::shared_ptr<const core::Credentials> credentials_;
};

}  // namespace jobgw::server
