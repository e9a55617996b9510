#include "core/http/http_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>

namespace jobgw::core::detail {

const char* to_string(Stage stage) {
  switch (stage) {
    case Stage::kResolve:
      return "resolve";
    case Stage::kConnect:
      return "connect";
    case Stage::kHandshake:
      return "tls_handshake";
    case Stage::kWrite:
      return "write";
    case Stage::kRead:
      return "read";
  }
  return "unknown";
}

HttpConnection::HttpConnection(Strand strand, net::ssl::context* tls, const HttpEndpoint& endpoint,
                               bool verify_host)
    : strand_(strand),
      endpoint_(endpoint),
      verify_host_(verify_host),
      resolver_(strand),
      resolve_timer_(strand),
      idle_timer_(strand) {
  if (tls != nullptr) {
    tls_.emplace(strand, *tls);
  } else {
    plain_.emplace(strand);
  }
}

beast::tcp_stream& HttpConnection::tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }

const beast::tcp_stream& HttpConnection::tcp() const {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

void HttpConnection::connect(Clock::time_point connect_deadline, Clock::time_point deadline,
                             Handler done) {
  handler_ = std::move(done);
  connect_deadline_ = connect_deadline;
  deadline_ = deadline;
  resolving_ = true;
  resolve_timer_.expires_at(connect_deadline);
  resolve_timer_.async_wait([self = shared_from_this()](const beast::error_code& ec) {
    if (ec || !self->resolving_) return;
    self->resolve_timed_out_ = true;
    self->resolver_.cancel();
  });
  auto flags = net::ip::tcp::resolver::numeric_service;
  if (endpoint_.host_is_ip_literal()) flags |= net::ip::tcp::resolver::numeric_host;
  resolver_.async_resolve(
      endpoint_.host, std::to_string(endpoint_.port), flags,
      [self = shared_from_this()](const beast::error_code& ec,
                                  net::ip::tcp::resolver::results_type results) {
        self->on_resolve(ec, std::move(results));
      });
}

void HttpConnection::on_resolve(const beast::error_code& ec,
                                net::ip::tcp::resolver::results_type results) {
  resolving_ = false;
  resolve_timer_.cancel();
  if (resolve_timed_out_) return fail(beast::error::timeout, Stage::kResolve);
  if (ec) return fail(ec, Stage::kResolve);
  tcp().expires_at(connect_deadline_);
  tcp().async_connect(results, [self = shared_from_this()](const beast::error_code& ec,
                                                           const net::ip::tcp::endpoint&) {
    self->on_connect(ec);
  });
}

void HttpConnection::on_connect(const beast::error_code& ec) {
  if (ec) return fail(ec, Stage::kConnect);
  beast::error_code ignored;
  // Requests go out in one write and the answer is awaited; Nagle would only add latency.
  tcp().socket().set_option(net::ip::tcp::no_delay(true), ignored);
  if (!tls_) {
    ConnectionOutcome outcome;
    outcome.stage = Stage::kConnect;
    return complete(std::move(outcome));
  }
  // SNI must not carry an IP literal (RFC 6066), but host-name verification still applies.
  if (!endpoint_.host_is_ip_literal() &&
      !SSL_set_tlsext_host_name(tls_->native_handle(), endpoint_.host.c_str())) {
    return fail(
        beast::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category()),
        Stage::kHandshake);
  }
  if (verify_host_) tls_->set_verify_callback(net::ssl::host_name_verification(endpoint_.host));
  tcp().expires_at(deadline_);
  tls_->async_handshake(
      net::ssl::stream_base::client,
      [self = shared_from_this()](const beast::error_code& ec) { self->on_handshake(ec); });
}

void HttpConnection::on_handshake(const beast::error_code& ec) {
  if (ec) return fail(ec, Stage::kHandshake);
  ConnectionOutcome outcome;
  outcome.stage = Stage::kHandshake;
  complete(std::move(outcome));
}

