#include "core/redis/redis_client.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <set>

namespace jobgw::core {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using Strand = net::strand<net::io_context::executor_type>;
using std::chrono::milliseconds;

Error transport_error(std::string message) {
  Error e;
  e.kind = ErrorKind::kTransport;
  e.message = std::move(message);
  return e;
}

Error cancelled_error() {
  Error e;
  e.kind = ErrorKind::kCancelled;
  e.message = "redis client shut down";
  return e;
}

bool is_push(const RedisReply& r) {
  if (r.type != RedisReply::Type::kArray || r.elements.empty()) return false;
  auto kind = r.elements[0].text();
  return kind && (*kind == "message" || *kind == "pmessage");
}

}  // namespace

class RedisClient::Impl : public std::enable_shared_from_this<RedisClient::Impl> {
 public:
  Impl(net::io_context& io, RedisClientConfig config, std::unique_ptr<net::ssl::context> tls)
      : strand_(net::make_strand(io)),
        config_(std::move(config)),
        tls_context_(std::move(tls)),
        resolver_(strand_),
        deadline_timer_(strand_),
        retry_timer_(strand_),
        ping_timer_(strand_),
        backoff_(config_.reconnect, config_.uniform01) {}

  void start() {
    net::post(strand_, [self = shared_from_this()] { self->connect(); });
  }

  void command(std::vector<std::string> args, Callback done) {
    net::post(strand_, [self = shared_from_this(), args = std::move(args),
                        done = std::move(done)]() mutable {
      self->enqueue(format_redis_command(args), std::move(done));
    });
  }

  void subscribe(std::vector<std::string> channels, bool add, std::function<void()> subscribed) {
    net::post(strand_, [self = shared_from_this(), channels = std::move(channels), add,
                        subscribed = std::move(subscribed)] {
      // During the handshake too: start_session already listed the channels it knew.
      const bool connected = self->state_ == State::kUp || self->state_ == State::kHandshake;
      for (const std::string& c : channels) {
        // A channel already held is subscribed again: the caller waits for its confirmation.
        bool changed = add ? self->channels_.insert(c).second || static_cast<bool>(subscribed)
                           : self->channels_.erase(c) > 0;
        if (changed && connected) {
          self->send(format_redis_command({add ? "SUBSCRIBE" : "UNSUBSCRIBE", c}), Step::kAck, {});
        }
      }
      if (!subscribed || !connected) return;
      // Replies come in order: once PING is answered, every SUBSCRIBE before it was too.
      self->send(format_redis_command({"PING"}), Step::kAck, [subscribed](Result<RedisReply> r) {
        if (r) subscribed();
      });
    });
  }

  bool up() const { return up_.load(); }

  void shutdown() {
    if (closed_.exchange(true)) return;
    net::post(strand_, [self = shared_from_this()] {
      self->state_ = State::kClosed;
      self->close_socket();
      self->retry_timer_.cancel();
      self->ping_timer_.cancel();
      self->fail_all(cancelled_error());
    });
  }

  const RedisEndpoint& endpoint() const { return config_.endpoint; }

 private:
  enum class State { kConnecting, kHandshake, kUp, kDown, kClosed };
  // What a reply answers: a caller's command, or one of the client's own steps.
  enum class Step { kCaller, kHandshake, kAck };

  struct Pending {
    Step step = Step::kCaller;
    Callback done;
    Clock::time_point deadline;
  };

  struct Waiting {
    std::string wire;
    Callback done;
  };

  std::string where() const { return "redis at " + config_.endpoint.redacted(); }

  void enqueue(std::string wire, Callback done) {
    if (state_ == State::kClosed) return deliver(std::move(done), cancelled_error());
    if (config_.on_message) {
      return deliver(std::move(done),
                     Error::internal("redis: a subscriber connection takes no commands"));
    }
    if (pending_.size() + waiting_.size() >= config_.max_pending) {
      return deliver(std::move(done),
                     transport_error(where() + ": too many commands waiting for an answer"));
    }
    switch (state_) {
      case State::kUp:
        return send(std::move(wire), Step::kCaller, std::move(done));
      case State::kConnecting:
      case State::kHandshake:
        waiting_.push_back(Waiting{std::move(wire), std::move(done)});
        return;
      default:
        return deliver(std::move(done),
                       transport_error(where() + " is unreachable: " + last_cause_));
    }
  }

  void deliver(Callback done, Result<RedisReply> result) {
    if (done) done(std::move(result));
  }

  void send(std::string wire, Step step, Callback done) {
    pending_.push_back(Pending{step, std::move(done), Clock::now() + config_.command_timeout});
    out_ += wire;
    arm_deadline();
    write_more();
  }

