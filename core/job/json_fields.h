#pragma once

#include <simdjson.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/base/error.h"

namespace jobgw::core {

// Where a JSON value sits ("data.step_instance_list[2]"), spelled out only when an error needs
// it: a decoder walks thousands of hosts per answer and almost never fails, so a path is its
// parent plus one step rather than a string. A path must not outlive its parent.
class JsonPath {
 public:
  JsonPath() = default;  // the document itself

  JsonPath field(const char* key) const { return JsonPath(this, key, kNoIndex); }
  JsonPath element(const char* key, std::size_t index) const { return JsonPath(this, key, index); }
  std::string str() const;

 private:
  static constexpr std::size_t kNoIndex = static_cast<std::size_t>(-1);
  JsonPath(const JsonPath* parent, const char* key, std::size_t index)
      : parent_(parent), key_(key), index_(index) {}

  const JsonPath* parent_ = nullptr;
  const char* key_ = nullptr;
  std::size_t index_ = kNoIndex;
};

// nlohmann::json's name for the type of value ("number", "string", ...): error messages keep
// the wording they had before the decoders moved to simdjson.
const char* json_type_name(simdjson::dom::element value);

// Reads the fields of one JSON object leniently about presence and strictly about type:
// a missing or null field gives the default, a field of the wrong type records the first
// error with its JSON path ("data.step_instance_list[2].status: expected integer, got string").
// A value that is not an object reads as an empty one. A key given twice reads as its last
// occurrence, as nlohmann::json keeps it.
class JsonFields {
 public:
  JsonFields(simdjson::dom::element value, JsonPath path, std::optional<Error>* first_error);
  JsonFields(simdjson::dom::object object, JsonPath path, std::optional<Error>* first_error);
  JsonFields(const JsonFields&) = delete;
  JsonFields& operator=(const JsonFields&) = delete;

  std::int64_t i64(const char* key, std::int64_t def = 0);
  int i32(const char* key, int def = 0);
  bool boolean(const char* key, bool def = false);
  std::string str(const char* key, std::string def = {});
  // A field JOB sends as a string but older callers as a number (bk_scope_id).
  std::string id_string(const char* key);
  // nullopt when missing or null; records an error when present with another type.
  std::optional<simdjson::dom::array> array(const char* key);
  std::optional<simdjson::dom::object> object(const char* key);
  // Any value but null; nullopt when missing or null.
  std::optional<simdjson::dom::element> value(const char* key) const;
  // Present at all, null included.
  bool has(const char* key) const;

  const JsonPath& path() const { return path_; }
  std::string path_of(const char* key) const { return path_.field(key).str(); }

 private:
  struct Field {
    std::string_view key;
    simdjson::dom::element value;
  };
  // Enough for every object docs/JOB_API.md describes; a larger one is searched in the DOM.
  static constexpr std::size_t kIndexedFields = 16;

  void index_fields();
  std::optional<simdjson::dom::element> find(const char* key) const;
  std::optional<simdjson::dom::element> find_in_object(std::string_view key) const;
  void fail(const char* key, const char* expected, simdjson::dom::element got);

  std::optional<simdjson::dom::object> object_;
  // The object's fields, copied out once: each decoder reads most fields of every object, and a
  // walk of simdjson's tape per lookup cost more than the parse itself.
  std::array<Field, kIndexedFields> fields_;
  std::size_t field_count_ = 0;
  bool indexed_ = false;  // false: more than kIndexedFields, use find_in_object
  JsonPath path_;
  std::optional<Error>* first_error_;
};

}  // namespace jobgw::core
