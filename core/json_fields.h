#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/error.h"

namespace jobgw::core {

// Reads the fields of one JSON object leniently about presence and strictly about type:
// a missing or null field gives the default, a field of the wrong type records the first
// error with its JSON path ("data.step_instance_list[2].status: expected integer, got string").
class JsonFields {
 public:
  JsonFields(const nlohmann::json& object, std::string path, std::optional<Error>* first_error);

  std::int64_t i64(const char* key, std::int64_t def = 0);
  int i32(const char* key, int def = 0);
  bool boolean(const char* key, bool def = false);
  std::string str(const char* key, std::string def = {});
  // A field JOB sends as a string but older callers as a number (bk_scope_id).
  std::string id_string(const char* key);
  // nullptr when missing or null; records an error when present with another type.
  const nlohmann::json* array(const char* key);
  const nlohmann::json* object(const char* key);

  std::string path_of(const char* key) const;
  std::string path_of(const char* key, std::size_t index) const;

 private:
  const nlohmann::json* find(const char* key);
  void fail(const char* key, const char* expected, const nlohmann::json& got);

  const nlohmann::json& object_;
  std::string path_;
  std::optional<Error>* first_error_;
};

}  // namespace jobgw::core
