#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/base/result.h"

namespace jobgw::core {

// Where the JOB API lives: scheme, host, port and the path prefix every request goes under.
struct HttpEndpoint {
  std::string scheme;      // "http" or "https", lower case
  std::string host;        // without IPv6 brackets, e.g. "::1" or "bkapi.example.com"
  std::uint16_t port = 0;  // explicit or the scheme's default
  std::string base_path;   // "" or "/a/b": no trailing slash, so base_path + "/api/..." works

  bool tls() const { return scheme == "https"; }
  bool host_is_ip_literal() const;
  // The Host header value: brackets around IPv6, the port only when it is not the default.
  std::string host_header() const;
  // Canonical URL, e.g. "https://[::1]:8443/prefix".
  std::string to_string() const;
};

// Parses "http://host[:port][/base]" or "https://...". Rejects user info (credentials must never
// sit in a URL that ends up in logs), queries and fragments (a base has no use for them).
Result<HttpEndpoint> parse_http_url(std::string_view url);

}  // namespace jobgw::core
