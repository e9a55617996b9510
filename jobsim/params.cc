#include "jobsim/params.h"

#include "jobsim/api_error.h"

namespace jobsim {

using nlohmann::json;

bool present(const json& p, const char* key) {
  auto it = p.find(key);
  return it != p.end() && !it->is_null();
}

std::optional<int64_t> opt_int(const json& p, const char* key) {
  if (!present(p, key)) return std::nullopt;
  const json& v = p[key];
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
  }
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    if (s.empty()) return std::nullopt;
    try {
      size_t used = 0;
      long long n = std::stoll(s, &used);
      if (used == s.size()) return n;
    } catch (const std::exception&) {
    }
  }
  throw illegal_param(key, "must be an integer");
}

int64_t req_int(const json& p, const char* key) {
  auto v = opt_int(p, key);
  if (!v) throw missing_param(key);
  return *v;
}

std::optional<std::string> opt_string(const json& p, const char* key) {
  if (!present(p, key)) return std::nullopt;
  const json& v = p[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  throw illegal_param(key, "must be a string");
}

bool opt_bool(const json& p, const char* key, bool def) {
  if (!present(p, key)) return def;
  const json& v = p[key];
  if (v.is_boolean()) return v.get<bool>();
  if (v.is_number_integer()) return v.get<int64_t>() != 0;
  if (v.is_string()) {
    std::string s = v.get<std::string>();
    if (s == "true" || s == "True" || s == "1") return true;
    if (s == "false" || s == "False" || s == "0" || s.empty()) return false;
  }
  throw illegal_param(key, "must be a boolean");
}

Scope read_scope(const json& p) {
  Scope s;
  auto type = opt_string(p, "bk_scope_type");
  auto id = opt_string(p, "bk_scope_id");
  if (type || id) {
    if (!type || type->empty())
      throw ApiError(code::kMissingParam, "Missing parameter: bk_scope_type");
    if (!id || id->empty()) throw ApiError(code::kMissingParam, "Missing parameter: bk_scope_id");
    if (*type != "biz" && *type != "biz_set") {
      throw illegal_param("bk_scope_type", "must be \"biz\" or \"biz_set\"");
    }
    s.type = *type;
    s.id = *id;
    return s;
  }
  auto biz = opt_int(p, "bk_biz_id");
  if (!biz) {
    throw ApiError(code::kMissingParam,
                   "Missing parameter: bk_scope_type and bk_scope_id (or bk_biz_id)");
  }
  s.type = "biz";
  s.id = std::to_string(*biz);
  return s;
}

std::string read_callback(const json& p) {
  auto url = opt_string(p, "callback_url");
  if (!url || url->empty()) return "";
  if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
    throw illegal_param("callback_url", "must be an http:// or https:// URL");
  }
  return *url;
}

}  // namespace jobsim
