#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "core/http_client.h"
#include "core/watch_hub.h"

namespace jobgw::core {

// Every jobgw_ metric in one registry: gRPC RPCs, JOB calls, JOB callbacks and the WatchHub (as
// its WatchObserver). Thread-safe: prometheus-cpp metrics are atomic and families lock their
// own label maps. Label values come from finite sets only; anything outside a known set is
// reported as "other" so a misbehaving caller cannot grow the series count without bound.
class Metrics : public WatchObserver {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished gRPC call: method is the RPC name, code the gRPC status name (e.g. "OK").
  void rpc_finished(const std::string& method, const std::string& code, double seconds);
  // One HTTP attempt to JOB; hook into HttpClientConfig::on_attempt.
  void job_attempt(const AttemptRecord& record);
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
  // Security (server/authorizer.h): calls refused by authentication or authorization, by reason
  // (missing_token, bad_token, unknown_certificate, operation, scope, operator); credentials
  // file reloads (ok, failed); calls refused at a per-caller limit (submit_rate, streams).
  void auth_refused(const std::string& reason);
  void credentials_reload(const std::string& outcome);
  void caller_limit_rejected(const std::string& limit);

  // WatchObserver.
  void on_event(WatchEventKind kind) override;
  void on_watched_jobs(std::size_t count) override;
  void on_subscribers(std::size_t count) override;
  void on_poll(std::chrono::milliseconds next_interval) override;
  void on_read(bool ok) override;
  void on_token_wait(std::chrono::milliseconds waited) override;
  void on_job_finished(int job_status) override;
  void on_subscriber_overflow() override;

  // The Prometheus text exposition format (version 0.0.4).
  std::string serialize() const;

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // The label value an HTTP status or an error kind gets in jobgw_job_calls_total.
  static std::string job_outcome(const AttemptRecord& record);
  // JOB's job status as a label value: "success", "failed", ... or "other".
  static const char* job_status_label(int job_status);

 private:
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>& rpc_requests_;
  prometheus::Family<prometheus::Histogram>& rpc_duration_;
  prometheus::Family<prometheus::Counter>& job_calls_;
  prometheus::Family<prometheus::Histogram>& job_call_duration_;
  prometheus::Family<prometheus::Counter>& job_call_retries_;
  prometheus::Family<prometheus::Counter>& callbacks_;
  prometheus::Gauge& watched_jobs_;
  prometheus::Gauge& subscribers_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Histogram& poll_interval_;
  prometheus::Family<prometheus::Counter>& job_reads_;
  prometheus::Counter& reads_ok_;
  prometheus::Counter& reads_error_;
  prometheus::Histogram& token_wait_;
  prometheus::Family<prometheus::Counter>& jobs_finished_;
  prometheus::Counter& subscriber_overflows_;
  prometheus::Family<prometheus::Counter>& idempotent_submits_;
  prometheus::Counter& resumed_jobs_;
  prometheus::Family<prometheus::Gauge>& admission_in_use_;
  prometheus::Family<prometheus::Counter>& admission_rejections_;
  prometheus::Family<prometheus::Counter>& auth_refusals_;
  prometheus::Family<prometheus::Counter>& credentials_reloads_;
  prometheus::Family<prometheus::Counter>& caller_limit_rejections_;
};

}  // namespace jobgw::core