  void send_internal(const std::vector<std::string>& args, Step step) {
    send(format_redis_command(args), step, {});
  }

  // ---- connecting ----

  void connect() {
    if (state_ == State::kClosed) return;
    state_ = State::kConnecting;
    ++generation_;
    reader_ = std::make_unique<RespReader>();
    out_.clear();
    writing_ = false;
    const auto gen = generation_;
    deadline_timer_.expires_after(config_.connect_timeout);
    deadline_timer_.async_wait(
        [self = shared_from_this(), gen](const boost::system::error_code& ec) {
          if (ec || gen != self->generation_ || self->state_ != State::kConnecting) return;
          self->fail_connection("connect timed out after " +
                                std::to_string(self->config_.connect_timeout.count()) + " ms");
        });
    resolver_.async_resolve(
        config_.endpoint.host, std::to_string(config_.endpoint.port),
        [self = shared_from_this(), gen](const boost::system::error_code& ec,
                                         tcp::resolver::results_type results) {
          if (gen != self->generation_) return;
          if (ec) return self->fail_connection("cannot resolve host: " + ec.message());
          self->on_resolved(results);
        });
  }

  tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }

  void on_resolved(const tcp::resolver::results_type& results) {
    if (tls_context_) {
      tls_ = std::make_shared<net::ssl::stream<tcp::socket>>(strand_, *tls_context_);
    } else {
      plain_ = std::make_shared<tcp::socket>(strand_);
    }
    const auto gen = generation_;
    net::async_connect(socket(), results,
                       [self = shared_from_this(), gen, keep_tls = tls_, keep_plain = plain_](
                           const boost::system::error_code& ec, const tcp::endpoint&) {
                         if (gen != self->generation_) return;
                         if (ec) return self->fail_connection("cannot connect: " + ec.message());
                         self->on_connected();
                       });
  }

  void on_connected() {
    boost::system::error_code ignored;
    socket().set_option(tcp::no_delay(true), ignored);
    if (!tls_) return start_session();
    const RedisEndpoint& ep = config_.endpoint;
    // SNI must not carry an IP literal (RFC 6066), but host-name verification still applies.
    if (!ep.host_is_ip_literal()) SSL_set_tlsext_host_name(tls_->native_handle(), ep.host.c_str());
    if (!config_.insecure_skip_verify) {
      tls_->set_verify_callback(net::ssl::host_name_verification(ep.host));
    }
    const auto gen = generation_;
    tls_->async_handshake(
        net::ssl::stream_base::client,
        [self = shared_from_this(), gen, keep = tls_](const boost::system::error_code& ec) {
          if (gen != self->generation_) return;
          if (ec) return self->fail_connection(self->handshake_cause(ec));
          self->start_session();
        });
  }

  std::string handshake_cause(const boost::system::error_code& ec) {
    const long verify = SSL_get_verify_result(tls_->native_handle());
    if (verify != X509_V_OK) {
      return std::string("TLS handshake failed (certificate verification: ") +
             (verify == X509_V_ERR_UNSPECIFIED
                  ? "certificate does not match host '" + config_.endpoint.host + "'"
                  : X509_verify_cert_error_string(verify)) +
             ")";
    }
    return "TLS handshake failed: " + ec.message();
  }

  // AUTH, SELECT, CLIENT SETNAME and the subscriptions, pipelined; the connection is up when
  // the last of them is answered.
  void start_session() {
    state_ = State::kHandshake;
    deadline_timer_.cancel();
    read_more();
    const RedisEndpoint& ep = config_.endpoint;
    handshake_left_ = 0;
    auto step = [this](std::vector<std::string> args) {
      ++handshake_left_;
      send_internal(args, Step::kHandshake);
    };
    if (!ep.password.empty()) {
      if (ep.user.empty()) {
        step({"AUTH", ep.password});
      } else {
        step({"AUTH", ep.user, ep.password});
      }
    }
    if (ep.db != 0) step({"SELECT", std::to_string(ep.db)});
    step({"CLIENT", "SETNAME", config_.client_name});
    for (const std::string& c : channels_) step({"SUBSCRIBE", c});
  }

  void on_handshake_reply(const RedisReply& reply) {
    if (reply.is_error()) {
      std::string what = reply.str;
      // Never the password; the reply itself (WRONGPASS, NOAUTH, ERR DB index...) names the
      // problem.
      return fail_connection("refused the connection setup: " + what);
    }
    if (--handshake_left_ > 0) return;
    state_ = State::kUp;
    attempt_ = 0;
    up_ = true;
    if (reported_down_) spdlog::info("event=redis_up where=\"{}\"", where());
    reported_down_ = false;
    last_cause_.clear();
    while (!waiting_.empty()) {
      Waiting w = std::move(waiting_.front());
      waiting_.pop_front();
      send(std::move(w.wire), Step::kCaller, std::move(w.done));
    }
    if (config_.on_message) schedule_ping();
    if (config_.on_state && !closed_) config_.on_state(true, "");
  }

  // ---- I/O ----

  void write_more() {
    if (writing_ || out_.empty() || (state_ != State::kHandshake && state_ != State::kUp)) return;
    writing_ = true;
    in_flight_ = std::move(out_);
    out_.clear();
    const auto gen = generation_;
    // The handler keeps the stream alive: a TLS operation still pending must never outlive it.
    auto done = [self = shared_from_this(), gen, keep_tls = tls_, keep_plain = plain_](
                    const boost::system::error_code& ec, std::size_t) {
      if (gen != self->generation_) return;
      self->writing_ = false;
      if (ec) return self->fail_connection("write failed: " + ec.message());
      self->write_more();
    };
    if (tls_) {
      net::async_write(*tls_, net::buffer(in_flight_), std::move(done));
    } else {
      net::async_write(*plain_, net::buffer(in_flight_), std::move(done));
    }
  }

  void read_more() {
    const auto gen = generation_;
    auto done = [self = shared_from_this(), gen, keep_tls = tls_, keep_plain = plain_](
                    const boost::system::error_code& ec, std::size_t n) {
      if (gen != self->generation_) return;
      if (ec) {
        return self->fail_connection(ec == net::error::eof ? "connection closed by Redis"
                                                           : "read failed: " + ec.message());
      }
      self->on_bytes(n);
    };
    if (tls_) {
      tls_->async_read_some(net::buffer(in_), std::move(done));
    } else {
      plain_->async_read_some(net::buffer(in_), std::move(done));
    }
  }

  void on_bytes(std::size_t n) {
    const auto gen = generation_;
    reader_->feed(in_.data(), n);
    for (;;) {
      auto next = reader_->next();
      if (!next) return fail_connection(next.error().message);
      if (!next.value()) break;
      on_reply(std::move(*next.value()));
      if (gen != generation_) return;  // the reply ended the connection
    }
    read_more();
  }

  void on_reply(RedisReply reply) {
    if (config_.on_message && is_push(reply)) {
      const auto& e = reply.elements;
      RedisMessage m;
      // message: [kind, channel, payload]; pmessage: [kind, pattern, channel, payload]
      std::size_t at = e.size() == 4 ? 2 : 1;
      if (e.size() < at + 2) return;
      m.channel = e[at].str;
      m.payload = e[at + 1].str;
      if (!closed_) config_.on_message(m);
      return;
    }
    if (pending_.empty()) return fail_connection("an answer arrived that nothing asked for");
    Pending p = std::move(pending_.front());
    pending_.pop_front();
    arm_deadline();
    switch (p.step) {
      case Step::kHandshake:
        return on_handshake_reply(reply);
      case Step::kAck:
        if (p.done && !closed_) p.done(std::move(reply));
        return;
      case Step::kCaller:
        if (reply.is_error())
          return deliver(std::move(p.done), Error::internal("redis: " + reply.str));
        return deliver(std::move(p.done), std::move(reply));
    }
  }

  // ---- deadlines, pings, failures ----

  void arm_deadline() {
    if (state_ == State::kConnecting) return;  // the connect timer runs
    Clock::time_point first = Clock::time_point::max();
    if (!pending_.empty()) first = pending_.front().deadline;
    if (first == Clock::time_point::max()) {
      deadline_timer_.cancel();
      armed_for_ = first;
      return;
    }
    if (armed_for_ == first) return;
    armed_for_ = first;
    deadline_timer_.expires_at(first);
    const auto gen = generation_;
    deadline_timer_.async_wait([self = shared_from_this(),
                                gen](const boost::system::error_code& ec) {
      if (ec || gen != self->generation_) return;
      self->armed_for_ = Clock::time_point::max();
      if (!self->pending_.empty() && self->pending_.front().deadline <= Clock::now()) {
        return self->fail_connection("no answer within " +
                                     std::to_string(self->config_.command_timeout.count()) + " ms");
      }
      self->arm_deadline();
    });
  }

  void schedule_ping() {
    const auto gen = generation_;
    ping_timer_.expires_after(std::max(config_.command_timeout / 2, milliseconds(10)));
    ping_timer_.async_wait([self = shared_from_this(), gen](const boost::system::error_code& ec) {
      if (ec || gen != self->generation_ || self->state_ != State::kUp) return;
      if (self->pending_.empty()) self->send_internal({"PING"}, Step::kAck);
      self->schedule_ping();
    });
  }

  void close_socket() {
    boost::system::error_code ignored;
    resolver_.cancel();
    deadline_timer_.cancel();
    armed_for_ = Clock::time_point::max();
    if (tls_) {
      tls_->next_layer().close(ignored);
      tls_.reset();
    }
    if (plain_) {
      plain_->close(ignored);
      plain_.reset();
    }
  }

  void fail_all(const Error& error) {
    std::deque<Pending> pending;
    pending.swap(pending_);
    std::deque<Waiting> waiting;
    waiting.swap(waiting_);
    for (Pending& p : pending) deliver(std::move(p.done), error);
    for (Waiting& w : waiting) deliver(std::move(w.done), error);
  }

  void fail_connection(const std::string& cause) {
    if (state_ == State::kClosed) return;
    const bool was_up = state_ == State::kUp;
    ++generation_;
    close_socket();
    ping_timer_.cancel();
    state_ = State::kDown;
    up_ = false;
    if (!reported_down_ || cause != last_cause_) {
      // The URL is redacted: the password never reaches a log line.
      spdlog::warn("event=redis_down where=\"{}\" key=state.redis_url cause=\"{}\"", where(),
                   cause);
    }
    reported_down_ = true;
    last_cause_ = cause;
    fail_all(transport_error(where() + ": " + cause));
    if (was_up && config_.on_state && !closed_) config_.on_state(false, cause);
    retry_timer_.expires_after(backoff_.delay(++attempt_));
    retry_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->connect();
    });
  }

  Strand strand_;
  const RedisClientConfig config_;
  std::unique_ptr<net::ssl::context> tls_context_;
  tcp::resolver resolver_;
  // Shared with the handlers of pending operations (see write_more).
  std::shared_ptr<tcp::socket> plain_;
  std::shared_ptr<net::ssl::stream<tcp::socket>> tls_;
  net::steady_timer deadline_timer_;
  Clock::time_point armed_for_ = Clock::time_point::max();
  net::steady_timer retry_timer_;
  net::steady_timer ping_timer_;
  Backoff backoff_;

  State state_ = State::kDown;
  std::uint64_t generation_ = 0;
  int attempt_ = 0;
  int handshake_left_ = 0;
  bool reported_down_ = false;
  std::string last_cause_ = "not connected yet";
  std::unique_ptr<RespReader> reader_;
  std::deque<Pending> pending_;
  std::deque<Waiting> waiting_;
  std::string out_;
  std::string in_flight_;
  bool writing_ = false;
  std::array<char, 16 * 1024> in_{};
  std::set<std::string> channels_;
  std::atomic<bool> up_{false};
  std::atomic<bool> closed_{false};
};

