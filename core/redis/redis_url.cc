#include "core/redis/redis_url.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <charconv>

namespace jobgw::core {
namespace {

Error bad_url(const std::string& why) {
  return Error::invalid_argument(
      "not a Redis URL (redis://[user:password@]host:port/db or "
      "rediss://...): " +
      why);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int hi = hex_value(in[i + 1]);
    int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

template <typename T>
bool parse_number(std::string_view text, T& out) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

}  // namespace

bool RedisEndpoint::host_is_ip_literal() const {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::string RedisEndpoint::redacted() const {
  std::string out = tls ? "rediss://" : "redis://";
  if (!user.empty() || !password.empty()) {
    out += user;
    if (!password.empty()) out += ":***";
    out += "@";
  }
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + "/" + std::to_string(db);
  return out;
}

Result<RedisEndpoint> parse_redis_url(std::string_view url) {
  RedisEndpoint out;
  if (url.rfind("redis://", 0) == 0) {
    url.remove_prefix(8);
  } else if (url.rfind("rediss://", 0) == 0) {
    out.tls = true;
    url.remove_prefix(9);
  } else {
    return bad_url("the scheme must be redis:// or rediss://");
  }
  std::string_view rest = url;
  auto at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view info = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    auto colon = info.find(':');
    std::string_view user = colon == std::string_view::npos ? info : info.substr(0, colon);
    if (!percent_decode(user, out.user)) return bad_url("bad percent-escape in the user");
    if (colon != std::string_view::npos && !percent_decode(info.substr(colon + 1), out.password)) {
      return bad_url("bad percent-escape in the password");
    }
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return bad_url("query strings and fragments are not supported");
  }
  std::string_view hostport = rest;
  auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!parse_number(db, out.db) || out.db < 0)) {
      return bad_url("the database must be a non-negative number, got '" + std::string(db) + "'");
    }
  }
  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return bad_url("unclosed '[' in the host");
    out.host = std::string(hostport.substr(1, close - 1));
    std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("expected ':' after ']'");
      port_text = after.substr(1);
    }
  } else {
    auto colon = hostport.rfind(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port_text = hostport.substr(colon + 1);
  }
  if (out.host.empty()) return bad_url("the host is empty");
  if (!port_text.empty()) {
    unsigned port = 0;
    if (!parse_number(port_text, port) || port == 0 || port > 65535) {
      return bad_url("the port must be 1-65535, got '" + std::string(port_text) + "'");
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  return out;
}

}  // namespace jobgw::core
