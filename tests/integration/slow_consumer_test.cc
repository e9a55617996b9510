// A subscriber that stops reading, among many that read: jobgw keeps only its bounded queue for
// it (overflow collapses into one SNAPSHOT), the others get every event and FINISHED while the
// stalled one has still read nothing, jobgw's RSS stays bounded, and the stalled stream, once it
// reads again, still ends with FINISHED.
#include <gtest/gtest.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kHosts = 3000;
constexpr int kReaders = 12;
// The job's snapshot alone is a few hundred KiB; a stalled subscriber that held every event would
// cost tens of MiB. The bound is far above what the bounded queue needs and far below that.
constexpr long kRssGrowthLimitKib = 48 * 1024;

TEST(SlowConsumerTest, StalledStreamDoesNotHoldUpOthersOrGrowMemory) {
  StackOptions options;
  options.hosts = kHosts;
  options.jobsim_args = {"--executor", "synthetic",          "--synthetic-min-ms",
                         "200",        "--synthetic-max-ms", "5000"};
  options.jobgw_args = {"--watch.poll_floor_ms=100"};
  GatewayStack stack(options);

  std::vector<std::int64_t> hosts;
  for (int i = 0; i < kHosts; ++i) hosts.push_back(101 + i);
  // Straight to jobsim, so the first read of jobgw happens once the subscribers are there.
  const DirectJob job = jobsim_submit_script(stack, "true", hosts);
  const long rss_before = rss_kib(stack.jobgw().pid());
  const double overflows_before =
      metric_sum(jobgw_metrics(stack), "jobgw_subscriber_overflows_total");

  // The stalled stream: started, then never read until the others are done. Its own channel
  // without BDP probing keeps gRPC's receive window at its initial 64 KiB, so the stall reaches
  // jobgw after one snapshot rather than after megabytes buffered in this process.
  grpc::ChannelArguments stalled_args;
  stalled_args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  auto stalled_stub = v1::JobGateway::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(stack.grpc_port()),
                                grpc::InsecureChannelCredentials(), stalled_args));
  grpc::ClientContext stalled_context;
  stalled_context.set_deadline(std::chrono::system_clock::now() + 120s);
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job.job_instance_id);
  auto stalled = stalled_stub->WatchStatus(&stalled_context, request);

  std::vector<std::unique_ptr<StreamWatcher>> readers;
  for (int i = 0; i < kReaders; ++i) {
    readers.push_back(std::make_unique<StreamWatcher>(stack.stub(), job.job_instance_id, 120s));
  }
  ASSERT_TRUE(wait_until(
      [&] {
        for (const auto& r : readers) {
          if (!r->ended()) return false;
        }
        return true;
      },
      100s, 50ms));
  const long rss_with_stalled = rss_kib(stack.jobgw().pid());
  std::size_t min_events = SIZE_MAX;
  for (const auto& r : readers) {
    EXPECT_TRUE(r->status().ok()) << r->status().error_message();
    auto events = r->events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
    EXPECT_EQ(events.back().kind(), v1::EVENT_KIND_FINISHED);
    EXPECT_EQ(events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
    min_events = std::min(min_events, events.size());
  }
  // The stalled subscriber's queue overflowed: it really was stalled while the others finished.
  const double overflows =
      metric_sum(jobgw_metrics(stack), "jobgw_subscriber_overflows_total") - overflows_before;
  EXPECT_GE(overflows, 1);
  // ... and is still open.
  EXPECT_EQ(
      metric_sample(jobgw_metrics(stack), "jobgw_admission_in_use{limit=\"limits.max_streams\"}")
          .value_or(-1),
      1);

  std::vector<v1::StatusEvent> stalled_events;
  v1::StatusEvent event;
  while (stalled->Read(&event)) stalled_events.push_back(event);
  grpc::Status stalled_status = stalled->Finish();
  EXPECT_TRUE(stalled_status.ok()) << stalled_status.error_message();
  ASSERT_FALSE(stalled_events.empty());
  EXPECT_EQ(stalled_events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(stalled_events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_LT(stalled_events.size(), min_events) << "the stalled stream's events never collapsed";

  std::printf(
      "SLOW| %d hosts, %d readers: fewest events per reader %zu, stalled stream %zu events, "
      "%g overflows; jobgw RSS %ld KiB before, %ld KiB with the stalled stream (+%ld KiB)\n",
      kHosts, kReaders, min_events, stalled_events.size(), overflows, rss_before, rss_with_stalled,
      rss_with_stalled - rss_before);
  if (kRssBoundsApply) {
    EXPECT_LT(rss_with_stalled - rss_before, kRssGrowthLimitKib);
  }
  EXPECT_TRUE(stack.jobgw().running());
  if (HasFailure()) ADD_FAILURE() << stack.logs();
}

}  // namespace
}  // namespace jobgw::testing