Result<std::unique_ptr<RedisClient>> RedisClient::create(boost::asio::io_context& io,
                                                         RedisClientConfig config) {
  std::unique_ptr<net::ssl::context> tls;
  if (config.endpoint.tls) {
    tls = std::make_unique<net::ssl::context>(net::ssl::context::tls_client);
    tls->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                     net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                     net::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    if (config.insecure_skip_verify) {
      tls->set_verify_mode(net::ssl::verify_none);
    } else {
      tls->set_default_verify_paths(ec);
      if (!config.ca_file.empty()) {
        tls->load_verify_file(config.ca_file, ec);
        if (ec) {
          return Error::invalid_argument("cannot load CA file '" + config.ca_file +
                                         "': " + ec.message());
        }
      }
      tls->set_verify_mode(net::ssl::verify_peer);
    }
  }
  auto impl = std::make_shared<Impl>(io, std::move(config), std::move(tls));
  impl->start();
  return std::unique_ptr<RedisClient>(new RedisClient(std::move(impl)));
}

RedisClient::~RedisClient() { impl_->shutdown(); }

void RedisClient::command(std::vector<std::string> args, Callback done) {
  impl_->command(std::move(args), std::move(done));
}

void RedisClient::subscribe(std::vector<std::string> channels, std::function<void()> subscribed) {
  impl_->subscribe(std::move(channels), true, std::move(subscribed));
}

void RedisClient::unsubscribe(std::vector<std::string> channels) {
  impl_->subscribe(std::move(channels), false, {});
}

bool RedisClient::up() const { return impl_->up(); }

void RedisClient::shutdown() { impl_->shutdown(); }

const RedisEndpoint& RedisClient::endpoint() const { return impl_->endpoint(); }

}  // namespace jobgw::core
