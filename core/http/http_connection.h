#pragma once

// Internal to HttpClient: one HTTP/1.1 connection (plain or TLS). Includes Beast; only
// http_client.cc and tests of the transport should include it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/http/http_url.h"

namespace jobgw::core::detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

using Strand = net::strand<net::io_context::executor_type>;
using Clock = std::chrono::steady_clock;
using WireRequest = http::request<http::string_body>;
using WireResponse = http::response<http::string_body>;

// Where an exchange stopped; decides whether the request may have reached the server.
enum class Stage { kResolve, kConnect, kHandshake, kWrite, kRead };
const char* to_string(Stage stage);

struct ConnectionOutcome {
  beast::error_code ec;  // empty on success
  Stage stage = Stage::kResolve;
  bool timed_out = false;
  bool tls_verification_failed = false;
  std::size_t bytes_written = 0;  // of the request, when stage >= kWrite
  std::string cause;              // readable reason for ec
  std::optional<WireResponse> response;
  bool reusable = false;  // keep-alive allowed and nothing unread left behind
};

// Every handler runs on the strand given at construction; callers must call the methods on that
// strand too. One operation at a time: connect() once, then exchange() repeatedly.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  using Handler = std::function<void(ConnectionOutcome)>;

  // `tls` is null for plain HTTP. With `verify_host` the certificate must match the endpoint's
  // host (the context decides whether the chain is verified at all).
  HttpConnection(Strand strand, net::ssl::context* tls, const HttpEndpoint& endpoint,
                 bool verify_host);

  // Resolve, TCP connect (bounded by connect_deadline) and TLS handshake (bounded by deadline).
  void connect(Clock::time_point connect_deadline, Clock::time_point deadline, Handler done);

  // Writes `request` and reads one response, both before `deadline`.
  void exchange(std::shared_ptr<const WireRequest> request, Clock::time_point deadline,
                std::size_t body_limit, Handler done);

  // Cheap check before reusing an idle connection: the socket is open and has nothing to read.
  // Readable data on an idle HTTP/1.1 connection is either EOF/RST from the peer or an
  // unsolicited answer (e.g. a 408), and either way the connection is unusable.
  bool usable_when_idle() const;

  void close();

  net::steady_timer& idle_timer() { return idle_timer_; }
  std::uint64_t& idle_generation() { return idle_generation_; }

 private:
  beast::tcp_stream& tcp();
  const beast::tcp_stream& tcp() const;
  void on_resolve(const beast::error_code& ec, net::ip::tcp::resolver::results_type results);
  void on_connect(const beast::error_code& ec);
  void on_handshake(const beast::error_code& ec);
  void on_write(const beast::error_code& ec, std::size_t bytes);
  void on_read(const beast::error_code& ec);
  void fail(beast::error_code ec, Stage stage);
  void complete(ConnectionOutcome outcome);

  Strand strand_;
  HttpEndpoint endpoint_;
  bool verify_host_;
  net::ip::tcp::resolver resolver_;
  net::steady_timer resolve_timer_;  // the resolver has no deadline of its own
  net::steady_timer idle_timer_;
  std::uint64_t idle_generation_ = 0;
  std::optional<beast::tcp_stream> plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  std::shared_ptr<const WireRequest> request_;
  Handler handler_;
  Clock::time_point connect_deadline_;
  Clock::time_point deadline_;
  std::size_t bytes_written_ = 0;
  bool resolving_ = false;
  bool resolve_timed_out_ = false;
};

}  // namespace jobgw::core::detail
