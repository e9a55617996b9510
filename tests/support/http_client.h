#pragma once

#include <chrono>
#include <map>
#include <string>

namespace jobgw::testing {

struct HttpResponse {
  int status = 0;                              // 0 when the exchange failed
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // transport error (connection reset, timeout, ...), empty on success
  bool ok() const { return error.empty() && status != 0; }
  std::string header(const std::string& name) const;
};

using HttpHeaders = std::map<std::string, std::string>;

// One blocking HTTP/1.1 exchange with 127.0.0.1:`port` (Connection: close). Never throws;
// failures are reported in HttpResponse::error.
HttpResponse http_request(const std::string& method, int port, const std::string& target,
                          const std::string& body = "", const HttpHeaders& headers = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(10),
                          const std::string& host = "127.0.0.1");
HttpResponse http_get(int port, const std::string& target, const HttpHeaders& headers = {},
                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
HttpResponse http_post_json(int port, const std::string& target, const std::string& body,
                            const HttpHeaders& headers = {},
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));
HttpResponse http_delete(int port, const std::string& target, const HttpHeaders& headers = {},
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

// Percent-encodes a query string component.
std::string url_encode(const std::string& s);

}  // namespace jobgw::testing
