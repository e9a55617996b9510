#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/base/backoff.h"
#include "core/base/result.h"
#include "core/redis/redis_reply.h"
#include "core/redis/redis_url.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::core {

// A message a subscriber connection received on one of its channels.
struct RedisMessage {
  std::string channel;
  std::string payload;
};

struct RedisClientConfig {
  RedisEndpoint endpoint;
  // rediss://: the system trust store plus this PEM bundle when set. Verification can only be
  // turned off explicitly.
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::chrono::milliseconds connect_timeout{2000};
  // A command not answered this long means Redis is stuck (paused, partitioned): the connection
  // is closed and every command on it fails, rather than callers waiting on TCP's own timeouts.
  std::chrono::milliseconds command_timeout{2000};
  BackoffPolicy reconnect{std::chrono::milliseconds(100), std::chrono::milliseconds(2000), 2.0,
                          0.2};
  // CLIENT SETNAME, so `CLIENT LIST` on Redis shows which replica a connection belongs to.
  std::string client_name = "jobgw";
  // Commands waiting for an answer at once; beyond, new ones fail at once.
  std::size_t max_pending = 100000;
  // Set: the connection is a subscriber (SUBSCRIBE); messages arrive here, on the client's
  // strand, and command() is refused. It is pinged every command_timeout / 2 while idle.
  std::function<void(const RedisMessage&)> on_message;
  // Called on the client's strand when the connection becomes usable (after AUTH, SELECT and, for
  // subscribers, SUBSCRIBE of every channel) and when it is lost, with the reason. A subscriber
  // may have missed messages while it was down; `up` is its cue to catch up.
  std::function<void(bool up, const std::string& cause)> on_state;
  std::function<double()> uniform01;  // reconnect jitter; empty: a PRNG
};

// An asynchronous Redis connection on the io_context: RESP2 via hiredis's reader and command
// formatter over the project's own Asio socket, plain or TLS (Debian's hiredis has no TLS).
// Commands are pipelined; it connects at creation and reconnects with backoff whenever the
// connection fails. Methods may be called from any thread.
class RedisClient {
 public:
  using Callback = std::function<void(Result<RedisReply>)>;

  // Fails only on configuration errors (an unreadable ca_file); Redis being down is not one.
  static Result<std::unique_ptr<RedisClient>> create(boost::asio::io_context& io,
                                                     RedisClientConfig config);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command. `done` runs exactly once on the client's strand, never inline: with the
  // reply (an error reply is an Error of kind kInternal quoting it), or kTransport when Redis is
  // unreachable now or did not answer in time (then the command may or may not have run).
  void command(std::vector<std::string> args, Callback done);
  // Subscriber connections only: the channels to receive; kept across reconnects.
  // `subscribed` runs (on the client's strand) once Redis confirmed the subscriptions, so
  // whatever is published from then on arrives; when the connection is down it does not run:
  // on_state(true) follows the resubscription instead.
  void subscribe(std::vector<std::string> channels, std::function<void()> subscribed = {});
  void unsubscribe(std::vector<std::string> channels);
  // Whether the connection is usable now (it may fail a moment later).
  bool up() const;
  // Closes the connection and fails what is pending with kCancelled. Idempotent.
  void shutdown();

  const RedisEndpoint& endpoint() const;

  class Impl;

 private:
  explicit RedisClient(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
