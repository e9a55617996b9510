#include "core/json_fields.h"

#include <limits>

namespace jobgw::core {

JsonFields::JsonFields(const nlohmann::json& object, std::string path,
                       std::optional<Error>* first_error)
    : object_(object), path_(std::move(path)), first_error_(first_error) {}

std::string JsonFields::path_of(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

std::string JsonFields::path_of(const char* key, std::size_t index) const {
  return path_of(key) + "[" + std::to_string(index) + "]";
}

const nlohmann::json* JsonFields::find(const char* key) {
  if (!object_.is_object()) return nullptr;
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

void JsonFields::fail(const char* key, const char* expected, const nlohmann::json& got) {
  if (first_error_->has_value()) return;
  Error e;
  e.kind = ErrorKind::kDecode;
  e.message = path_of(key) + ": expected " + expected + ", got " + got.type_name();
  *first_error_ = std::move(e);
}

std::int64_t JsonFields::i64(const char* key, std::int64_t def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (v->is_number_integer() && !v->is_number_unsigned()) return v->get<std::int64_t>();
  if (v->is_number_unsigned()) {
    auto u = v->get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(u);
    }
  }
  fail(key, "integer", *v);
  return def;
}

int JsonFields::i32(const char* key, int def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  std::int64_t wide = i64(key, def);
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    fail(key, "32-bit integer", *v);
    return def;
  }
  return static_cast<int>(wide);
}

bool JsonFields::boolean(const char* key, bool def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (v->is_boolean()) return v->get<bool>();
  fail(key, "boolean", *v);
  return def;
}

std::string JsonFields::str(const char* key, std::string def) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return def;
  if (v->is_string()) return v->get<std::string>();
  fail(key, "string", *v);
  return def;
}

std::string JsonFields::id_string(const char* key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return {};
  if (v->is_string()) return v->get<std::string>();
  if (v->is_number_integer()) return v->dump();
  fail(key, "string or integer", *v);
  return {};
}

const nlohmann::json* JsonFields::array(const char* key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->is_array()) return v;
  fail(key, "array", *v);
  return nullptr;
}

const nlohmann::json* JsonFields::object(const char* key) {
  const nlohmann::json* v = find(key);
  if (v == nullptr) return nullptr;
  if (v->is_object()) return v;
  fail(key, "object", *v);
  return nullptr;
}

}  // namespace jobgw::core
