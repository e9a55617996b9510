#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>

#include "core/metrics/metrics.h"
#include "core/replica/redis_watch_feed.h"

namespace jobgw::server {

// The jobgw_replica_ families (replicas on Redis): jobs this replica polls and follows, lease
// churn (taken at submit or by adoption; lost to fencing or given back), events appended to
// the shared log and how long a change took to reach this replica. Registered in the core
// registry, so /metrics serves them with the rest.
class ReplicaMetrics final : public core::ReplicaObserver {
 public:
  explicit ReplicaMetrics(core::Metrics& core);

  void on_owned_jobs(std::size_t count) override;
  void on_followed_jobs(std::size_t count) override;
  void on_lease_acquired(const char* kind) override;
  void on_lease_lost(const char* kind) override;
  void on_appended(std::size_t events) override;
  void on_fanout_lag(std::chrono::milliseconds lag) override;

 private:
  prometheus::Gauge& owned_;
  prometheus::Gauge& followed_;
  prometheus::Family<prometheus::Counter>& acquired_;
  prometheus::Family<prometheus::Counter>& lost_;
  prometheus::Counter& appended_;
  prometheus::Histogram& lag_;
};

// One replica runs two hubs: the poller (reads JOB for the jobs it owns) and the front (fans the
// shared log out to its streams). Each reports to the core metrics only what is its own, so the
// gauges they would both set (watched jobs, subscribers) are not overwritten by the other.
class HubObserver final : public core::WatchObserver {
 public:
  enum class Role { kPoller, kFront };
  HubObserver(core::WatchObserver& to, Role role) : to_(to), role_(role) {}

  void on_event(core::WatchEventKind kind) override;
  void on_watched_jobs(std::size_t count) override;
  void on_subscribers(std::size_t count) override;
  void on_poll(std::chrono::milliseconds next_interval) override;
  void on_read(bool ok) override;
  void on_token_wait(std::chrono::milliseconds waited) override;
  void on_job_finished(int job_status) override;
  void on_subscriber_overflow() override;
  void on_watch_ended(const char* reason) override;
  void on_callback_missed() override;
  void on_sweep(bool ok, std::size_t changed) override;

 private:
  bool poller() const { return role_ == Role::kPoller; }
  core::WatchObserver& to_;
  const Role role_;
};

}  // namespace jobgw::server
