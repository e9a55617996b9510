#include "core/metrics/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace jobgw::core {
namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(MetricsTest, JobAttemptsByStatusClassErrorKindAndRetries) {
  Metrics m;
  AttemptRecord first;
  first.label = "get_job_instance_status";
  first.attempt = 1;
  first.http_status = 503;
  first.duration = std::chrono::milliseconds(30);
  first.next_retry_delay = std::chrono::milliseconds(100);
  m.job_attempt(first);

  AttemptRecord second = first;
  second.attempt = 2;
  second.http_status = 200;
  second.next_retry_delay.reset();
  m.job_attempt(second);

  AttemptRecord failed;
  failed.label = "fast_execute_script";
  failed.attempt = 1;
  failed.error = ErrorKind::kTransport;
  failed.transport_cause = "connection refused";
  m.job_attempt(failed);

  std::string text = m.serialize();
  EXPECT_TRUE(
      contains(text, "jobgw_job_calls_total{api=\"get_job_instance_status\",outcome=\"5xx\"} 1\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_calls_total{api=\"get_job_instance_status\",outcome=\"2xx\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "jobgw_job_calls_total{api=\"fast_execute_script\",outcome=\"transport\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_job_call_retries_total{api=\"get_job_instance_status\"} 1\n"))
      << text;
  EXPECT_FALSE(contains(text, "jobgw_job_call_retries_total{api=\"fast_execute_script\"}")) << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_call_duration_seconds_count{api=\"get_job_instance_status\"} 2\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_call_duration_seconds_sum{api=\"get_job_instance_status\"} 0.06"))
      << text;
  // The transport cause is free text and must never become a label.
  EXPECT_FALSE(contains(text, "connection refused")) << text;
}

TEST(MetricsTest, JobOutcomeLabels) {
  AttemptRecord r;
  r.http_status = 404;
  EXPECT_EQ(Metrics::job_outcome(r), "4xx");
  r.error = ErrorKind::kTimeout;
  EXPECT_EQ(Metrics::job_outcome(r), "timeout");
  AttemptRecord none;
  EXPECT_EQ(Metrics::job_outcome(none), "other");
}

TEST(MetricsTest, WatchObserverHooks) {
  Metrics m;
  WatchObserver& observer = m;  // the hub sees only the interface
  observer.on_watched_jobs(3);
  observer.on_watched_jobs(2);
  observer.on_subscribers(7);
  observer.on_event(WatchEventKind::kSnapshot);
  observer.on_event(WatchEventKind::kHostChanged);
  observer.on_event(WatchEventKind::kHostChanged);
  observer.on_poll(std::chrono::milliseconds(200));
  observer.on_poll(std::chrono::milliseconds(3000));
  observer.on_read(true);
  observer.on_read(true);
  observer.on_read(false);
  observer.on_token_wait(std::chrono::milliseconds(0));
  observer.on_token_wait(std::chrono::milliseconds(250));
  observer.on_job_finished(3);
  observer.on_job_finished(4);
  observer.on_job_finished(99);
  observer.on_subscriber_overflow();

  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "jobgw_watched_jobs 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_subscribers 7\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_events_total{kind=\"snapshot\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_events_total{kind=\"host_changed\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_poll_interval_seconds_count 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_poll_interval_seconds_sum 3.2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_poll_interval_seconds_bucket{le=\"0.2\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_job_reads_total{outcome=\"ok\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_job_reads_total{outcome=\"error\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_token_bucket_wait_seconds_count 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_token_bucket_wait_seconds_sum 0.25\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_jobs_finished_total{status=\"success\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_jobs_finished_total{status=\"failed\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_jobs_finished_total{status=\"other\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_subscriber_overflows_total 1\n")) << text;
}

TEST(MetricsTest, EveryFamilyIsExposedBeforeAnyCall) {
  Metrics m;
  std::string text = m.serialize();
  // Unlabelled gauges and counters exist from the start so dashboards see zeros, not gaps.
  for (const char* name :
       {"jobgw_watched_jobs 0", "jobgw_subscribers 0", "jobgw_subscriber_overflows_total 0",
        "jobgw_job_reads_total{outcome=\"ok\"} 0", "jobgw_poll_interval_seconds_count 0"}) {
    EXPECT_TRUE(contains(text, name)) << name << "\n" << text;
  }
}

}  // namespace
}  // namespace jobgw::core
