#include "server/replica_metrics.h"

namespace jobgw::server {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

}  // namespace

ReplicaMetrics::ReplicaMetrics(core::Metrics& core)
    : owned_(BuildGauge()
                 .Name("jobgw_replica_owned_jobs")
                 .Help("Jobs this replica polls for the deployment (it holds their lease)")
                 .Register(*core.registry())
                 .Add({})),
      followed_(BuildGauge()
                    .Name("jobgw_replica_followed_jobs")
                    .Help("Jobs whose shared log this replica's streams follow")
                    .Register(*core.registry())
                    .Add({})),
      acquired_(BuildCounter()
                    .Name("jobgw_replica_leases_acquired_total")
                    .Help("Job leases taken: at submit or first watch (submit) or from a "
                          "replica that stopped renewing (adopt)")
                    .Register(*core.registry())),
      lost_(BuildCounter()
                .Name("jobgw_replica_leases_lost_total")
                .Help("Job leases lost to another replica (fenced) or given back at shutdown "
                      "(released)")
                .Register(*core.registry())),
      appended_(BuildCounter()
                    .Name("jobgw_replica_appended_events_total")
                    .Help("Events this replica appended to the shared logs")
                    .Register(*core.registry())
                    .Add({})),
      lag_(BuildHistogram()
               .Name("jobgw_replica_fanout_lag_seconds")
               .Help("From the owner's append to this replica's hub, per published change")
               .Register(*core.registry())
               .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025,
                                                                0.05, 0.1, 0.25, 0.5, 1, 2.5})) {
  for (const char* kind : {"submit", "adopt"}) acquired_.Add({{"kind", kind}});
  for (const char* kind : {"fenced", "released"}) lost_.Add({{"kind", kind}});
}

void ReplicaMetrics::on_owned_jobs(std::size_t count) { owned_.Set(static_cast<double>(count)); }

void ReplicaMetrics::on_followed_jobs(std::size_t count) {
  followed_.Set(static_cast<double>(count));
}

void ReplicaMetrics::on_lease_acquired(const char* kind) {
  acquired_.Add({{"kind", kind}}).Increment();
}

void ReplicaMetrics::on_lease_lost(const char* kind) { lost_.Add({{"kind", kind}}).Increment(); }

void ReplicaMetrics::on_appended(std::size_t events) {
  appended_.Increment(static_cast<double>(events));
}

void ReplicaMetrics::on_fanout_lag(std::chrono::milliseconds lag) {
  lag_.Observe(static_cast<double>(lag.count()) / 1000.0);
}

void HubObserver::on_event(core::WatchEventKind kind) {
  if (!poller()) to_.on_event(kind);
}
void HubObserver::on_watched_jobs(std::size_t count) {
  if (poller()) to_.on_watched_jobs(count);
}
void HubObserver::on_subscribers(std::size_t count) {
  if (!poller()) to_.on_subscribers(count);
}
void HubObserver::on_poll(std::chrono::milliseconds next_interval) {
  if (poller()) to_.on_poll(next_interval);
}
void HubObserver::on_read(bool ok) {
  if (poller()) to_.on_read(ok);
}
void HubObserver::on_token_wait(std::chrono::milliseconds waited) {
  if (poller()) to_.on_token_wait(waited);
}
void HubObserver::on_job_finished(int job_status) {
  if (poller()) to_.on_job_finished(job_status);
}
void HubObserver::on_subscriber_overflow() {
  if (!poller()) to_.on_subscriber_overflow();
}
// The poller ends a watch (it is the one reading JOB); the front only passes the end on.
void HubObserver::on_watch_ended(const char* reason) {
  if (poller()) to_.on_watch_ended(reason);
}
void HubObserver::on_callback_missed() {
  if (poller()) to_.on_callback_missed();
}
void HubObserver::on_sweep(bool ok, std::size_t changed) {
  if (poller()) to_.on_sweep(ok, changed);
}

}  // namespace jobgw::server
