#include "tests/support/fake_http_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace jobgw::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what + " failed");
}

void add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(ext != nullptr, "X509V3_EXT_conf_nid");
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  check(ok == 1, "X509_add_ext");
}

// A self-signed P-256 certificate usable both as the server's certificate and as the client's
// trust anchor.
std::pair<std::unique_ptr<EVP_PKEY, PkeyFree>, std::unique_ptr<X509, X509Free>> make_certificate(
    const std::vector<std::string>& hosts) {
  std::unique_ptr<EVP_PKEY, PkeyFree> key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  std::unique_ptr<X509, X509Free> cert(X509_new());
  check(cert != nullptr, "X509_new");
  check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  static std::atomic<long> serial{1};
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial++);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  check(X509_set_pubkey(cert.get(), key.get()) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("jobgw fake server"), -1, -1,
                             0);
  check(X509_set_issuer_name(cert.get(), name) == 1, "X509_set_issuer_name");
  std::string san;
  for (const auto& host : hosts) {
    boost::system::error_code ec;
    net::ip::make_address(host, ec);
    if (!san.empty()) san += ",";
    san += (ec ? "DNS:" : "IP:") + host;
  }
  add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
  add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
  add_extension(cert.get(), NID_subject_key_identifier, "hash");
  if (!san.empty()) add_extension(cert.get(), NID_subject_alt_name, san);
  check(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0, "X509_sign");
  return {std::move(key), std::move(cert)};
}

}  // namespace

std::optional<std::string> RecordedRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

FakeResponse FakeResponse::json(std::string body, int status) {
  FakeResponse r;
  r.status = status;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

FakeResponse FakeResponse::with_status(int status, std::string body) {
  FakeResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// Sessions and handlers point at the State raw: it outlives them, because they live in `io`,
// which is destroyed with it, and a shared owner would make a cycle through the handler queue.
struct FakeHttpServer::State {
  net::io_context io{1};
  tcp::acceptor acceptor{io};
  std::unique_ptr<net::ssl::context> tls;
  std::string temp_dir;
  std::string ca_file;
  std::uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> stopped{false};

  mutable std::mutex mutex;
  Handler handler;
  std::vector<RecordedRequest> recorded;
  std::size_t accepted = 0;
  std::size_t closed = 0;
  std::size_t open = 0;
  std::size_t max_open = 0;

  void accept();
  FakeResponse answer(const RecordedRequest& request) {
    Handler h;
    {
      std::lock_guard<std::mutex> lock(mutex);
      recorded.push_back(request);
      h = handler;
    }
    if (!h) return FakeResponse::json(R"({"result":true})");
    return h(request);
  }
  void connection_closed() {
    std::lock_guard<std::mutex> lock(mutex);
    ++closed;
    --open;
  }
};

namespace {

template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(FakeHttpServer::State* state, Stream stream, std::uint64_t id)
      : state_(state), stream_(std::move(stream)), timer_(state_->io), id_(id) {}

  void start() {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      read();
    } else {
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->finish(false);
                                self->read();
                              });
    }
  }

 private:
  void read() {
    request_ = {};
    http::async_read(stream_, buffer_, request_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       if (ec) return self->finish(false);
                       self->on_request();
                     });
  }

  void on_request() {
    RecordedRequest recorded;
    recorded.connection_id = id_;
    recorded.method = std::string(request_.method_string());
    recorded.target = std::string(request_.target());
    for (const auto& field : request_) {
      recorded.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    recorded.body = request_.body();
    response_ = state_->answer(recorded);
    if (response_.delay.count() > 0) {
      timer_.expires_after(response_.delay);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
        if (ec) return self->finish(false);
        self->respond();
      });
    } else {
      respond();
    }
  }

  void respond() {
    if (response_.reset) return finish(true);
    const bool keep_alive = !response_.close && request_.keep_alive();
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response_.status), 11);
    for (const auto& [name, value] : response_.headers) res->set(name, value);
    res->body() = response_.body;
    res->keep_alive(keep_alive);
    res->prepare_payload();
    http::async_write(
        stream_, *res,
        [self = this->shared_from_this(), res, keep_alive](beast::error_code ec, std::size_t) {
          if (ec || !keep_alive || self->response_.close_after_answer) {
            return self->finish(false);
          }
          self->read();
        });
  }

  void finish(bool reset) {
    if (finished_) return;
    finished_ = true;
    auto& socket = beast::get_lowest_layer(stream_).socket();
    beast::error_code ignored;
    if (reset) {
      // Zero linger makes close() send RST instead of FIN.
      socket.set_option(net::socket_base::linger(true, 0), ignored);
    } else {
      socket.shutdown(tcp::socket::shutdown_send, ignored);
    }
    socket.close(ignored);
    state_->connection_closed();
  }

  FakeHttpServer::State* state_;
  Stream stream_;
  net::steady_timer timer_;
  std::uint64_t id_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  FakeResponse response_;
  bool finished_ = false;
};

}  // namespace

