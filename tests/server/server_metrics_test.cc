// The server's metric families, registered in the core registry (one /metrics page).
#include "server/server_metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace jobgw::server {
namespace {

bool contains(const std::string& text, const std::string& line) {
  return text.find(line) != std::string::npos;
}

TEST(ServerMetricsTest, RpcFinishedCountsAndTimesByMethodAndCode) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  m.rpc_finished("ExecuteScript", "OK", 0.02);
  m.rpc_finished("ExecuteScript", "OK", 0.2);
  m.rpc_finished("ExecuteScript", "INVALID_ARGUMENT", 0.001);
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "jobgw_rpc_requests_total{code=\"OK\",method=\"ExecuteScript\"} 2\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "jobgw_rpc_requests_total{code=\"INVALID_ARGUMENT\",method=\"ExecuteScript\"} 1\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"ExecuteScript\"} 2\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_duration_seconds_sum{code=\"OK\",method=\"ExecuteScript\"} 0.22"))
      << text;
  // 0.02 s falls in the 0.025 bucket, 0.2 s does not.
  EXPECT_TRUE(contains(
      text,
      "jobgw_rpc_duration_seconds_bucket{code=\"OK\",method=\"ExecuteScript\",le=\"0.025\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "# TYPE jobgw_rpc_duration_seconds histogram")) << text;
}

TEST(ServerMetricsTest, UnboundedLabelValuesFoldIntoOther) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  m.rpc_finished("Execute Script; DROP", "ok", 0.1);
  m.rpc_finished("GetJobStatus", "NOT_A_CODE", 0.1);
  m.callback("something-new");
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "jobgw_rpc_requests_total{code=\"OK\",method=\"other\"} 1\n")) << text;
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_requests_total{code=\"other\",method=\"GetJobStatus\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"other\"} 1\n")) << text;
  EXPECT_FALSE(contains(text, "DROP")) << text;
}

TEST(ServerMetricsTest, CallbackOutcomes) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  m.callback("accepted");
  m.callback("accepted");
  m.callback("unknown_job");
  m.callback("malformed");
  m.callback("method_not_allowed");
  std::string text = m.serialize();
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"accepted\"} 2\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"unknown_job\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"malformed\"} 1\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"method_not_allowed\"} 1\n")) << text;
}

TEST(ServerMetricsTest, StreamsAreTimedApartFromUnaryCalls) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  m.rpc_finished("GetJobStatus", "OK", 0.002);
  m.stream_finished("WatchStatus", "OK", 7200);
  m.stream_finished("FollowLogs", "CANCELLED", 45);
  std::string text = m.serialize();
  // Streams count with the calls by code...
  EXPECT_TRUE(contains(text, "jobgw_rpc_requests_total{code=\"OK\",method=\"WatchStatus\"} 1\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_requests_total{code=\"CANCELLED\",method=\"FollowLogs\"} 1\n"))
      << text;
  // ...but their lifetimes stay out of the unary latency histogram.
  EXPECT_FALSE(
      contains(text, "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"WatchStatus\"}"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_duration_seconds_sum{code=\"OK\",method=\"GetJobStatus\"} 0.002\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_stream_duration_seconds_count{method=\"WatchStatus\"} 1\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_stream_duration_seconds_sum{method=\"WatchStatus\"} 7200\n"))
      << text;
  // Two hours land in the 2 h bucket, not below: the buckets reach hours.
  EXPECT_TRUE(contains(
      text, "jobgw_stream_duration_seconds_bucket{method=\"WatchStatus\",le=\"3600\"} 0\n"))
      << text;
  EXPECT_TRUE(contains(
      text, "jobgw_stream_duration_seconds_bucket{method=\"WatchStatus\",le=\"7200\"} 1\n"))
      << text;
  EXPECT_TRUE(
      contains(text, "jobgw_stream_duration_seconds_bucket{method=\"FollowLogs\",le=\"60\"} 1\n"))
      << text;
}

TEST(ServerMetricsTest, KnownLabelSetsStartAtZero) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  std::string text = m.serialize();
  for (const char* series : {
           "jobgw_rpc_requests_total{code=\"OK\",method=\"ExecuteScript\"} 0\n",
           "jobgw_rpc_requests_total{code=\"UNAVAILABLE\",method=\"ListJobs\"} 0\n",
           "jobgw_rpc_requests_total{code=\"UNAUTHENTICATED\",method=\"WatchStatus\"} 0\n",
           "jobgw_rpc_requests_total{code=\"RESOURCE_EXHAUSTED\",method=\"FollowLogs\"} 0\n",
           "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"GetIpLogs\"} 0\n",
           "jobgw_stream_duration_seconds_count{method=\"FollowLogs\"} 0\n",
           "jobgw_admission_in_use{limit=\"limits.max_streams\"} 0\n",
           "jobgw_admission_rejections_total{limit=\"limits.max_inflight_job_calls\"} 0\n",
           "jobgw_auth_refusals_total{reason=\"bad_token\"} 0\n",
           "jobgw_caller_limit_rejections_total{limit=\"streams\"} 0\n",
           "jobgw_credentials_reloads_total{outcome=\"failed\"} 0\n",
           "jobgw_idempotent_submits_total{outcome=\"replayed\"} 0\n",
           "jobgw_callbacks_total{outcome=\"refused\"} 0\n",
           "jobgw_log_reads_total{outcome=\"error\"} 0\n",
       }) {
    EXPECT_TRUE(contains(text, series)) << series << text;
  }
  // Nothing outside the known sets is made up front.
  EXPECT_FALSE(contains(text, "\"other\"")) << text;
}

