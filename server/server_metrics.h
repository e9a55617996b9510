#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include <array>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/metrics/metrics.h"

namespace jobgw::server {

// The jobgw_ metric families that belong to the server: calls by RPC and status code, stream
// lifetimes, JOB
// callbacks, request_id submits, resumed jobs, overload admission, authentication and per-caller
// limits. Registered in the core Metrics' registry, so one /metrics page serves both. Label
// values come from finite sets only; anything else is reported as "other".
class ServerMetrics {
 public:
  // `core` must outlive this; its registry holds these families too.
  explicit ServerMetrics(core::Metrics& core);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // One finished unary call: method is the RPC name, code the gRPC status name (e.g. "OK").
  void rpc_finished(const std::string& method, const std::string& code, double seconds);
  // One finished stream (WatchStatus, FollowLogs, over gRPC or the HTTP face): counted with the
  // calls, timed apart from them, since a stream lives for minutes to hours and would swamp the
  // unary latency quantiles.
  void stream_finished(const std::string& method, const std::string& code, double seconds);
  // One JOB callback request: accepted, unknown_job, malformed, method_not_allowed, not_found,
  // refused (no valid per-job token).
  void callback(const std::string& outcome);
  // One submit that named a request_id: submitted (JOB asked), replayed (answered from the
  // state store), joined (waited for the same submit in flight), conflict.
  void idempotent_submit(const std::string& outcome);
  // Unfinished jobs read from the state store at startup and watched again.
  void resumed_jobs(std::size_t count);
  // Overload limits, named by their config key (limits.max_streams, ...): slots taken (+1) or
  // given back (-1; 0 only creates the series), and calls refused at the limit.
  void admission_changed(const std::string& limit, int delta);
  void admission_rejected(const std::string& limit);
  // Calls refused by authentication or authorization, by reason (missing_token, bad_token,
  // unknown_certificate, operation, scope, operator); credentials file reloads (ok, failed);
  // calls refused at a per-caller limit (submit_rate, streams).
  void auth_refused(const std::string& reason);
  void credentials_reload(const std::string& outcome);
  void caller_limit_rejected(const std::string& limit);

  // Whether the Redis replicas share state on is reachable (1) or not (0); only with
  // state.redis_url.
  void redis_up(bool up);

  // Live log following (FollowLogs): followers and followed steps now, log reads of JOB so far.
  void log_follow(std::size_t followers, std::size_t steps, std::uint64_t reads,
                  std::uint64_t read_errors, std::size_t held_bytes);
  // Event streams (text/event-stream) open on the HTTP face now.
  void http_streams(std::size_t open);
  // Runs before every scrape, to bring gauges read from elsewhere up to date. Add before
  // serving.
  void add_scrape_hook(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }

  // The whole registry, core families included, in the Prometheus text format.
  std::string serialize() const {
    for (const auto& hook : hooks_) hook();
    return core_.serialize();
  }
  core::Metrics& core() { return core_; }

 private:
  static constexpr std::size_t kCodes = 17;  // grpc::StatusCode OK .. UNAUTHENTICATED
  // One known method's series, looked up once: building label maps and finding the family's
  // series on every call cost several percent of a pass-through call's instructions.
  struct MethodSeries {
    std::string_view method;
    std::array<prometheus::Counter*, kCodes> calls{};
    prometheus::Histogram* ok_duration = nullptr;      // unary methods
    prometheus::Histogram* stream_duration = nullptr;  // stream methods
  };
  const MethodSeries* method_series(const std::string& method) const;
  // Falls back to the label maps for anything outside the known sets.
  void count_call(const std::string& method, const std::string& code);

  core::Metrics& core_;
  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Histogram>& stream_duration_;
  prometheus::Family<prometheus::Counter>& callbacks_;
  prometheus::Family<prometheus::Counter>& idempotent_submits_;
  prometheus::Counter& resumed_jobs_;
  prometheus::Family<prometheus::Gauge>& admission_in_use_;
  prometheus::Family<prometheus::Counter>& admission_rejections_;
  prometheus::Family<prometheus::Counter>& auth_refusals_;
  prometheus::Family<prometheus::Counter>& credentials_reloads_;
  prometheus::Family<prometheus::Counter>& caller_limit_rejections_;
  prometheus::Family<prometheus::Gauge>& redis_up_;
  prometheus::Gauge& log_followers_;
  prometheus::Gauge& log_followed_steps_;
  prometheus::Gauge& log_held_bytes_;
  prometheus::Family<prometheus::Counter>& log_reads_;
  prometheus::Gauge& http_streams_;
  std::mutex log_mu_;  // scrapes may run at once
  std::uint64_t log_reads_seen_ = 0;
  std::uint64_t log_read_errors_seen_ = 0;
  std::vector<std::function<void()>> hooks_;
  std::vector<MethodSeries> methods_;  // filled by the constructor, read-only after
  std::array<prometheus::Gauge*, 2> admission_in_use_by_limit_{};  // as kAdmissionLimits
};

}  // namespace jobgw::server
