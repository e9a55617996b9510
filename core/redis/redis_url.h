#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace jobgw::core {

// Where the shared state lives: redis://[user:password@]host[:port][/db], or rediss:// for TLS.
struct RedisEndpoint {
  bool tls = false;
  std::string host;  // without IPv6 brackets
  std::uint16_t port = 6379;
  std::string user;      // empty: the default user (AUTH with the password alone)
  std::string password;  // empty: no AUTH; never logged
  int db = 0;

  bool host_is_ip_literal() const;
  // The URL with the password replaced by "***": what logs and errors may show.
  std::string redacted() const;
};

// Parses a Redis URL. Percent-escapes in the user and password are decoded, so a password may
// hold '@' or ':'. Errors name what is wrong but never repeat the password.
Result<RedisEndpoint> parse_redis_url(std::string_view url);

}  // namespace jobgw::core
