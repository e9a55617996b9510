#pragma once

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>

namespace jobgw::core {

// One parsed JSON text, read through simdjson's DOM. Parsing reuses a per-thread parser and input
// buffer, so polling JOB does not reallocate them for every answer; root() stays valid while
// this object lives. Never throws.
//
// It accepts exactly the texts nlohmann::json::parse accepts (the decoders' behaviour predates
// simdjson and callers rely on it): a leading UTF-8 BOM is skipped, integers beyond 64 bits are
// numbers that are not integers, and nesting has no depth limit.
class JsonDocument {
 public:
  JsonDocument();
  ~JsonDocument();
  JsonDocument(const JsonDocument&) = delete;
  JsonDocument& operator=(const JsonDocument&) = delete;

  // SUCCESS, or why text is not one JSON value. Call once per document.
  simdjson::error_code parse(std::string_view text);
  simdjson::dom::element root() const { return root_; }

  struct Workspace;

 private:
  void take_workspace(std::size_t text_size);
  simdjson::error_code parse_padded(std::string_view text);
  simdjson::error_code parse_as_nlohmann_would(std::string_view text, simdjson::error_code err);
  simdjson::error_code use_deep_parser(std::size_t depth);

  Workspace* workspace_ = nullptr;  // this thread's, or owned_
  std::unique_ptr<Workspace> owned_;
  simdjson::dom::element root_;
};

// text with every integer that fits neither int64 nor uint64 given a ".0" (so simdjson reads it
// as floating-point, where nlohmann would); text unchanged when it has none.
std::string widen_big_integers(std::string_view text);

}  // namespace jobgw::core
