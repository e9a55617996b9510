#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "jobsim/inventory.h"

namespace jobsim {

// Reading request parameters: a POST body, or a query string with every value a string. Each
// throws ApiError (1241004 missing, 1241005 illegal) naming the parameter.
bool present(const nlohmann::json& p, const char* key);
std::optional<int64_t> opt_int(const nlohmann::json& p, const char* key);
int64_t req_int(const nlohmann::json& p, const char* key);
std::optional<std::string> opt_string(const nlohmann::json& p, const char* key);
bool opt_bool(const nlohmann::json& p, const char* key, bool def);
// bk_scope_type + bk_scope_id, or the legacy bk_biz_id (1241001 when neither).
Scope read_scope(const nlohmann::json& p);
// An http:// or https:// callback_url, "" when absent.
std::string read_callback(const nlohmann::json& p);

}  // namespace jobsim
