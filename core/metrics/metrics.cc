#include "core/metrics/metrics.h"

#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string_view>

#include "core/metrics/build_info.h"
#include "core/metrics/process_collector.h"

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
      job_attempts_(BuildCounter()
                        .Name("jobgw_job_http_attempts_total")
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
                                .Add({})),
      watch_ends_(BuildCounter()
                      .Name("jobgw_watch_ends_total")
                      .Help("Job watches that ended without FINISHED, by reason (give_up, "
                            "job_error, id_reused, job_lost)")
                      .Register(*registry_)),
      callbacks_missed_(BuildCounter()
                            .Name("jobgw_callback_missed_total")
                            .Help("Jobs submitted with jobgw's callback URL that finished without "
                                  "their callback arriving within watch.callback_grace_ms")
                            .Register(*registry_)
                            .Add({})),
      sweeps_(BuildCounter()
                  .Name("jobgw_watch_sweeps_total")
                  .Help("Job list reads of the sweeps made while status reads wait for the read "
                        "budget, by outcome (ok, error)")
                  .Register(*registry_)),
      sweeps_ok_(sweeps_.Add({{"outcome", "ok"}})),
      sweeps_failed_(sweeps_.Add({{"outcome", "error"}})),
      sweep_changed_(BuildCounter()
                         .Name("jobgw_watch_sweep_changed_total")
                         .Help("Subscribed jobs a sweep's job list showed changed, read at once")
                         .Register(*registry_)
                         .Add({})),
      job_up_(BuildGauge()
                  .Name("jobgw_job_up")
                  .Help("1 while jobgw reaches JOB, else 0 (also before the first call)")
                  .Register(*registry_)
                  .Add({})) {
  BuildGauge()
      .Name("jobgw_build_info")
      .Help(
          "Always 1; the labels name the jobgw build: version (the CMake project version) "
          "and revision (the git revision it was configured from)")
      .Register(*registry_)
      .Add({{"version", build_version()}, {"revision", build_revision()}})
      .Set(1);
  static_assert(static_cast<std::size_t>(WatchEventKind::kStepWaitingUser) < kEventKinds);
  for (auto api : job_apis()) {
    const std::string name(api);
    ApiSeries series;
    series.api = api;
    const auto& outcomes = job_attempt_outcomes();
    for (std::size_t i = 0; i < outcomes.size() && i < kAttemptOutcomes; ++i) {
      series.attempts[i] =
          &job_attempts_.Add({{"api", name}, {"outcome", std::string(outcomes[i])}});
    }
    series.duration = &job_call_duration_.Add({{"api", name}}, latency_buckets());
    series.retries = &job_call_retries_.Add({{"api", name}});
    api_series_.push_back(series);
  }
  for (int kind = static_cast<int>(WatchEventKind::kSnapshot);
       kind <= static_cast<int>(WatchEventKind::kStepWaitingUser); ++kind) {
    events_by_kind_[static_cast<std::size_t>(kind)] =
        &events_.Add({{"kind", to_string(static_cast<WatchEventKind>(kind))}});
  }
  for (int status = 0; status <= 15; ++status) {
    const std::string_view label = job_status_label(status);
    if (label != kOther) jobs_finished_.Add({{"status", std::string(label)}});
  }
  for (auto reason : watch_end_reasons()) watch_ends_.Add({{"reason", std::string(reason)}});
  add_collectable(std::make_shared<ProcessCollector>());
}

const std::vector<std::string_view>& Metrics::job_apis() {
  static const std::vector<std::string_view> kApis{
      "fast_execute_script",           "fast_transfer_file",
      "get_job_instance_status",       "get_job_instance_list",
      "batch_get_job_instance_ip_log", "get_job_instance_ip_log",
      "operate_job_instance",          "probe"};
  return kApis;
}