void FakeHttpServer::State::accept() {
  acceptor.async_accept([self = this](beast::error_code ec, tcp::socket socket) {
    if (ec) return;  // stopped
    std::uint64_t id;
    {
      std::lock_guard<std::mutex> lock(self->mutex);
      id = ++self->accepted;
      ++self->open;
      self->max_open = std::max(self->max_open, self->open);
    }
    if (self->tls) {
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      std::make_shared<Session<TlsStream>>(
          self, TlsStream(beast::tcp_stream(std::move(socket)), *self->tls), id)
          ->start();
    } else {
      std::make_shared<Session<beast::tcp_stream>>(self, beast::tcp_stream(std::move(socket)), id)
          ->start();
    }
    self->accept();
  });
}

FakeHttpServer::FakeHttpServer(Handler handler, FakeServerOptions options)
    : state_(std::make_unique<State>()) {
  state_->handler = std::move(handler);
  if (options.tls) {
    auto [key, cert] = make_certificate(options.cert_hosts);
    state_->tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    check(SSL_CTX_use_certificate(state_->tls->native_handle(), cert.get()) == 1,
          "SSL_CTX_use_certificate");
    check(SSL_CTX_use_PrivateKey(state_->tls->native_handle(), key.get()) == 1,
          "SSL_CTX_use_PrivateKey");
    char dir_template[] = "/tmp/jobgw-fake-http-XXXXXX";
    check(::mkdtemp(dir_template) != nullptr, "mkdtemp");
    state_->temp_dir = dir_template;
    state_->ca_file = state_->temp_dir + "/ca.pem";
    FILE* f = std::fopen(state_->ca_file.c_str(), "w");
    check(f != nullptr, "fopen ca.pem");
    const int written = PEM_write_X509(f, cert.get());
    std::fclose(f);
    check(written == 1, "PEM_write_X509");
  }
  const tcp::endpoint listen(net::ip::make_address("127.0.0.1"), 0);
  state_->acceptor.open(listen.protocol());
  state_->acceptor.set_option(net::socket_base::reuse_address(true));
  state_->acceptor.bind(listen);
  state_->acceptor.listen();
  state_->port = state_->acceptor.local_endpoint().port();
  state_->accept();
  state_->thread = std::thread([state = state_.get()] { state->io.run(); });
}

FakeHttpServer::~FakeHttpServer() {
  stop();
  if (!state_->temp_dir.empty()) {
    std::remove(state_->ca_file.c_str());
    ::rmdir(state_->temp_dir.c_str());
  }
}

void FakeHttpServer::stop() {
  if (state_->stopped.exchange(true)) return;
  net::post(state_->io, [state = state_.get()] {
    beast::error_code ignored;
    state->acceptor.close(ignored);
    state->io.stop();
  });
  state_->thread.join();
}

void FakeHttpServer::set_handler(Handler handler) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->handler = std::move(handler);
}

std::uint16_t FakeHttpServer::port() const { return state_->port; }

std::string FakeHttpServer::base_url() const {
  return std::string(state_->tls ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(state_->port);
}

const std::string& FakeHttpServer::ca_file() const { return state_->ca_file; }

std::size_t FakeHttpServer::connections_accepted() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->accepted;
}

std::size_t FakeHttpServer::connections_closed() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->closed;
}

std::size_t FakeHttpServer::max_concurrent_connections() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->max_open;
}

std::size_t FakeHttpServer::requests_received() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->recorded.size();
}

std::size_t FakeHttpServer::count(std::string_view method) const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  std::size_t n = 0;
  for (const auto& r : state_->recorded) n += r.method == method ? 1 : 0;
  return n;
}

std::vector<RecordedRequest> FakeHttpServer::requests() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->recorded;
}

bool FakeHttpServer::wait_until(const std::function<bool()>& condition,
                                std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= until) return condition();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace jobgw::testing
