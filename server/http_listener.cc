#include "server/http_listener.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <mutex>
#include <optional>
#include <type_traits>
#include <unordered_map>

#include "server/http_tls.h"

namespace jobgw::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

class SessionBase;

class HttpListener::Impl : public std::enable_shared_from_this<HttpListener::Impl> {
 public:
  Impl(asio::io_context& io, Handler handler, HttpListenerOptions options)
      : io_(io),
        acceptor_(asio::make_strand(io)),
        handler_(std::move(handler)),
        options_(std::move(options)) {}

  asio::io_context& io_;
  tcp::acceptor acceptor_;
  Handler handler_;
  HttpListenerOptions options_;

  std::mutex mu_;
  bool stopped_ = false;
  std::uint64_t next_id_ = 0;
  // Open sessions, so stop() can close kept-alive connections instead of waiting for timeouts.
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;

  void accept();
  void stop();
  void forget(std::uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
  }
};

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void run() = 0;
  // From any thread: closes the connection on the session's strand.
  virtual void close_soon() = 0;
};

// One connection. Stream is beast::tcp_stream (HTTP) or ssl_stream over one (HTTPS); the TLS
// context is held for the connection's life.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <typename... StreamArgs>
  Session(std::shared_ptr<HttpListener::Impl> owner, std::uint64_t id,
          std::shared_ptr<ssl::context> tls, StreamArgs&&... stream_args)
      : tls_(std::move(tls)),
        stream_(std::forward<StreamArgs>(stream_args)...),
        owner_(std::move(owner)),
        id_(id) {
    beast::error_code ec;
    auto peer = lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = peer.address().to_string() + ":" + std::to_string(peer.port());
  }

  ~Session() override { owner_->forget(id_); }

  void run() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (kTls) {
        self->handshake();
      } else {
        self->read();
      }
    });
  }

  void close_soon() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->close(); });
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void handshake() {
    lowest().expires_after(owner_->options_.handshake_timeout);
    stream_.async_handshake(
        ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
          if (ec) {
            // Scanners, plaintext clients, untrusted peers: nothing to answer.
            spdlog::debug("event=http_tls_handshake_failed remote={} error=\"{}\"", self->remote_,
                          ec.message());
            return self->close();
          }
          self->read();
        });
  }

  void read() {
    if (closed_) return;
    parser_.emplace();
    parser_->body_limit(owner_->options_.body_limit);
    parser_->header_limit(16 * 1024);
    lowest().expires_after(owner_->options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted || ec == asio::error::connection_reset ||
        ec == asio::error::eof || ec == ssl::error::stream_truncated || closed_) {
      return close();
    }
    if (ec) {
      // The request did not parse; answer once, then close: the stream position is unknown.
      HttpListenerResponse out;
      if (ec == http::error::body_limit) {
        out.status = 413;
        out.body = "request body too large\n";
      } else if (ec == http::error::header_limit) {
        out.status = 431;
        out.body = "request headers too large\n";
      } else {
        out.status = 400;
        out.body = "malformed HTTP request\n";
      }
      spdlog::debug("event=http_bad_request remote={} status={} error=\"{}\"", remote_, out.status,
                    ec.message());
      keep_alive_ = false;
      return write(std::move(out), 11);
    }

    auto& req = parser_->get();
    HttpListenerRequest in;
    in.method = std::string(req.method_string());
    in.target = std::string(req.target());
    in.path = in.target.substr(0, in.target.find('?'));
    if (auto it = req.find(http::field::content_type); it != req.end()) {
      in.content_type = std::string(it->value());
    }
    in.body = std::move(req.body());
    in.remote = remote_;
    keep_alive_ = req.keep_alive();
    unsigned version = req.version();

    HttpListenerResponse out;
    try {
      out = owner_->handler_(in);
    } catch (const std::exception& e) {
      spdlog::error("event=http_handler_error path=\"{}\" error=\"{}\"", in.path, e.what());
      out = HttpListenerResponse{500, "text/plain; charset=utf-8", {}, "internal error\n"};
    } catch (...) {
      spdlog::error("event=http_handler_error path=\"{}\" error=unknown", in.path);
      out = HttpListenerResponse{500, "text/plain; charset=utf-8", {}, "internal error\n"};
    }
    write(std::move(out), version);
  }

  void write(HttpListenerResponse out, unsigned version) {
    res_ = {};
    res_.version(version == 10 ? 10 : 11);
    res_.result(static_cast<unsigned>(out.status));
    res_.set(http::field::server, "jobgw");
    res_.set(http::field::content_type, out.content_type);
    for (auto& [name, value] : out.headers) res_.set(name, value);
    res_.keep_alive(keep_alive_);
    res_.body() = std::move(out.body);
    res_.prepare_payload();
    lowest().expires_after(owner_->options_.write_timeout);
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->keep_alive_) return self->close();
                        self->read();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  std::shared_ptr<ssl::context> tls_;  // before stream_, which refers to it
  Stream stream_;
  std::shared_ptr<HttpListener::Impl> owner_;
  std::uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  bool keep_alive_ = true;
  bool closed_ = false;
};

