#include "core/metrics/metrics.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/job/job_codec.h"
#include "core/metrics/build_info.h"

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
  EXPECT_TRUE(contains(
      text, "jobgw_job_http_attempts_total{api=\"get_job_instance_status\",outcome=\"5xx\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "jobgw_job_http_attempts_total{api=\"get_job_instance_status\",outcome=\"2xx\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "jobgw_job_http_attempts_total{api=\"fast_execute_script\",outcome=\"transport\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_job_call_retries_total{api=\"get_job_instance_status\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_job_call_retries_total{api=\"fast_execute_script\"} 0\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_call_duration_seconds_count{api=\"get_job_instance_status\"} 2\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_call_duration_seconds_sum{api=\"get_job_instance_status\"} 0.06"))
      << text;
  // The transport cause is free text and must never become a label.
  EXPECT_FALSE(contains(text, "connection refused")) << text;
}

// Every known API and outcome takes the series made up front; an API outside the known set
// still gets its own series, and an outcome outside it "other".
TEST(MetricsTest, EveryKnownApiAndOutcomeCountsOnItsOwnSeries) {
  Metrics m;
  const std::vector<std::pair<int, std::optional<ErrorKind>>> outcomes{
      {150, std::nullopt},      {200, std::nullopt},       {302, std::nullopt},
      {429, std::nullopt},      {599, std::nullopt},       {0, ErrorKind::kTransport},
      {0, ErrorKind::kTimeout}, {0, ErrorKind::kCancelled}};
  for (auto api : Metrics::job_apis()) {
    for (const auto& [status, error] : outcomes) {
      AttemptRecord r;
      r.label = std::string(api);
      r.attempt = 2;
      r.http_status = status;
      r.error = error;
      m.job_attempt(r);
    }
  }
  AttemptRecord unknown_api;
  unknown_api.label = "get_job_plan_detail";
  unknown_api.attempt = 1;
  unknown_api.http_status = 200;
  m.job_attempt(unknown_api);
  AttemptRecord unknown_outcome;
  unknown_outcome.label = "probe";
  unknown_outcome.attempt = 1;
  m.job_attempt(unknown_outcome);

  const std::string text = m.serialize();
  for (auto api : Metrics::job_apis()) {
    const std::string name(api);
    for (auto outcome : Metrics::job_attempt_outcomes()) {
      const std::string series = "jobgw_job_http_attempts_total{api=\"" + name + "\",outcome=\"" +
                                 std::string(outcome) + "\"} 1\n";
      EXPECT_TRUE(contains(text, series)) << series << text;
    }
    EXPECT_TRUE(contains(text, "jobgw_job_call_retries_total{api=\"" + name + "\"} 8\n"))
        << name << text;
  }
  EXPECT_TRUE(contains(text, "jobgw_job_call_duration_seconds_count{api=\"probe\"} 9\n")) << text;
  EXPECT_TRUE(contains(
      text, "jobgw_job_http_attempts_total{api=\"get_job_plan_detail\",outcome=\"2xx\"} 1\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_job_call_duration_seconds_count{api=\"get_job_plan_detail\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_job_http_attempts_total{api=\"probe\",outcome=\"other\"} 1\n"))
      << text;
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
  // Every series whose labels come from a known set exists from the start, so dashboards and
  // rate() see zeros, not gaps.
  for (const char* name : {
           "jobgw_watched_jobs 0\n",
           "jobgw_subscribers 0\n",
           "jobgw_subscriber_overflows_total 0\n",
           "jobgw_poll_interval_seconds_count 0\n",
           "jobgw_job_up 0\n",
           "jobgw_job_call_retries_total{api=\"get_job_instance_status\"} 0\n",
           "jobgw_job_call_retries_total{api=\"operate_job_instance\"} 0\n",
           "jobgw_job_http_attempts_total{api=\"fast_transfer_file\",outcome=\"5xx\"} 0\n",
           "jobgw_job_http_attempts_total{api=\"batch_get_job_instance_ip_log\",outcome="
           "\"timeout\"} 0\n",
           "jobgw_job_call_duration_seconds_count{api=\"get_job_instance_ip_log\"} 0\n",
           "jobgw_events_total{kind=\"finished\"} 0\n",
           "jobgw_events_total{kind=\"job_unreachable\"} 0\n",
           "jobgw_jobs_finished_total{status=\"success\"} 0\n",
           "jobgw_jobs_finished_total{status=\"abnormal\"} 0\n",
           "jobgw_watch_ends_total{reason=\"give_up\"} 0\n",
           "jobgw_watch_ends_total{reason=\"job_error\"} 0\n",
           "jobgw_watch_ends_total{reason=\"id_reused\"} 0\n",
           "jobgw_watch_ends_total{reason=\"job_lost\"} 0\n",
       }) {
    EXPECT_TRUE(contains(text, name)) << name << "\n" << text;
  }
  EXPECT_FALSE(contains(text, "outcome=\"other\"")) << text;
  EXPECT_FALSE(contains(text, "reason=\"other\"")) << text;
  EXPECT_FALSE(contains(text, "status=\"other\"")) << text;
}

// The series made up front are the APIs jobgw really calls: every label JobCodec gives a request.
TEST(MetricsTest, KnownJobApisAreTheCodecsLabels) {
  JobApiSettings settings;
  settings.default_operator = "admin";
  JobCodec codec(settings);
  ExecuteScriptRequest script;
  script.scope = {"biz", "1"};
  script.script_content = "echo";
  script.script_language = 1;
  script.targets.host_ids = {101};
  TransferFileRequest transfer;
  transfer.scope = {"biz", "1"};
  FileSource source;
  source.files = {"/etc/hosts"};
  source.servers.host_ids = {101};
  transfer.sources = {source};
  transfer.target_path = "/tmp/";
  transfer.targets.host_ids = {102};
  IpLogsRequest logs;
  logs.scope = {"biz", "1"};
  logs.job_instance_id = 1;
  logs.step_instance_id = 2;
  logs.host_ids = {101};
  std::vector<std::string> labels;
  for (const auto& call :
       {codec.execute_script(script), codec.transfer_file(transfer),
        codec.batch_get_job_instance_ip_log(logs), codec.get_job_instance_ip_log(logs)}) {
    ASSERT_TRUE(call.ok()) << call.error().message;
    labels.push_back(call.value().label);
  }
  labels.push_back(codec.get_job_instance_status(JobStatusRequest{}).label);
  labels.push_back(codec.operate_job_instance(OperateJobRequest{}).label);
  labels.push_back(codec.get_job_instance_list(JobListRequest{}).label);
  labels.push_back(codec.probe().label);
  std::vector<std::string> known(Metrics::job_apis().begin(), Metrics::job_apis().end());
  std::sort(labels.begin(), labels.end());
  std::sort(known.begin(), known.end());
  EXPECT_EQ(labels, known);
}

TEST(MetricsTest, AttemptOutcomesOutsideTheKnownSetFoldIntoOther) {
  AttemptRecord r;
  r.error = ErrorKind::kDecode;  // never an attempt's own outcome
  EXPECT_EQ(Metrics::job_outcome(r), "other");
  AttemptRecord cancelled;
  cancelled.error = ErrorKind::kCancelled;
  EXPECT_EQ(Metrics::job_outcome(cancelled), "cancelled");
  AttemptRecord weird;
  weird.http_status = 799;
  EXPECT_EQ(Metrics::job_outcome(weird), "other");
}

TEST(MetricsTest, WatchEndsByReason) {
  Metrics m;
  WatchObserver& observer = m;
  observer.on_watch_ended("give_up");
  observer.on_watch_ended("give_up");
  observer.on_watch_ended("job_lost");
  observer.on_watch_ended("something new");
  observer.on_watch_ended(nullptr);
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "jobgw_watch_ends_total{reason=\"give_up\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_watch_ends_total{reason=\"job_lost\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_watch_ends_total{reason=\"job_error\"} 0\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_watch_ends_total{reason=\"other\"} 2\n")) << text;
  EXPECT_FALSE(contains(text, "something new")) << text;
}

