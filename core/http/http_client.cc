#include "core/http/http_client.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/defer.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/string.hpp>
#include <cctype>
#include <ctime>
#include <deque>
#include <limits>
#include <stdexcept>
#include <unordered_set>

#include "core/http/http_connection.h"

namespace jobgw::core {

using detail::Clock;
using detail::ConnectionOutcome;
using detail::HttpConnection;
using detail::Stage;
using detail::Strand;
using detail::WireRequest;
using detail::WireResponse;
namespace net = detail::net;
namespace beast = detail::beast;
namespace http = detail::http;

namespace {

bool retryable_status(int status) {
  return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) continue;
    if (std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool has_ctl(std::string_view s, bool allow_space) {
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u == 0x7f || (u < 0x20 && !(allow_space && c == '\t')) || (!allow_space && u == 0x20)) {
      return true;
    }
  }
  return false;
}

Error cancelled_error(const std::string& label) {
  Error e;
  e.kind = ErrorKind::kCancelled;
  e.message = label + ": cancelled by HTTP client shutdown";
  return e;
}

Result<std::shared_ptr<const WireRequest>> build_request(const HttpRequest& r,
                                                         const HttpEndpoint& ep,
                                                         const std::string& user_agent) {
  const http::verb verb = http::string_to_verb(r.method);
  if (verb == http::verb::unknown) {
    return Error::invalid_argument(r.label + ": unsupported HTTP method '" + r.method + "'");
  }
  if (r.target.empty() || r.target.front() != '/' || has_ctl(r.target, false)) {
    return Error::invalid_argument(r.label + ": target must start with '/' and be encoded");
  }
  for (const auto& [name, value] : r.headers) {
    // Header injection would let a caller smuggle a second request onto a shared connection.
    if (!is_token(name) || has_ctl(value, true)) {
      return Error::invalid_argument(r.label + ": invalid header '" + name + "'");
    }
  }
  try {
    auto req = std::make_shared<WireRequest>(verb, ep.base_path + r.target, 11);
    req->set(http::field::host, ep.host_header());
    req->set(http::field::user_agent, user_agent);
    req->set(http::field::connection, "keep-alive");
    if (!r.body.empty()) req->set(http::field::content_type, "application/json");
    for (const auto& [name, value] : r.headers) req->set(name, value);
    req->body() = r.body;
    req->prepare_payload();
    return std::shared_ptr<const WireRequest>(std::move(req));
  } catch (const std::exception& e) {
    return Error::invalid_argument(r.label + ": cannot build request: " + e.what());
  }
}

HttpResponse to_response(WireResponse&& wire) {
  HttpResponse out;
  out.status = static_cast<int>(wire.result_int());
  for (const auto& field : wire) {
    out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  out.body = std::move(wire.body());
  return out;
}

struct Call {
  explicit Call(const Strand& strand) : timer(strand) {}

  HttpRequest request;
  CallOptions options;
  HttpClient::Callback done;
  std::shared_ptr<const WireRequest> wire;
  int attempt = 0;
  Clock::time_point attempt_start;
  Clock::time_point attempt_deadline;
  // Queue wait and backoff; the generation tells a stale expiry from the current one.
  net::steady_timer timer;
  std::uint64_t timer_generation = 0;
  std::shared_ptr<HttpConnection> conn;
  bool reused = false;
  bool queued = false;
  bool finished = false;
};
using CallPtr = std::shared_ptr<Call>;

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (beast::iequals(key, name)) return value;
  }
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    // Anything beyond a day is capped by max_retry_after anyway; this only prevents overflow.
    constexpr std::int64_t kCapSeconds = 1'000'000'000;
    std::int64_t seconds = 0;
    for (char c : value) {
      seconds = std::min(kCapSeconds, seconds * 10 + (c - '0'));
    }
    return std::chrono::milliseconds(seconds * 1000);
  }
  // IMF-fixdate, then the two obsolete forms RFC 9110 still requires recipients to accept.
  static constexpr const char* kFormats[] = {"%a, %d %b %Y %H:%M:%S GMT",
                                             "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"};
  const std::string text(value);
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = ::strptime(text.c_str(), format, &tm);
    if (end == nullptr || *end != '\0') continue;
    const std::time_t when = ::timegm(&tm);
    if (when == static_cast<std::time_t>(-1)) continue;
    const auto at = std::chrono::system_clock::from_time_t(when);
    if (at <= now) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  }
  return std::nullopt;
}

