// Demand-aware polling against jobsim: a watcher that wants only the job's progress and end costs
// JOB a read to learn the job and one on its callback, and hears no host changes; one that wants
// hosts gets today's detail; a detail value jobgw does not know is refused naming the field.
#include <gtest/gtest.h>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

v1::JobRef submit(GatewayStack& stack, const v1::ExecuteScriptRequest& request) {
  Submitted submitted = execute(stack.stub(), request);
  EXPECT_TRUE(submitted.status.ok()) << submitted.status.error_message() << stack.logs();
  return submitted.ref;
}

int count_kind(const WatchResult& w, v1::EventKind kind) {
  int n = 0;
  for (const auto& e : w.events) n += e.kind() == kind ? 1 : 0;
  return n;
}

TEST(DemandPolling, ProgressWatchersCostAReadToLearnTheJobAndOneOnItsCallback) {
  GatewayStack stack(
      {.hosts = 3, .jobsim_args = {}, .jobgw_args = {}, .callback = true, .credentials_json = {}});
  // The first job proves JOB's callbacks reach this jobgw; until then every job is read in
  // detail.
  v1::JobRef first = submit(stack, script_request("echo warm", {101}));
  WatchResult warm = watch_to_end(stack.stub(), first.job_instance_id());
  ASSERT_TRUE(warm.status.ok()) << warm.status.error_message() << stack.logs();
  ASSERT_TRUE(
      wait_until([&] { return stack.jobsim_stats()["callbacks"].value("delivered", 0) >= 1; },
                 std::chrono::milliseconds(10000)))
      << stack.jobsim_stats().dump();

  v1::JobRef ref = submit(stack, script_request("sleep 3; echo done", {101, 102, 103}));
  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, std::chrono::seconds(60),
                               v1::WATCH_DETAIL_PROGRESS);
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(w.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_EQ(w.events.back().snapshot().steps(0).hosts_size(), 3);
  EXPECT_EQ(count_kind(w, v1::EVENT_KIND_HOST_CHANGED), 0);
  // On the detailed schedule a 3 s job is read every 200 ms while young: about 15 reads.
  EXPECT_LE(stack.status_reads(ref.job_instance_id()), 3) << stack.logs();
  const std::string metrics = scrape_metrics(stack.metrics_port());
  EXPECT_EQ(metric_value(metrics, "jobgw_callback_missed_total"), 0) << metrics;
}

TEST(DemandPolling, HostWatchersKeepTheDetailedScheduleWithTheCallbackOn) {
  GatewayStack stack(
      {.hosts = 3, .jobsim_args = {}, .jobgw_args = {}, .callback = true, .credentials_json = {}});
  v1::JobRef first = submit(stack, script_request("echo warm", {101}));
  ASSERT_TRUE(watch_to_end(stack.stub(), first.job_instance_id()).status.ok());
  ASSERT_TRUE(
      wait_until([&] { return stack.jobsim_stats()["callbacks"].value("delivered", 0) >= 1; },
                 std::chrono::milliseconds(10000)));
  v1::JobRef ref =
      submit(stack, script_request("sleep 1; echo one; sleep 1; echo two", {101, 102, 103}));
  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), 0, std::chrono::seconds(60),
                               v1::WATCH_DETAIL_HOSTS);
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  EXPECT_GE(count_kind(w, v1::EVENT_KIND_HOST_CHANGED), 3);
  EXPECT_GT(stack.status_reads(ref.job_instance_id()), 4) << "read on the detailed schedule";
}

TEST(DemandPolling, AnUnknownDetailIsRefusedNamingTheField) {
  GatewayStack stack(
      {.hosts = 1, .jobsim_args = {}, .jobgw_args = {}, .callback = false, .credentials_json = {}});
  WatchResult w =
      watch_to_end(stack.stub(), 1, 0, std::chrono::seconds(10), static_cast<v1::WatchDetail>(9));
  EXPECT_EQ(w.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(w.status.error_message().find("detail"), std::string::npos) << w.status.error_message();
}

}  // namespace
}  // namespace jobgw::testing
