#include "core/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

namespace jobgw::core {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

// Poll intervals run from the floor (about 200 ms) to the ceiling (a few seconds) and error
// backoff (up to 15 s by default).
const Histogram::BucketBoundaries& interval_buckets() {
  static const Histogram::BucketBoundaries kBuckets{0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60};
  return kBuckets;
}

// Waiting for the read token bucket: zero in the common case, seconds when JOB is rate-capped.
const Histogram::BucketBoundaries& wait_buckets() {
  static const Histogram::BucketBoundaries kBuckets{0.001, 0.005, 0.01, 0.05, 0.1, 0.25,
                                                    0.5,   1,     2.5,  5,    10};
  return kBuckets;
}

constexpr std::string_view kOther = "other";

double seconds_of(std::chrono::milliseconds ms) {
  return std::chrono::duration<double>(ms).count();
}

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      job_calls_(BuildCounter()
                     .Name("jobgw_job_calls_total")
                     .Help("HTTP attempts to JOB, by API and outcome (HTTP status class or "
                           "error kind)")
                     .Register(*registry_)),
      job_call_duration_(BuildHistogram()
                             .Name("jobgw_job_call_duration_seconds")
                             .Help("Duration of one HTTP attempt to JOB, by API")
                             .Register(*registry_)),
      job_call_retries_(BuildCounter()
                            .Name("jobgw_job_call_retries_total")
                            .Help("HTTP attempts to JOB that repeated an earlier attempt")
                            .Register(*registry_)),
      watched_jobs_(BuildGauge()
                        .Name("jobgw_watched_jobs")
                        .Help("Jobs with a live poller")
                        .Register(*registry_)
                        .Add({})),
      subscribers_(BuildGauge()
                       .Name("jobgw_subscribers")
                       .Help("Open watch subscriptions")
                       .Register(*registry_)
                       .Add({})),
      events_(BuildCounter()
                  .Name("jobgw_events_total")
                  .Help("Watch events produced, by kind")
                  .Register(*registry_)),
      poll_interval_(BuildHistogram()
                         .Name("jobgw_poll_interval_seconds")
                         .Help("Delay chosen before a poller's next status read")
                         .Register(*registry_)
                         .Add({}, interval_buckets())),
      job_reads_(BuildCounter()
                     .Name("jobgw_job_reads_total")
                     .Help("Job status reads by pollers, by outcome")
                     .Register(*registry_)),
      reads_ok_(job_reads_.Add({{"outcome", "ok"}})),
      reads_error_(job_reads_.Add({{"outcome", "error"}})),
      token_wait_(BuildHistogram()
                      .Name("jobgw_token_bucket_wait_seconds")
                      .Help("Time a poller waited for the global JOB read rate limit")
                      .Register(*registry_)
                      .Add({}, wait_buckets())),
      jobs_finished_(BuildCounter()
                         .Name("jobgw_jobs_finished_total")
                         .Help("Watched jobs that reached a terminal status, by status")
                         .Register(*registry_)),
      subscriber_overflows_(BuildCounter()
                                .Name("jobgw_subscriber_overflows_total")
                                .Help("Subscriber queues that overflowed and collapsed into a "
                                      "snapshot")
                                .Register(*registry_)
                                .Add({})) {}

// Identifiers such as RPC method or JOB API names: short, from a fixed alphabet. Anything else
// points at a bug upstream and is folded into one series.
std::string Metrics::identifier_label(const std::string& value) {
  if (value.empty() || value.size() > 64) return std::string(kOther);
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '_' && c != '.' && c != '/') return std::string(kOther);
  }
  return value;
}

const Histogram::BucketBoundaries& Metrics::latency_buckets() {
  static const Histogram::BucketBoundaries kBuckets{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  return kBuckets;
}

std::string Metrics::job_outcome(const AttemptRecord& record) {
  if (record.error) return to_string(*record.error);
  int s = record.http_status;
  if (s >= 100 && s < 600) return std::to_string(s / 100) + "xx";
  return std::string(kOther);
}

void Metrics::job_attempt(const AttemptRecord& record) {
  std::string api = identifier_label(record.label);
  job_calls_.Add({{"api", api}, {"outcome", job_outcome(record)}}).Increment();
  job_call_duration_.Add({{"api", api}}, latency_buckets())
      .Observe(std::chrono::duration<double>(record.duration).count());
  if (record.attempt > 1) job_call_retries_.Add({{"api", api}}).Increment();
}

void Metrics::on_event(WatchEventKind kind) {
  events_.Add({{"kind", to_string(kind)}}).Increment();
}

void Metrics::on_watched_jobs(std::size_t count) { watched_jobs_.Set(static_cast<double>(count)); }

void Metrics::on_subscribers(std::size_t count) { subscribers_.Set(static_cast<double>(count)); }

void Metrics::on_poll(std::chrono::milliseconds next_interval) {
  poll_interval_.Observe(seconds_of(next_interval));
}

void Metrics::on_read(bool ok) { (ok ? reads_ok_ : reads_error_).Increment(); }

void Metrics::on_token_wait(std::chrono::milliseconds waited) {
  token_wait_.Observe(seconds_of(waited));
}

const char* Metrics::job_status_label(int job_status) {
  // docs/JOB_API.md "Statuses"; codes JOB adds later fold into "other" until named here.
  switch (job_status) {
    case 1:
      return "pending";
    case 2:
      return "running";
    case 3:
      return "success";
    case 4:
      return "failed";
    case 5:
      return "skipped";
    case 6:
      return "ignored_error";
    case 7:
      return "waiting_user";
    case 8:
      return "terminated";
    case 9:
      return "abnormal";
    case 10:
      return "terminating";
    case 11:
      return "terminate_succeeded";
    case 13:
      return "termination_confirmed";
    case 14:
      return "abandoned";
    case 15:
      return "rolling_waiting";
    default:
      return "other";
  }
}

void Metrics::on_job_finished(int job_status) {
  jobs_finished_.Add({{"status", job_status_label(job_status)}}).Increment();
}

void Metrics::on_subscriber_overflow() { subscriber_overflows_.Increment(); }

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace jobgw::core
