#pragma once

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/http_client.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// The registry behind /metrics and the families core reports into: JOB calls (hook job_attempt
// into HttpClientConfig::on_attempt) and the WatchHub (as its WatchObserver). The server adds
// its own families to the same registry (server/server_metrics.h). Thread-safe: prometheus-cpp
// metrics are atomic and families lock their own label maps. Label values come from finite sets
// only; anything outside a known set is reported as "other" so a misbehaving caller cannot grow
// the series count without bound. Every series whose labels come from a known set exists from
// the start at 0, so panels and rate() see it before the first event. Besides its families it
// serves jobgw_build_info and the standard process_* metrics (core/metrics/process_collector.h).
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
  void on_token_wait(std::chrono::milliseconds waited) override;
  void on_job_finished(int job_status) override;
  void on_subscriber_overflow() override;
  // reason: give_up, job_error, id_reused, job_lost (anything else counts as "other").
  void on_watch_ended(const char* reason) override;
  void on_callback_missed() override;
  void on_sweep(bool ok, std::size_t changed) override;

  // Whether jobgw reaches JOB right now (jobgw_job_up 1) or not (0, also before the first call).
  void set_job_up(bool up);

  // Families gathered at every scrape from elsewhere (the process metrics are added by the
  // constructor). Add before serving.
  void add_collectable(std::shared_ptr<prometheus::Collectable> collectable) {
    collectables_.push_back(std::move(collectable));
  }

  // The Prometheus text exposition format (version 0.0.4).
  std::string serialize() const;

  const std::shared_ptr<prometheus::Registry>& registry() const { return registry_; }

  // The label value an HTTP status or an error kind gets in jobgw_job_http_attempts_total: one
  // of job_attempt_outcomes(), else "other".
  static std::string job_outcome(const AttemptRecord& record);
  // The JOB APIs jobgw calls (core/job/job_codec.cc labels its requests with these names;
  // "probe" is the reachability check).
  static const std::vector<std::string_view>& job_apis();
  static const std::vector<std::string_view>& job_attempt_outcomes();
  // The reasons on_watch_ended counts.
  static const std::vector<std::string_view>& watch_end_reasons();
  // JOB's job status as a label value: "success", "failed", ... or "other".
  static const char* job_status_label(int job_status);
  // An identifier (RPC method, JOB API name) as a label value: short and from a fixed alphabet,
  // else "other" (a bug upstream, folded into one series).
  static std::string identifier_label(const std::string& value);
  // Call latency buckets, from a fast local jobsim (milliseconds) to a slow JOB behind a gateway.
  static const prometheus::Histogram::BucketBoundaries& latency_buckets();

 private:
  static constexpr std::size_t kAttemptOutcomes = 8;  // job_attempt_outcomes().size()
  static constexpr std::size_t kEventKinds = 16;      // more than WatchEventKind has
  // One known JOB API's series, looked up once: building label maps and finding the family's
  // series on every attempt cost more than the attempt's own bookkeeping.
  struct ApiSeries {
    std::string_view api;
    std::array<prometheus::Counter*, kAttemptOutcomes> attempts{};
    prometheus::Histogram* duration = nullptr;
    prometheus::Counter* retries = nullptr;
  };
  // The index in job_attempt_outcomes() of the record's outcome, or -1 for "other".
  static int outcome_index(const AttemptRecord& record);
  const ApiSeries* api_series(const std::string& label) const;

  std::shared_ptr<prometheus::Registry> registry_;

  prometheus::Family<prometheus::Counter>& job_attempts_;
  prometheus::Family<prometheus::Histogram>& job_call_duration_;
  prometheus::Family<prometheus::Counter>& job_call_retries_;
  prometheus::Gauge& watched_jobs_;
  prometheus::Gauge& subscribers_;
  prometheus::Family<prometheus::Counter>& events_;
  prometheus::Histogram& poll_interval_;
  prometheus::Histogram& token_wait_;
  prometheus::Family<prometheus::Counter>& jobs_finished_;
  prometheus::Counter& subscriber_overflows_;
  prometheus::Family<prometheus::Counter>& watch_ends_;
  prometheus::Counter& callbacks_missed_;
  prometheus::Family<prometheus::Counter>& sweeps_;
  prometheus::Counter& sweeps_ok_;
  prometheus::Counter& sweeps_failed_;
  prometheus::Counter& sweep_changed_;
  prometheus::Gauge& job_up_;
  std::vector<ApiSeries> api_series_;  // one per job_apis(), filled by the constructor
  std::array<prometheus::Counter*, kEventKinds> events_by_kind_{};
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace jobgw::core
