#include "tests/support/https_client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace jobgw::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

HttpResponse https_request(const std::string& method, int port, const std::string& target,
                           const std::string& ca_file, const std::string& body,
                           std::chrono::milliseconds timeout) {
  HttpResponse out;
  try {
    asio::io_context ioc;
    ssl::context ctx(ssl::context::tls_client);
    ctx.load_verify_file(ca_file);
    ctx.set_verify_mode(ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(ioc, ctx);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"),
                               static_cast<unsigned short>(port));
    beast::error_code result = asio::error::would_block;
    auto step = [&](const char* what, auto&& start) {
      result = asio::error::would_block;
      start([&result](beast::error_code ec, auto&&...) { result = ec; });
      ioc.restart();
      ioc.run();
      if (result) out.error = std::string(what) + ": " + result.message();
      return !result;
    };
    beast::get_lowest_layer(stream).expires_after(timeout);
    if (!step("connect", [&](auto h) { beast::get_lowest_layer(stream).async_connect(ep, h); }))
      return out;
    if (!step("handshake", [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); })) {
      return out;
    }
    http::request<http::string_body> req;
    req.method(http::string_to_verb(method));
    req.target(target);
    req.version(11);
    req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
    req.set(http::field::connection, "close");
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    if (!step("write", [&](auto h) { http::async_write(stream, req, h); })) return out;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    if (!step("read", [&](auto h) { http::async_read(stream, buffer, res, h); })) return out;
    out.status = static_cast<int>(res.result_int());
    out.body = res.body();
  } catch (const std::exception& e) {
    out.status = 0;
    out.error = e.what();
  }
  return out;
}

}  // namespace jobgw::testing