// All pool and call state lives on strand_; completions go to the io_context outside it so that
// slow callbacks never hold up the transport.
class HttpClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(net::io_context& io, HttpClientConfig config, HttpEndpoint endpoint,
       std::unique_ptr<net::ssl::context> tls)
      : io_(io),
        config_(std::move(config)),
        endpoint_(std::move(endpoint)),
        tls_(std::move(tls)),
        strand_(net::make_strand(io)),
        backoff_(config_.backoff, config_.uniform01) {
    config_.max_connections = std::max<std::size_t>(config_.max_connections, 1);
    config_.max_attempts = std::max(config_.max_attempts, 1);
  }

  const HttpEndpoint& endpoint() const { return endpoint_; }

  void send(HttpRequest request, CallOptions options, Callback done) {
    auto wire = build_request(request, endpoint_, config_.user_agent);
    if (!wire.ok()) {
      deliver(std::move(done), std::move(wire.error()));
      return;
    }
    auto call = std::make_shared<Call>(strand_);
    call->request = std::move(request);
    call->options = options;
    call->done = std::move(done);
    call->wire = std::move(wire.value());
    net::post(strand_, [self = shared_from_this(), call] {
      self->begin(call);
      self->sync_gauges();
    });
  }

  void shutdown() {
    if (shut_down_.exchange(true)) return;
    net::post(strand_, [self = shared_from_this()] {
      self->do_shutdown();
      self->sync_gauges();
    });
  }

  HttpClientStats stats() const {
    HttpClientStats s;
    s.connect_attempts = connect_attempts_.load();
    s.connections_opened = connections_opened_.load();
    s.connections_reused = connections_reused_.load();
    s.stale_connections_discarded = stale_discarded_.load();
    s.attempts = attempts_.load();
    s.retries = retries_.load();
    s.queue_rejections = queue_rejections_.load();
    s.open_connections = open_gauge_.load();
    s.idle_connections = idle_gauge_.load();
    s.queued_requests = queued_gauge_.load();
    return s;
  }

 private:
  // Deferred, not posted: from an io thread (every completion but a request that does not build)
  // the callback runs on this same thread right after the strand's handler returns, instead of
  // waking another io thread to run it; from any other thread defer is a post.
  void deliver(Callback done, Result<HttpResponse> result) {
    if (!done) return;
    net::defer(io_, [done = std::move(done), result = std::move(result)]() mutable {
      try {
        done(std::move(result));
      } catch (const std::exception& e) {
        spdlog::error("event=http_callback_threw what=\"{}\"", e.what());
      } catch (...) {
        spdlog::error("event=http_callback_threw");
      }
    });
  }

  void finish(const CallPtr& call, Result<HttpResponse> result) {
    if (call->finished) return;
    call->finished = true;
    ++call->timer_generation;
    call->timer.cancel();
    active_.erase(call);
    deliver(std::move(call->done), std::move(result));
  }

  void begin(const CallPtr& call) {
    if (shut_down_) return finish(call, cancelled_error(call->request.label));
    active_.insert(call);
    start_attempt(call);
  }

  void start_attempt(const CallPtr& call) {
    const auto now = Clock::now();
    ++call->attempt;
    call->attempt_start = now;
    call->reused = false;
    call->attempt_deadline = now + config_.request_timeout;
    if (call->options.deadline && *call->options.deadline < call->attempt_deadline) {
      call->attempt_deadline = *call->options.deadline;
    }
    if (call->attempt_deadline <= now) {
      return fail_without_connection(call, ErrorKind::kTimeout,
                                     "deadline passed before the request was sent");
    }
    acquire(call);
  }

  void acquire(const CallPtr& call) {
    while (!idle_.empty()) {
      // Most recently used first: it is the least likely to have been closed by the server.
      auto conn = idle_.back();
      idle_.pop_back();
      ++conn->idle_generation();
      conn->idle_timer().cancel();
      if (conn->usable_when_idle()) {
        ++connections_reused_;
        call->reused = true;
        return exchange(call, conn);
      }
      ++stale_discarded_;
      spdlog::debug("event=http_stale_connection endpoint={}", endpoint_.to_string());
      conn->close();
      --open_;
    }
    if (open_ < config_.max_connections) return open_connection(call);
    if (queue_.size() >= config_.max_queued_requests) {
      ++queue_rejections_;
      return fail_without_connection(
          call, ErrorKind::kTransport,
          "request queue full (" + std::to_string(config_.max_queued_requests) + " waiting for " +
              std::to_string(config_.max_connections) + " connections)");
    }
    queue_.push_back(call);
    call->queued = true;
    const auto generation = ++call->timer_generation;
    call->timer.expires_at(call->attempt_deadline);
    call->timer.async_wait([self = shared_from_this(), call, generation](beast::error_code ec) {
      if (ec || call->finished || call->timer_generation != generation || !call->queued) return;
      self->queue_.erase(std::find(self->queue_.begin(), self->queue_.end(), call));
      call->queued = false;
      self->fail_without_connection(call, ErrorKind::kTimeout,
                                    "deadline passed while waiting for a free connection");
      self->sync_gauges();
    });
  }

  void open_connection(const CallPtr& call) {
    auto conn = std::make_shared<HttpConnection>(strand_, tls_.get(), endpoint_,
                                                 tls_ != nullptr && !config_.insecure_skip_verify);
    ++open_;
    ++connect_attempts_;
    call->conn = conn;
    const auto connect_deadline =
        std::min(call->attempt_deadline, Clock::now() + config_.connect_timeout);
    conn->connect(connect_deadline, call->attempt_deadline,
                  connection_handler(call, conn, &Impl::on_connected));
  }

  // The handler a connection keeps while its operation is pending. Its captures are weak:
  // strong ones close cycles (client -> active call -> connection -> handler -> client, call and
  // connection) that nothing breaks when the io_context is destroyed with the operation still
  // pending, as at every shutdown that stops the io_context before the posted do_shutdown ran:
  // LeakSanitizer caught the whole client leaking that way. Live calls are owned by active_ (a
  // call gone from there is finished), the client by its owner, the connection by its operation.
  using OnOutcome = void (Impl::*)(const CallPtr&, const std::shared_ptr<HttpConnection>&,
                                   ConnectionOutcome);
  HttpConnection::Handler connection_handler(const CallPtr& call,
                                             const std::shared_ptr<HttpConnection>& conn,
                                             OnOutcome on_outcome) {
    return
        [weak_self = weak_from_this(), weak_call = std::weak_ptr<Call>(call),
         weak_conn = std::weak_ptr<HttpConnection>(conn), on_outcome](ConnectionOutcome outcome) {
          auto self = weak_self.lock();
          auto conn = weak_conn.lock();
          if (!self || !conn) return;
          ((*self).*on_outcome)(weak_call.lock(), conn, std::move(outcome));
          self->sync_gauges();
        };
  }

  // `call` is null when it finished and nothing holds it any more.
  void on_connected(const CallPtr& call, const std::shared_ptr<HttpConnection>& conn,
                    ConnectionOutcome outcome) {
    if (call) call->conn.reset();
    if (!outcome.ec) ++connections_opened_;
    if (!call || call->finished || outcome.ec) {
      conn->close();
      release_slot();
      if (call && !call->finished) on_failure(call, std::move(outcome));
      return;
    }
    exchange(call, conn);
  }

  void exchange(const CallPtr& call, const std::shared_ptr<HttpConnection>& conn) {
    ++attempts_;
    call->conn = conn;
    conn->exchange(call->wire, call->attempt_deadline, config_.max_response_bytes,
                   connection_handler(call, conn, &Impl::on_exchanged));
  }

  // `call` is null when it finished and nothing holds it any more.
  void on_exchanged(const CallPtr& call, const std::shared_ptr<HttpConnection>& conn,
                    ConnectionOutcome outcome) {
    if (call) call->conn.reset();
    if (!call || call->finished || outcome.ec) {
      conn->close();
      release_slot();
      if (call && !call->finished) on_failure(call, std::move(outcome));
      return;
    }
    WireResponse wire = std::move(*outcome.response);
    if (outcome.reusable && !shut_down_) {
      make_idle(conn);
    } else {
      conn->close();
      release_slot();
    }
    on_response(call, to_response(std::move(wire)));
  }

  void on_response(const CallPtr& call, HttpResponse response) {
    if (auto value = response.header("Retry-After")) {
      response.retry_after = parse_retry_after(*value, std::chrono::system_clock::now());
    }
    AttemptRecord record = make_record(call);
    record.http_status = response.status;
    if (retryable_status(response.status) && call->options.retryable &&
        call->attempt < config_.max_attempts && !shut_down_) {
      const auto delay = response.retry_after
                             ? std::min(*response.retry_after, config_.max_retry_after)
                             : backoff_.delay(call->attempt);
      if (fits_deadline(call, delay)) {
        record.next_retry_delay = delay;
        report(record);
        return schedule_retry(call, delay);
      }
    }
    report(record);
    finish(call, std::move(response));
  }

  void on_failure(const CallPtr& call, ConnectionOutcome outcome) {
    // Nothing can have reached the server when no connection existed or not a byte was written;
    // only then may a non-idempotent request go out again.
    const bool never_sent =
        outcome.stage == Stage::kResolve || outcome.stage == Stage::kConnect ||
        (outcome.stage == Stage::kHandshake && !outcome.tls_verification_failed) ||
        (outcome.stage == Stage::kWrite && outcome.bytes_written == 0);
    const ErrorKind kind = outcome.timed_out ? ErrorKind::kTimeout : ErrorKind::kTransport;
    AttemptRecord record = make_record(call);
    record.error = kind;
    record.transport_cause = outcome.cause;
    if ((call->options.retryable || never_sent) && !outcome.tls_verification_failed &&
        call->attempt < config_.max_attempts && !shut_down_) {
      const auto delay = backoff_.delay(call->attempt);
      if (fits_deadline(call, delay)) {
        record.next_retry_delay = delay;
        report(record);
        return schedule_retry(call, delay);
      }
    }
    report(record);
    Error error;
    error.kind = kind;
    error.transport_cause = outcome.cause;
    error.message = call->request.label + ": " + (outcome.timed_out ? "timed out" : "failed") +
                    " during " + detail::to_string(outcome.stage) + " to " + endpoint_.to_string() +
                    " after " + std::to_string(call->attempt) +
                    (call->attempt == 1 ? " attempt: " : " attempts: ") + outcome.cause;
    finish(call, std::move(error));
  }

  // Failures before any connection was involved (queue full, queue wait or deadline expiry).
  void fail_without_connection(const CallPtr& call, ErrorKind kind, const std::string& cause) {
    AttemptRecord record = make_record(call);
    record.error = kind;
    record.transport_cause = cause;
    report(record);
    Error error;
    error.kind = kind;
    error.transport_cause = cause;
    error.message = call->request.label + ": " + cause;
    finish(call, std::move(error));
  }

  bool fits_deadline(const CallPtr& call, std::chrono::milliseconds delay) const {
    return !call->options.deadline || Clock::now() + delay < *call->options.deadline;
  }

  void schedule_retry(const CallPtr& call, std::chrono::milliseconds delay) {
    ++retries_;
    const auto generation = ++call->timer_generation;
    call->timer.expires_after(delay);
    call->timer.async_wait([self = shared_from_this(), call, generation](beast::error_code ec) {
      if (ec || call->finished || call->timer_generation != generation) return;
      self->start_attempt(call);
      self->sync_gauges();
    });
  }

  void make_idle(const std::shared_ptr<HttpConnection>& conn) {
    idle_.push_back(conn);
    const auto generation = ++conn->idle_generation();
    conn->idle_timer().expires_after(config_.idle_timeout);
    conn->idle_timer().async_wait([weak_self = weak_from_this(),
                                   weak_conn = std::weak_ptr<HttpConnection>(conn),
                                   generation](beast::error_code ec) {
      auto self = weak_self.lock();
      auto conn = weak_conn.lock();
      if (ec || !self || !conn || conn->idle_generation() != generation) return;
      auto it = std::find(self->idle_.begin(), self->idle_.end(), conn);
      if (it == self->idle_.end()) return;
      self->idle_.erase(it);
      conn->close();
      self->release_slot();
      self->sync_gauges();
    });
    dispatch_queue();
  }

  void release_slot() {
    --open_;
    dispatch_queue();
  }

  void dispatch_queue() {
    while (!queue_.empty() && (!idle_.empty() || open_ < config_.max_connections)) {
      CallPtr call = queue_.front();
      queue_.pop_front();
      call->queued = false;
      ++call->timer_generation;
      call->timer.cancel();
      acquire(call);
    }
  }

  void do_shutdown() {
    std::deque<CallPtr> queued;
    queued.swap(queue_);
    for (const auto& call : queued) {
      call->queued = false;
      finish(call, cancelled_error(call->request.label));
    }
    const std::vector<CallPtr> active(active_.begin(), active_.end());
    for (const auto& call : active) {
      auto conn = call->conn;
      finish(call, cancelled_error(call->request.label));
      // The pending handler sees the call finished and releases the slot.
      if (conn) conn->close();
    }
    std::vector<std::shared_ptr<HttpConnection>> idle;
    idle.swap(idle_);
    for (const auto& conn : idle) {
      conn->close();
      --open_;
    }
  }

  AttemptRecord make_record(const CallPtr& call) const {
    AttemptRecord record;
    record.label = call->request.label;
    record.attempt = call->attempt;
    record.duration =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - call->attempt_start);
    record.reused_connection = call->reused;
    return record;
  }

  void report(const AttemptRecord& record) {
    spdlog::debug(
        "event=http_attempt label={} attempt={} status={} error={} duration_ms={:.3f} reused={} "
        "retry_in_ms={} cause=\"{}\"",
        record.label, record.attempt, record.http_status,
        record.error ? to_string(*record.error) : "none", record.duration.count() / 1000.0,
        record.reused_connection, record.next_retry_delay ? record.next_retry_delay->count() : -1,
        record.transport_cause);
    if (!config_.on_attempt) return;
    try {
      config_.on_attempt(record);
    } catch (...) {
      spdlog::error("event=http_observer_threw label={}", record.label);
    }
  }

  void sync_gauges() {
    open_gauge_ = open_;
    idle_gauge_ = idle_.size();
    queued_gauge_ = queue_.size();
  }

  net::io_context& io_;
  HttpClientConfig config_;
  const HttpEndpoint endpoint_;
  const std::unique_ptr<net::ssl::context> tls_;
  Strand strand_;
  const Backoff backoff_;
  std::atomic<bool> shut_down_{false};

  // Strand-only state.
  std::vector<std::shared_ptr<HttpConnection>> idle_;
  std::deque<CallPtr> queue_;
  std::size_t open_ = 0;  // connecting + busy + idle
  std::unordered_set<CallPtr> active_;

  std::atomic<std::uint64_t> connect_attempts_{0};
  std::atomic<std::uint64_t> connections_opened_{0};
  std::atomic<std::uint64_t> connections_reused_{0};
  std::atomic<std::uint64_t> stale_discarded_{0};
  std::atomic<std::uint64_t> attempts_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> queue_rejections_{0};
  std::atomic<std::size_t> open_gauge_{0};
  std::atomic<std::size_t> idle_gauge_{0};
  std::atomic<std::size_t> queued_gauge_{0};
};

