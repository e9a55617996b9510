#include "jobsim/auth.h"

namespace jobsim {

namespace {

std::string str_field(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object()) return "";
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

AuthResult check(const AuthConfig& config, const nlohmann::json& creds, const std::string& where) {
  AuthResult r;
  r.username = str_field(creds, "bk_username");
  if (!config.enabled()) return r;
  std::string code = str_field(creds, "bk_app_code");
  std::string secret = str_field(creds, "bk_app_secret");
  if (code.empty() || secret.empty()) {
    r.ok = false;
    r.message = "App authentication failed: bk_app_code and bk_app_secret are required in " + where;
  } else if (code != config.app_code || secret != config.app_secret) {
    r.ok = false;
    r.message = "App authentication failed: wrong bk_app_code or bk_app_secret";
  } else if (r.username.empty()) {
    r.ok = false;
    r.message = "User authentication failed: bk_username is required in " + where;
  }
  return r;
}

}  // namespace

AuthResult check_apigw_auth(const AuthConfig& config, const std::string& header) {
  nlohmann::json creds = nlohmann::json::object();
  if (!header.empty()) {
    creds = nlohmann::json::parse(header, nullptr, false);
    if (creds.is_discarded() || !creds.is_object()) {
      AuthResult r;
      if (!config.enabled()) return r;
      r.ok = false;
      r.message = "App authentication failed: X-Bkapi-Authorization is not a JSON object";
      return r;
    }
  }
  return check(config, creds, "the X-Bkapi-Authorization header");
}

AuthResult check_esb_auth(const AuthConfig& config, const nlohmann::json& fields) {
  return check(config, fields, "the request fields");
}

}  // namespace jobsim
