// A WatchStatus stream whose caller's deadline passes: jobgw arms no gRPC deadline timer of its
// own (they cost idle CPU per stream), so the caller's gRPC ends the call and jobgw must still free
// the stream's subscriber, while the job's other streams go on to the end.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/prometheus_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

TEST(StreamDeadline, AStreamPastItsCallersDeadlineEndsAndFreesItsSubscriber) {
  GatewayStack stack(three_hosts());
  Submitted job = execute(stack.stub(), script_request("sleep 4", {101}));
  ASSERT_TRUE(job.status.ok()) << job.status.error_message() << stack.logs();
  const std::int64_t id = job.ref.job_instance_id();
  auto subscribers = [&] {
    return metric_value(scrape_metrics(stack.metrics_port()), "jobgw_subscribers");
  };

  // The job's long stream, open throughout: it must still see the job to its end.
  auto long_stream =
      std::async(std::launch::async, [&] { return watch_to_end(stack.stub(), id, 0, 60s); });
  ASSERT_TRUE(wait_until([&] { return subscribers() >= 1; }, 10s)) << stack.logs();

  WatchResult short_stream = watch_to_end(stack.stub(), id, 0, 1500ms);
  EXPECT_EQ(short_stream.status.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED)
      << short_stream.status.error_message();
  ASSERT_FALSE(short_stream.events.empty());
  EXPECT_EQ(short_stream.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_TRUE(wait_until([&] { return subscribers() <= 1; }, 10s))
      << "the stream past its deadline kept its subscriber: " << subscribers();

  WatchResult rest = long_stream.get();
  EXPECT_TRUE(rest.status.ok()) << rest.status.error_code() << " " << rest.status.error_message();
  ASSERT_FALSE(rest.events.empty());
  EXPECT_EQ(rest.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_TRUE(wait_until([&] { return subscribers() == 0; }, 10s)) << subscribers();
}

}  // namespace
}  // namespace jobgw::testing
