#include "tests/support/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace jobgw::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string HttpResponse::header(const std::string& name) const {
  std::string key;
  for (char c : name) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = headers.find(key);
  return it == headers.end() ? std::string() : it->second;
}

namespace {

// Runs one asynchronous operation to completion on `ioc` (the stream's expiry bounds it).
template <typename Start>
beast::error_code run_op(asio::io_context& ioc, Start&& start) {
  beast::error_code result = asio::error::would_block;
  start([&result](beast::error_code ec, auto&&...) { result = ec; });
  ioc.restart();
  ioc.run();
  return result;
}

}  // namespace

HttpResponse http_request(const std::string& method, int port, const std::string& target,
                          const std::string& body, const HttpHeaders& headers,
                          std::chrono::milliseconds timeout, const std::string& host) {
  HttpResponse out;
  try {
    asio::io_context ioc;
    beast::tcp_stream stream(ioc);
    asio::ip::tcp::endpoint ep(asio::ip::make_address(host), static_cast<unsigned short>(port));
    stream.expires_after(timeout);
    auto ec = run_op(ioc, [&](auto h) { stream.async_connect(ep, h); });
    if (ec) {
      out.error = "connect: " + ec.message();
      return out;
    }
    http::request<http::string_body> req;
    req.method(http::string_to_verb(method));
    req.target(target);
    req.version(11);
    req.set(http::field::host, host + ":" + std::to_string(port));
    req.set(http::field::connection, "close");
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    for (auto& [k, v] : headers) req.set(k, v);
    req.prepare_payload();
    ec = run_op(ioc, [&](auto h) { http::async_write(stream, req, h); });
    if (ec) {
      out.error = "write: " + ec.message();
      return out;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    ec = run_op(ioc, [&](auto h) { http::async_read(stream, buffer, parser, h); });
    if (ec) {
      out.error = "read: " + ec.message();
      return out;
    }
    auto& res = parser.get();
    out.status = static_cast<int>(res.result_int());
    for (auto& f : res) {
      std::string key;
      for (char c : f.name_string()) {
        key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      out.headers[key] = std::string(f.value());
    }
    out.body = res.body();
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

HttpResponse http_get(int port, const std::string& target, const HttpHeaders& headers,
                      std::chrono::milliseconds timeout) {
  return http_request("GET", port, target, "", headers, timeout);
}

HttpResponse http_post_json(int port, const std::string& target, const std::string& body,
                            const HttpHeaders& headers, std::chrono::milliseconds timeout) {
  return http_request("POST", port, target, body, headers, timeout);
}

HttpResponse http_delete(int port, const std::string& target, const HttpHeaders& headers,
                         std::chrono::milliseconds timeout) {
  return http_request("DELETE", port, target, "", headers, timeout);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace jobgw::testing
