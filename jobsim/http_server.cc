#include "jobsim/http_server.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

namespace jobsim {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kIoTimeout = std::chrono::seconds(30);
constexpr size_t kBodyLimit = 64 * 1024 * 1024;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Router& router)
      : stream_(std::move(socket)), router_(router), delay_(stream_.get_executor()) {}

  void run() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->body_limit(kBodyLimit);
    stream_.expires_after(kIdleTimeout);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream) return close();
    if (ec) {
      if (ec != beast::error::timeout && ec != asio::error::operation_aborted &&
          ec != asio::error::connection_reset) {
        // A request that does not parse gets a 400 before the connection closes.
        if (ec.category() == make_error_code(http::error::bad_target).category()) {
          HttpOut out;
          out.status = 400;
          out.body =
              R"({"result":false,"code":1640400,"code_name":"BAD_REQUEST","message":"malformed HTTP request","data":null})";
          keep_alive_ = false;
          return write(out);
        }
      }
      return close();
    }
    auto& req = parser_->get();
    HttpIn in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    for (auto& f : req) {
      std::string key;
      for (char c : f.name_string())
        key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      in.headers[key] = std::string(f.value());
    }
    in.body = std::move(req.body());
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    HttpOut out = router_.handle(in);
    if (out.delay_ms > 0) {
      delay_.expires_after(std::chrono::milliseconds(out.delay_ms));
      delay_.async_wait(
          [self = shared_from_this(), out = std::move(out)](beast::error_code ec) mutable {
            if (ec) return self->close();
            self->respond(std::move(out));
          });
      return;
    }
    respond(std::move(out));
  }

  void respond(HttpOut out) {
    if (out.reset) {
      beast::error_code ignored;
      stream_.socket().set_option(asio::socket_base::linger(true, 0), ignored);
      stream_.socket().close(ignored);
      return;
    }
    write(out);
  }

  void write(const HttpOut& out) {
    res_ = {};
    res_.version(version_ ? version_ : 11);
    res_.result(static_cast<unsigned>(out.status));
    res_.set(http::field::server, "jobsim");
    res_.set(http::field::content_type, out.content_type);
    for (auto& [k, v] : out.headers) res_.set(k, v);
    res_.keep_alive(keep_alive_);
    res_.body() = out.body;
    res_.prepare_payload();
    stream_.expires_after(kIoTimeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!self->keep_alive_) return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  Router& router_;
  asio::steady_timer delay_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
  unsigned version_ = 11;
};

}  // namespace

std::pair<std::string, unsigned short> parse_listen(const std::string& spec) {
  std::string host, port;
  if (!spec.empty() && spec[0] == '[') {
    size_t close = spec.find(']');
    if (close == std::string::npos || close + 1 >= spec.size() || spec[close + 1] != ':') {
      throw std::invalid_argument("--listen \"" + spec + "\": expected [V6ADDR]:PORT");
    }
    host = spec.substr(1, close - 1);
    port = spec.substr(close + 2);
  } else {
    size_t colon = spec.rfind(':');
    if (colon == std::string::npos)
      throw std::invalid_argument("--listen \"" + spec + "\": expected HOST:PORT");
    host = spec.substr(0, colon);
    port = spec.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.size() > 5) {
    throw std::invalid_argument("--listen \"" + spec + "\": expected HOST:PORT");
  }
  for (char c : port) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      throw std::invalid_argument("--listen \"" + spec + "\": bad port");
  }
  int p = std::stoi(port);
  if (p > 65535) throw std::invalid_argument("--listen \"" + spec + "\": bad port");
  return {host, static_cast<unsigned short>(p)};
}

HttpServer::HttpServer(asio::io_context& ioc, Router& router)
    : ioc_(ioc), router_(router), acceptor_(asio::make_strand(ioc)) {}

unsigned short HttpServer::listen(const std::string& host, unsigned short port) {
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  tcp::endpoint ep(asio::ip::make_address(h), port);
  acceptor_.open(ep.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  if (ep.address().is_v6()) acceptor_.set_option(asio::ip::v6_only(true));
  acceptor_.bind(ep);
  acceptor_.listen(asio::socket_base::max_listen_connections);
  ::fcntl(acceptor_.native_handle(), F_SETFD, FD_CLOEXEC);
  accept();
  return acceptor_.local_endpoint().port();
}

void HttpServer::accept() {
  acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
      std::make_shared<Session>(std::move(socket), router_)->run();
    } else {
      spdlog::warn("event=accept_error error=\"{}\"", ec.message());
    }
    accept();
  });
}

void HttpServer::stop() {
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
}

}  // namespace jobsim