const std::vector<std::string_view>& Metrics::job_attempt_outcomes() {
  // An attempt ends with an HTTP answer or without one (core/http/http_client.cc fails an
  // attempt only as transport, timeout or cancelled).
  static const std::vector<std::string_view> kOutcomes{"1xx", "2xx",       "3xx",     "4xx",
                                                       "5xx", "transport", "timeout", "cancelled"};
  return kOutcomes;
}

const std::vector<std::string_view>& Metrics::watch_end_reasons() {
  static const std::vector<std::string_view> kReasons{"give_up", "job_error", "id_reused",
                                                      "job_lost"};
  return kReasons;
}

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
  std::string outcome(kOther);
  if (record.error) {
    outcome = to_string(*record.error);
  } else if (record.http_status >= 100 && record.http_status < 600) {
    outcome = std::to_string(record.http_status / 100) + "xx";
  }
  const auto& known = job_attempt_outcomes();
  if (std::find(known.begin(), known.end(), outcome) == known.end()) return std::string(kOther);
  return outcome;
}

int Metrics::outcome_index(const AttemptRecord& record) {
  const auto& known = job_attempt_outcomes();
  if (record.error) {
    const std::string_view kind = to_string(*record.error);
    const auto it = std::find(known.begin(), known.end(), kind);
    return it == known.end() ? -1 : static_cast<int>(it - known.begin());
  }
  // "1xx" .. "5xx" lead the known outcomes, in order.
  if (record.http_status >= 100 && record.http_status < 600) return record.http_status / 100 - 1;
  return -1;
}

const Metrics::ApiSeries* Metrics::api_series(const std::string& label) const {
  for (const auto& series : api_series_) {
    if (series.api == label) return &series;
  }
  return nullptr;
}

void Metrics::job_attempt(const AttemptRecord& record) {
  const ApiSeries* series = api_series(record.label);
  const int outcome = outcome_index(record);
  if (series != nullptr && outcome >= 0) {
    series->attempts[static_cast<std::size_t>(outcome)]->Increment();
    series->duration->Observe(std::chrono::duration<double>(record.duration).count());
    if (record.attempt > 1) series->retries->Increment();
    return;
  }
  // An API or outcome outside the known sets: its series is found (or made) by its labels.
  std::string api = identifier_label(record.label);
  job_attempts_.Add({{"api", api}, {"outcome", job_outcome(record)}}).Increment();
  job_call_duration_.Add({{"api", api}}, latency_buckets())
      .Observe(std::chrono::duration<double>(record.duration).count());
  if (record.attempt > 1) job_call_retries_.Add({{"api", api}}).Increment();
}

void Metrics::on_event(WatchEventKind kind) {
  const auto index = static_cast<std::size_t>(kind);
  if (index < kEventKinds && events_by_kind_[index] != nullptr) {
    events_by_kind_[index]->Increment();
    return;
  }
  events_.Add({{"kind", to_string(kind)}}).Increment();
}

void Metrics::on_watched_jobs(std::size_t count) { watched_jobs_.Set(static_cast<double>(count)); }

void Metrics::on_subscribers(std::size_t count) { subscribers_.Set(static_cast<double>(count)); }

void Metrics::on_poll(std::chrono::milliseconds next_interval) {
  poll_interval_.Observe(seconds_of(next_interval));
}

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

void Metrics::on_watch_ended(const char* reason) {
  const std::string_view given = reason == nullptr ? std::string_view() : std::string_view(reason);
  const auto& known = watch_end_reasons();
  const bool named = std::find(known.begin(), known.end(), given) != known.end();
  watch_ends_.Add({{"reason", std::string(named ? given : kOther)}}).Increment();
}

void Metrics::on_callback_missed() { callbacks_missed_.Increment(); }

void Metrics::on_sweep(bool ok, std::size_t changed) {
  (ok ? sweeps_ok_ : sweeps_failed_).Increment();
  sweep_changed_.Increment(static_cast<double>(changed));
}

void Metrics::set_job_up(bool up) { job_up_.Set(up ? 1 : 0); }

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  for (const auto& collectable : collectables_) {
    auto more = collectable->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace jobgw::core
