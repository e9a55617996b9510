#include "core/http/http_url.h"

#include <boost/asio/ip/address.hpp>
#include <cctype>

namespace jobgw::core {
namespace {

Error bad_url(std::string_view url, std::string_view why) {
  return Error::invalid_argument("invalid base URL '" + std::string(url) +
                                 "': " + std::string(why));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_reg_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

bool HttpEndpoint::host_is_ip_literal() const {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

std::string HttpEndpoint::host_header() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const std::uint16_t default_port = tls() ? 443 : 80;
  if (port != default_port) out += ":" + std::to_string(port);
  return out;
}

std::string HttpEndpoint::to_string() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(port) + base_path;
  return out;
}

Result<HttpEndpoint> parse_http_url(std::string_view url) {
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return bad_url(url, "contains whitespace or control characters");
    }
  }
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) return bad_url(url, "missing scheme");
  HttpEndpoint ep;
  ep.scheme = lower(url.substr(0, sep));
  if (ep.scheme != "http" && ep.scheme != "https") {
    return bad_url(url, "scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  const auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view() : rest.substr(path_start);
  if (authority.find('@') != std::string_view::npos) {
    // Not echoed: the user info would be a credential.
    return Error::invalid_argument("invalid base URL: user info is not allowed");
  }
  if (path.find_first_of("?#") != std::string_view::npos) {
    return bad_url(url, "query and fragment are not allowed");
  }

  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url(url, "unterminated '['");
    ep.host = std::string(authority.substr(1, close - 1));
    boost::system::error_code ec;
    const auto addr = boost::asio::ip::make_address(ep.host, ec);
    if (ec || !addr.is_v6()) return bad_url(url, "bracketed host is not an IPv6 address");
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url(url, "unexpected text after ']'");
      port_text = after.substr(1);
      if (port_text.empty()) return bad_url(url, "empty port");
    }
  } else {
    const auto colon = authority.find(':');
    ep.host = lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad_url(url, "empty port");
    }
    for (char c : ep.host) {
      if (!is_reg_name_char(c)) return bad_url(url, "invalid character in host");
    }
  }
  if (ep.host.empty()) return bad_url(url, "empty host");

  if (port_text.empty()) {
    ep.port = ep.tls() ? 443 : 80;
  } else {
    if (port_text.size() > 5) return bad_url(url, "port out of range");
    unsigned value = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad_url(url, "port is not a number");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad_url(url, "port out of range");
    ep.port = static_cast<std::uint16_t>(value);
  }

  std::string base(path);
  while (!base.empty() && base.back() == '/') base.pop_back();
  ep.base_path = std::move(base);
  return ep;
}

}  // namespace jobgw::core
