#include "server/authorizer.h"

#include <algorithm>
#include <cctype>

namespace jobgw::server {

namespace {

constexpr std::string_view kBearer = "bearer ";

CallStatus unauthenticated(const std::string& message) {
  return CallStatus(StatusCode::kUnauthenticated, message);
}

Identity refused(CallStatus status, std::string reason) {
  Identity id;
  id.status = std::move(status);
  id.reason = std::move(reason);
  return id;
}

bool starts_with_bearer(std::string_view value) {
  if (value.size() < kBearer.size()) return false;
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kBearer[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Identity::name() const {
  return caller != nullptr ? caller->name : std::string(Authorizer::kUnauthenticated);
}

Authorizer::Authorizer() : insecure_(true) {
  anonymous_.name = kAnonymous;
  anonymous_.scopes.push_back(core::ScopeGrant{"*", "*"});
  anonymous_.operations = 0xff;
  anonymous_.operator_override = true;
}

Authorizer::Authorizer(core::Credentials credentials)
    : insecure_(false),
      credentials_(std::make_shared<const core::Credentials>(std::move(credentials))) {}

std::unique_ptr<Authorizer> Authorizer::insecure_dev() {
  return std::unique_ptr<Authorizer>(new Authorizer());
}

void Authorizer::replace(core::Credentials credentials) {
  auto fresh = std::make_shared<const core::Credentials>(std::move(credentials));
  std::lock_guard<std::mutex> lock(mu_);
  credentials_ = std::move(fresh);
}

std::shared_ptr<const core::Credentials> Authorizer::credentials() const {
  std::lock_guard<std::mutex> lock(mu_);
  return credentials_;
}

Identity Authorizer::authenticate(const Presented& presented) const {
  if (insecure_) {
    Identity id;
    id.caller = &anonymous_;
    return id;
  }
  Identity id;
  id.credentials = credentials();
  if (presented.authorization.size() > 1) {
    return refused(unauthenticated("more than one authorization metadata entry"), "bad_token");
  }
  if (presented.authorization.size() == 1) {
    const std::string& value = presented.authorization.front();
    if (!starts_with_bearer(value)) {
      return refused(unauthenticated("authorization metadata is not \"Bearer <token>\""),
                     "bad_token");
    }
    const std::string_view token = trim(std::string_view(value).substr(kBearer.size()));
    id.caller = id.credentials->authenticate(token);
    if (id.caller == nullptr) return refused(unauthenticated("unknown token"), "bad_token");
    return id;
  }
  if (!presented.certificate_names.empty()) {
    for (const auto& name : presented.certificate_names) {
      id.caller = id.credentials->by_certificate(name);
      if (id.caller != nullptr) return id;
    }
    std::string names;
    for (const auto& name : presented.certificate_names) {
      names += (names.empty() ? "" : ", ") + name;
    }
    return refused(unauthenticated("client certificate (" + names + ") matches no caller"),
                   "unknown_certificate");
  }
  return refused(unauthenticated("missing bearer token: send \"authorization: Bearer <token>\" "
                                 "(gRPC metadata or HTTP header)"),
                 "missing_token");
}

Decision Authorizer::authorize(const Identity& identity, const core::Scope& scope,
                               core::Operation op, std::string_view requested_operator) const {
  Decision d;
  if (!identity.ok()) {
    d.status = identity.status;
    d.reason = identity.reason;
    return d;
  }
  const core::Caller& caller = *identity.caller;
  if (auto why = core::refusal(caller, scope, op)) {
    d.status = CallStatus(StatusCode::kPermissionDenied, *why);
    d.reason = caller.may(op) ? "scope" : "operation";
    return d;
  }
  auto job_operator = core::effective_operator(caller, requested_operator);
  if (!job_operator) {
    d.status = CallStatus(StatusCode::kPermissionDenied, job_operator.error().message);
    d.reason = "operator";
    return d;
  }
  d.job_operator = std::move(job_operator.value());
  return d;
}

}  // namespace jobgw::server
