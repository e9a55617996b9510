#include "core/job/json_fields.h"

#include <limits>
#include <string_view>

namespace jobgw::core {

std::string JsonPath::str() const {
  std::string out = parent_ == nullptr ? std::string() : parent_->str();
  if (key_ == nullptr) return out;
  if (!out.empty()) out += '.';
  out += key_;
  if (index_ != kNoIndex) out += "[" + std::to_string(index_) + "]";
  return out;
}

const char* json_type_name(simdjson::dom::element value) {
  switch (value.type()) {
    case simdjson::dom::element_type::ARRAY:
      return "array";
    case simdjson::dom::element_type::OBJECT:
      return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE:
      return "number";
    case simdjson::dom::element_type::STRING:
      return "string";
    case simdjson::dom::element_type::BOOL:
      return "boolean";
    case simdjson::dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

JsonFields::JsonFields(simdjson::dom::element value, JsonPath path,
                       std::optional<Error>* first_error)
    : path_(path), first_error_(first_error) {
  simdjson::dom::object object;
  if (value.get(object) == simdjson::SUCCESS) object_ = object;
  index_fields();
}

JsonFields::JsonFields(simdjson::dom::object object, JsonPath path,
                       std::optional<Error>* first_error)
    : object_(object), path_(path), first_error_(first_error) {
  index_fields();
}

void JsonFields::index_fields() {
  indexed_ = true;
  if (!object_) return;
  for (simdjson::dom::key_value_pair field : *object_) {
    if (field_count_ == kIndexedFields) {
      indexed_ = false;
      return;
    }
    fields_[field_count_++] = Field{field.key, field.value};
  }
}

// Searches from the end so a repeated key reads as its last occurrence (nlohmann::json's rule).
std::optional<simdjson::dom::element> JsonFields::find(const char* key) const {
  const std::string_view wanted(key);
  if (!indexed_) return find_in_object(wanted);
  for (std::size_t i = field_count_; i-- > 0;) {
    const Field& field = fields_[i];
    if (field.key.size() == wanted.size() && (wanted.empty() || field.key[0] == wanted[0]) &&
        field.key == wanted) {
      return field.value;
    }
  }
  return std::nullopt;
}

// The whole object is scanned rather than stopping at the first match, for the same rule.
std::optional<simdjson::dom::element> JsonFields::find_in_object(std::string_view key) const {
  std::optional<simdjson::dom::element> found;
  for (simdjson::dom::key_value_pair field : *object_) {
    if (field.key == key) found = field.value;
  }
  return found;
}

bool JsonFields::has(const char* key) const { return find(key).has_value(); }

std::optional<simdjson::dom::element> JsonFields::value(const char* key) const {
  std::optional<simdjson::dom::element> v = find(key);
  if (v && v->is_null()) return std::nullopt;
  return v;
}

void JsonFields::fail(const char* key, const char* expected, simdjson::dom::element got) {
  if (first_error_->has_value()) return;
  Error e;
  e.kind = ErrorKind::kDecode;
  e.message = path_of(key) + ": expected " + expected + ", got " + json_type_name(got);
  *first_error_ = std::move(e);
}

// Integers beyond int64 (simdjson's uint64 ones) are refused like those of any other type.
std::int64_t JsonFields::i64(const char* key, std::int64_t def) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return def;
  std::int64_t out = def;
  if (v->get(out) == simdjson::SUCCESS) return out;
  fail(key, "integer", *v);
  return def;
}

int JsonFields::i32(const char* key, int def) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return def;
  std::int64_t wide = i64(key, def);
  if (wide < std::numeric_limits<int>::min() || wide > std::numeric_limits<int>::max()) {
    fail(key, "32-bit integer", *v);
    return def;
  }
  return static_cast<int>(wide);
}

bool JsonFields::boolean(const char* key, bool def) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return def;
  bool out = def;
  if (v->get(out) == simdjson::SUCCESS) return out;
  fail(key, "boolean", *v);
  return def;
}

std::string JsonFields::str(const char* key, std::string def) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return def;
  std::string_view out;
  if (v->get(out) == simdjson::SUCCESS) return std::string(out);
  fail(key, "string", *v);
  return def;
}

std::string JsonFields::id_string(const char* key) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return {};
  std::string_view text;
  if (v->get(text) == simdjson::SUCCESS) return std::string(text);
  std::int64_t signed_id = 0;
  if (v->get(signed_id) == simdjson::SUCCESS) return std::to_string(signed_id);
  std::uint64_t unsigned_id = 0;
  if (v->get(unsigned_id) == simdjson::SUCCESS) return std::to_string(unsigned_id);
  fail(key, "string or integer", *v);
  return {};
}

std::optional<simdjson::dom::array> JsonFields::array(const char* key) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return std::nullopt;
  simdjson::dom::array out;
  if (v->get(out) == simdjson::SUCCESS) return out;
  fail(key, "array", *v);
  return std::nullopt;
}

std::optional<simdjson::dom::object> JsonFields::object(const char* key) {
  std::optional<simdjson::dom::element> v = value(key);
  if (!v) return std::nullopt;
  simdjson::dom::object out;
  if (v->get(out) == simdjson::SUCCESS) return out;
  fail(key, "object", *v);
  return std::nullopt;
}

}  // namespace jobgw::core
