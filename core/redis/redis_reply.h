#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"

namespace jobgw::core {

// One RESP2 reply, owned (hiredis's reply objects are converted and freed at once).
struct RedisReply {
  enum class Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = Type::kNil;
  std::string str;  // kString, kStatus, kError
  std::int64_t integer = 0;
  std::vector<RedisReply> elements;

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  // The text of a string or status reply, else nullopt.
  std::optional<std::string> text() const;
  // An integer reply, or a string reply holding a decimal integer.
  std::optional<std::int64_t> as_integer() const;
  // For logs and test failures: nested, quoted, truncated.
  std::string describe() const;
};

// The wire form of one command (a RESP array of bulk strings), via hiredis's formatter.
std::string format_redis_command(const std::vector<std::string>& args);

// Incremental RESP2 parser over hiredis's reader: feed bytes as they arrive, take whole replies.
class RespReader {
 public:
  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  void feed(const char* data, std::size_t size);
  // The next whole reply, nullopt when more bytes are needed, or an error when the stream is not
  // RESP (the connection is then unusable).
  Result<std::optional<RedisReply>> next();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobgw::core