void HttpConnection::exchange(std::shared_ptr<const WireRequest> request,
                              Clock::time_point deadline, std::size_t body_limit, Handler done) {
  handler_ = std::move(done);
  request_ = std::move(request);
  deadline_ = deadline;
  bytes_written_ = 0;
  parser_.emplace();
  parser_->body_limit(body_limit);
  parser_->header_limit(64 * 1024);
  if (request_->method() == http::verb::head) parser_->skip(true);
  tcp().expires_at(deadline);
  auto on_write = [self = shared_from_this()](const beast::error_code& ec, std::size_t bytes) {
    self->on_write(ec, bytes);
  };
  if (tls_) {
    http::async_write(*tls_, *request_, std::move(on_write));
  } else {
    http::async_write(*plain_, *request_, std::move(on_write));
  }
}

void HttpConnection::on_write(const beast::error_code& ec, std::size_t bytes) {
  bytes_written_ = bytes;
  if (ec) return fail(ec, Stage::kWrite);
  auto on_read = [self = shared_from_this()](const beast::error_code& ec, std::size_t) {
    self->on_read(ec);
  };
  if (tls_) {
    http::async_read(*tls_, buffer_, *parser_, std::move(on_read));
  } else {
    http::async_read(*plain_, buffer_, *parser_, std::move(on_read));
  }
}

void HttpConnection::on_read(const beast::error_code& ec) {
  if (ec) return fail(ec, Stage::kRead);
  tcp().expires_never();
  ConnectionOutcome outcome;
  outcome.stage = Stage::kRead;
  outcome.bytes_written = bytes_written_;
  outcome.response.emplace(parser_->release());
  parser_.reset();
  request_.reset();
  outcome.reusable = !outcome.response->need_eof() && buffer_.size() == 0;
  complete(std::move(outcome));
}

void HttpConnection::fail(beast::error_code ec, Stage stage) {
  ConnectionOutcome outcome;
  outcome.ec = ec;
  outcome.stage = stage;
  outcome.bytes_written = stage >= Stage::kWrite ? bytes_written_ : 0;
  const Clock::time_point limit = stage <= Stage::kConnect ? connect_deadline_ : deadline_;
  // The TLS layer may report a lower-layer timeout as a generic error, so the clock decides too.
  outcome.timed_out = ec == beast::error::timeout || Clock::now() >= limit;
  outcome.cause = ec.message();
  if (stage == Stage::kHandshake && tls_) {
    const long verify = SSL_get_verify_result(tls_->native_handle());
    const bool verify_reason =
        ec.category() == net::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
    std::string detail;
    if (verify == X509_V_ERR_UNSPECIFIED && verify_host_) {
      // What OpenSSL records when host_name_verification rejects an otherwise valid chain.
      detail = "certificate does not match host '" + endpoint_.host + "'";
    } else if (verify != X509_V_OK) {
      detail = X509_verify_cert_error_string(verify);
    } else if (verify_reason) {
      detail = "certificate rejected";
    }
    if (!detail.empty()) {
      outcome.tls_verification_failed = true;
      outcome.cause += " (certificate verification: " + detail + ")";
    }
    if (outcome.tls_verification_failed) outcome.timed_out = false;
  }
  if (outcome.timed_out && ec != beast::error::timeout) {
    outcome.cause = "deadline reached (" + outcome.cause + ")";
  }
  complete(std::move(outcome));
}

void HttpConnection::complete(ConnectionOutcome outcome) {
  if (!handler_) return;
  Handler handler = std::move(handler_);
  handler_ = nullptr;
  handler(std::move(outcome));
}

bool HttpConnection::usable_when_idle() const {
  const auto& socket = tcp().socket();
  if (!socket.is_open() || buffer_.size() != 0) return false;
  char byte;
  const ssize_t n = ::recv(const_cast<beast::tcp_stream&>(tcp()).socket().native_handle(), &byte, 1,
                           MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void HttpConnection::close() {
  resolving_ = false;
  resolver_.cancel();
  resolve_timer_.cancel();
  idle_timer_.cancel();
  beast::error_code ignored;
  tcp().socket().shutdown(net::ip::tcp::socket::shutdown_both, ignored);
  tcp().close();
}

}  // namespace jobgw::core::detail
