#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace jobsim {

// App credentials as JOB's gateways check them. With an empty app code, auth is off.
struct AuthConfig {
  std::string app_code;
  std::string app_secret;
  bool enabled() const { return !app_code.empty(); }
};

struct AuthResult {
  bool ok = true;
  std::string username;  // bk_username of the caller ("" when not given and auth is off)
  std::string message;   // why it failed
};

// apigw: the X-Bkapi-Authorization header (a JSON object, empty when absent).
AuthResult check_apigw_auth(const AuthConfig& config, const std::string& header);
// esb: bk_app_code / bk_app_secret / bk_username among the request fields (JSON body or query
// string turned into a JSON object).
AuthResult check_esb_auth(const AuthConfig& config, const nlohmann::json& fields);

}  // namespace jobsim
