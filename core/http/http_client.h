#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/base/backoff.h"
#include "core/base/error.h"
#include "core/base/result.h"
#include "core/http/http_url.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::core {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string label;   // names the operation in logs and metrics, e.g. "get_job_instance_status"
  std::string method;  // "GET", "POST", ...
  // Path and query, already percent-encoded, relative to the endpoint's base path: the client
  // sends base_path + target. Must start with '/'.
  std::string target;
  // Added after the defaults (Host, User-Agent, Content-Type, Connection), replacing a default of
  // the same name.
  HttpHeaders headers;
  std::string body;
};

struct HttpResponse {
  int status = 0;
  HttpHeaders headers;
  std::string body;
  // The server's Retry-After, parsed (delta-seconds or HTTP-date), when present and valid.
  std::optional<std::chrono::milliseconds> retry_after;

  // First header with this name, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

struct CallOptions {
  // Safe to send more than once (reads). When false the request is re-sent only if it certainly
  // never left this process: the connection could not be established, or nothing was written.
  bool retryable = false;
  // Overall cap across attempts, queueing and backoff; request_timeout still bounds each attempt.
  std::optional<std::chrono::steady_clock::time_point> deadline;
};

// One attempt's outcome, reported to HttpClientConfig::on_attempt.
struct AttemptRecord {
  std::string label;
  int attempt = 0;      // 1-based
  int http_status = 0;  // 0 when no answer arrived
  std::optional<ErrorKind> error;
  std::string transport_cause;  // set with error
  std::chrono::microseconds duration{0};
  bool reused_connection = false;
  // Set when another attempt follows after this delay (backoff or the server's Retry-After).
  std::optional<std::chrono::milliseconds> next_retry_delay;
};

struct HttpClientStats {
  std::uint64_t connect_attempts = 0;             // TCP connects started
  std::uint64_t connections_opened = 0;           // connects that ended established (TLS included)
  std::uint64_t connections_reused = 0;           // attempts sent on a pooled idle connection
  std::uint64_t stale_connections_discarded = 0;  // idle connections found closed by the peer
  std::uint64_t attempts = 0;  // requests written (or tried to be) on a connection
  std::uint64_t retries = 0;
  std::uint64_t queue_rejections = 0;  // sends refused because the wait queue was full
  std::size_t open_connections = 0;    // connecting + busy + idle, right now
  std::size_t idle_connections = 0;
  std::size_t queued_requests = 0;
};

struct HttpClientConfig {
  std::string base_url = "http://127.0.0.1:8080";
  std::size_t max_connections = 16;
  std::size_t max_queued_requests = 1024;
  // Below common server keep-alive timeouts (nginx 75 s, many gateways 60 s) so the pool closes
  // first in the usual case; the peek before reuse covers the rest.
  std::chrono::milliseconds idle_timeout{30000};
  std::chrono::milliseconds connect_timeout{3000};
  // Per attempt: queue wait, connect, TLS handshake, write and read together.
  std::chrono::milliseconds request_timeout{10000};
  int max_attempts = 4;
  BackoffPolicy backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(2000), 2.0, 0.2};
  // A Retry-After longer than this is shortened to it.
  std::chrono::milliseconds max_retry_after{30000};
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // TLS: the system trust store plus ca_file (PEM) when set. Verification can only be disabled
  // explicitly.
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::string user_agent = "jobgw/0.1";
  // Called on the client's strand after every attempt; must be quick and must not throw.
  std::function<void(const AttemptRecord&)> on_attempt;
  // Jitter randomness for retries; empty means a PRNG. Tests inject a constant.
  std::function<double()> uniform01;
};

// Parses a Retry-After value (delta-seconds or an HTTP-date) relative to `now`. A date in the
// past gives zero; garbage gives nullopt.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now);

// An asynchronous HTTP/1.1 client for one endpoint with a bounded keep-alive pool, per-attempt
// timeouts and retries. send() may be called from any thread. Every completion runs exactly once
// on the io_context (never inline from send), so the io_context must keep running until all sends
// completed; shutdown() makes the outstanding ones complete with kCancelled.
//
// Any HTTP status is a successful Result; retryable 429/5xx answers are retried and, when
// attempts or time run out, the last answer is returned as is. Failures without an answer are
// kTransport (transport_cause says why), kTimeout or kCancelled.
class HttpClient {
 public:
  using Callback = std::function<void(Result<HttpResponse>)>;

  // Throws std::invalid_argument for an invalid base_url or an unreadable ca_file; use create()
  // to get an Error instead.
  HttpClient(boost::asio::io_context& io, HttpClientConfig config);
  ~HttpClient();  // shutdown()
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  static Result<std::unique_ptr<HttpClient>> create(boost::asio::io_context& io,
                                                    HttpClientConfig config);

  void send(HttpRequest request, CallOptions options, Callback done);

  // Completes queued, waiting and in-flight requests with kCancelled, closes every connection and
  // refuses later sends (kCancelled). Idempotent; does not block.
  void shutdown();

  HttpClientStats stats() const;
  const HttpEndpoint& endpoint() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