TEST(ServerMetricsTest, JobPlanMethodsStartAtZero) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  std::string text = m.serialize();
  for (const char* method :
       {"ExecuteJobPlan", "ListJobPlans", "GetJobPlan", "OperateStep", "GetJobOutputs"}) {
    const std::string name(method);
    EXPECT_TRUE(contains(text, "jobgw_rpc_requests_total{code=\"OK\",method=\"" + name + "\"} 0\n"))
        << name << text;
    EXPECT_TRUE(
        contains(text, "jobgw_rpc_requests_total{code=\"NOT_FOUND\",method=\"" + name + "\"} 0\n"))
        << name << text;
    EXPECT_TRUE(
        contains(text, "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"" + name + "\"} 0\n"))
        << name << text;
  }
}

// Known labels take the series made up front; the rest still find (or make) theirs by label.
TEST(ServerMetricsTest, KnownAndUnknownLabelsLandOnTheirOwnSeries) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  m.rpc_finished("GetJobPlan", "OK", 0.003);
  m.rpc_finished("GetJobPlan", "NOT_FOUND", 0.001);
  m.rpc_finished("GetJobPlan", "not_found", 0.001);
  m.rpc_finished("NewRpc", "OK", 0.001);
  m.stream_finished("FollowLogs", "OK", 2);
  m.stream_finished("NewStream", "OK", 2);
  m.admission_changed("limits.max_streams", +1);
  m.admission_changed("limits.max_streams", +1);
  m.admission_changed("limits.max_streams", -1);
  m.admission_changed("limits.max_inflight_job_calls", +1);
  m.admission_changed("limits.unknown", +1);
  std::string text = m.serialize();
  for (const char* series : {
           "jobgw_rpc_requests_total{code=\"OK\",method=\"GetJobPlan\"} 1\n",
           "jobgw_rpc_requests_total{code=\"NOT_FOUND\",method=\"GetJobPlan\"} 2\n",
           "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"GetJobPlan\"} 1\n",
           "jobgw_rpc_duration_seconds_count{code=\"NOT_FOUND\",method=\"GetJobPlan\"} 2\n",
           "jobgw_rpc_requests_total{code=\"OK\",method=\"NewRpc\"} 1\n",
           "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"NewRpc\"} 1\n",
           "jobgw_rpc_requests_total{code=\"OK\",method=\"FollowLogs\"} 1\n",
           "jobgw_stream_duration_seconds_count{method=\"FollowLogs\"} 1\n",
           "jobgw_rpc_requests_total{code=\"OK\",method=\"NewStream\"} 1\n",
           "jobgw_stream_duration_seconds_count{method=\"NewStream\"} 1\n",
           "jobgw_admission_in_use{limit=\"limits.max_streams\"} 1\n",
           "jobgw_admission_in_use{limit=\"limits.max_inflight_job_calls\"} 1\n",
           "jobgw_admission_in_use{limit=\"other\"} 1\n",
       }) {
    EXPECT_TRUE(contains(text, series)) << series << text;
  }
  // A unary method's calls are not timed as streams, nor a stream's as unary calls.
  EXPECT_FALSE(contains(text, "jobgw_stream_duration_seconds_count{method=\"GetJobPlan\"}"))
      << text;
  EXPECT_FALSE(
      contains(text, "jobgw_rpc_duration_seconds_count{code=\"OK\",method=\"FollowLogs\"}"))
      << text;
}

TEST(ServerMetricsTest, ConcurrentUpdatesAreNotLost) {
  core::Metrics core_metrics;
  ServerMetrics m(core_metrics);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&m, &core_metrics] {
      for (int i = 0; i < kPerThread; ++i) {
        m.rpc_finished("GetJobStatus", "OK", 0.001);
        m.callback("accepted");
        core_metrics.on_subscriber_overflow();
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.serialize();
  EXPECT_TRUE(
      contains(text, "jobgw_rpc_requests_total{code=\"OK\",method=\"GetJobStatus\"} 10000\n"))
      << text;
  EXPECT_TRUE(contains(text, "jobgw_callbacks_total{outcome=\"accepted\"} 10000\n")) << text;
  EXPECT_TRUE(contains(text, "jobgw_subscriber_overflows_total 10000\n")) << text;
}

}  // namespace
}  // namespace jobgw::server