void HttpListener::Impl::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [self = shared_from_this()](beast::error_code ec,
                                                                             tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) return;
    if (ec) {
      // Out of file descriptors and similar: the listener keeps going.
      spdlog::warn("event=http_accept_error error=\"{}\"", ec.message());
      return self->accept();
    }
    ::fcntl(socket.native_handle(), F_SETFD, FD_CLOEXEC);
    // Outside the lock: it may re-read changed certificate files.
    std::shared_ptr<ssl::context> context;
    if (self->options_.tls) context = self->options_.tls->current();
    std::shared_ptr<SessionBase> session;
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      if (self->stopped_) return;
      if (self->sessions_.size() < self->options_.max_connections) {
        std::uint64_t id = self->next_id_++;
        if (context) {
          session = std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
              self, id, context, std::move(socket), *context);
        } else {
          session =
              std::make_shared<Session<beast::tcp_stream>>(self, id, nullptr, std::move(socket));
        }
        self->sessions_[id] = session;
      }
    }
    if (session) {
      session->run();
    } else {
      beast::error_code ignored;
      socket.close(ignored);
      spdlog::warn("event=http_connection_refused reason=max_connections limit={}",
                   self->options_.max_connections);
    }
    self->accept();
  });
}

void HttpListener::Impl::stop() {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, weak] : sessions_) {
      if (auto s = weak.lock()) open.push_back(std::move(s));
    }
  }
  asio::post(acceptor_.get_executor(), [self = shared_from_this()] {
    beast::error_code ignored;
    self->acceptor_.close(ignored);
  });
  for (auto& s : open) s->close_soon();
}

core::Result<std::unique_ptr<HttpListener>> HttpListener::create(asio::io_context& io,
                                                                 const std::string& host,
                                                                 std::uint16_t port,
                                                                 Handler handler,
                                                                 HttpListenerOptions options) {
  auto fail = [&](const std::string& why) {
    return core::Error::invalid_argument("cannot listen on " + host + ":" + std::to_string(port) +
                                         ": " + why);
  };
  beast::error_code ec;
  auto address = asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host, ec);
  if (ec) return fail("not an IP address");
  tcp::endpoint endpoint(address, port);
  auto impl = std::make_shared<Impl>(io, std::move(handler), std::move(options));
  auto& acceptor = impl->acceptor_;
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ec.message());
  ::fcntl(acceptor.native_handle(), F_SETFD, FD_CLOEXEC);
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (address.is_v6()) acceptor.set_option(asio::ip::v6_only(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return fail(ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  std::uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return fail(ec.message());
  impl->accept();
  return std::unique_ptr<HttpListener>(new HttpListener(std::move(impl), host, bound));
}

HttpListener::~HttpListener() { stop(); }

void HttpListener::stop() { impl_->stop(); }

}  // namespace jobgw::server