TEST(MetricsTest, JobUpFollowsTheLastReport) {
  Metrics m;
  m.set_job_up(true);
  EXPECT_TRUE(contains(m.serialize(), "jobgw_job_up 1\n"));
  m.set_job_up(false);
  EXPECT_TRUE(contains(m.serialize(), "jobgw_job_up 0\n"));
}

TEST(MetricsTest, BuildInfoNamesVersionAndRevision) {
  Metrics m;
  const std::string text = m.serialize();
  const std::string series = std::string("jobgw_build_info{revision=\"") + build_revision() +
                             "\",version=\"" + build_version() + "\"} 1\n";
  EXPECT_TRUE(contains(text, series)) << series << text;
  // The CMake project version: digits and dots.
  const std::string version = build_version();
  EXPECT_FALSE(version.empty());
  EXPECT_EQ(version.find_first_not_of("0123456789."), std::string::npos) << version;
  EXPECT_FALSE(std::string(build_revision()).empty());
}

TEST(MetricsTest, ServesTheProcessFamilies) {
  Metrics m;
  const std::string text = m.serialize();
  for (const char* family :
       {"# TYPE process_cpu_seconds_total counter\n",
        "# TYPE process_resident_memory_bytes gauge\n",
        "# TYPE process_virtual_memory_bytes gauge\n", "# TYPE process_open_fds gauge\n",
        "# TYPE process_max_fds gauge\n", "# TYPE process_start_time_seconds gauge\n"}) {
    EXPECT_TRUE(contains(text, family)) << family << text;
  }
}

}  // namespace
}  // namespace jobgw::core
