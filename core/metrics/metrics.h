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

#include "core/http/http_client.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// The registry behind /metrics and the families core reports into: JOB calls (hook job_attempt
// into HttpClientConfig::on_attempt) and the WatchHub (as its WatchObserver). The server adds
// its own families to the same registry (server/server_metrics.h). Thread-safe: prometheus-cpp
// metrics are atomic and families lock their own label maps. Label values come from finite sets
// only; anything outside a known set is reported as "other" so a misbehaving caller cannot grow
// the series count without bound.
class Metrics : public WatchObserver {
 public:
  Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One HTTP attempt to JOB; hook into HttpClientConfig::on_attempt.
  void job_attempt(const AttemptRecord& record);

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
  // An identifier (RPC method, JOB API name) as a label value: short and from a fixed alphabet,
  // else "other" (a bug upstream, folded into one series).
  static std::string identifier_label(const std::string& value);
  // Call latency buckets, from a fast local jobsim (milliseconds) to a slow JOB behind a gateway.
  static const prometheus::Histogram::BucketBoundaries& latency_buckets();

 private:
  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>& job_calls_;
  prometheus::Family<prometheus::Histogram>& job_call_duration_;
  prometheus::Family<prometheus::Counter>& job_call_retries_;
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
};

}  // namespace jobgw::core