Result<std::unique_ptr<HttpClient>> HttpClient::create(net::io_context& io,
                                                       HttpClientConfig config) {
  try {
    return std::make_unique<HttpClient>(io, std::move(config));
  } catch (const std::invalid_argument& e) {
    return Error::invalid_argument(e.what());
  }
}

HttpClient::HttpClient(net::io_context& io, HttpClientConfig config) {
  auto endpoint = parse_http_url(config.base_url);
  if (!endpoint.ok()) throw std::invalid_argument(endpoint.error().message);
  std::unique_ptr<net::ssl::context> tls;
  if (endpoint->tls()) {
    tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    if (config.insecure_skip_verify) {
      tls->set_verify_mode(net::ssl::verify_none);
    } else {
      tls->set_default_verify_paths(ec);
      if (ec) spdlog::warn("event=tls_default_verify_paths_failed cause=\"{}\"", ec.message());
      if (!config.ca_file.empty()) {
        tls->load_verify_file(config.ca_file, ec);
        if (ec) {
          throw std::invalid_argument("cannot load ca_file '" + config.ca_file +
                                      "': " + ec.message());
        }
      }
      tls->set_verify_mode(net::ssl::verify_peer);
    }
  }
  impl_ =
      std::make_shared<Impl>(io, std::move(config), std::move(endpoint.value()), std::move(tls));
}

HttpClient::~HttpClient() { impl_->shutdown(); }

void HttpClient::send(HttpRequest request, CallOptions options, Callback done) {
  impl_->send(std::move(request), options, std::move(done));
}

void HttpClient::shutdown() { impl_->shutdown(); }

HttpClientStats HttpClient::stats() const { return impl_->stats(); }

const HttpEndpoint& HttpClient::endpoint() const { return impl_->endpoint(); }

}  // namespace jobgw::core
