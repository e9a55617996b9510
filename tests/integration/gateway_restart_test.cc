// jobgw killed or stopped and started again on the same port and state file: nothing the first
// run was watching is lost.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using std::chrono::seconds;

v1::JobRef submit(GatewayStack& stack, const v1::ExecuteScriptRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + seconds(30));
  v1::JobRef ref;
  grpc::Status status = stack.stub().ExecuteScript(&context, request, &ref);
  EXPECT_TRUE(status.ok()) << status.error_message() << stack.logs();
  return ref;
}

double metric(GatewayStack& stack, const std::string& series) {
  return metric_value(scrape_metrics(stack.metrics_port()), series);
}

const char* const kFinishedOk = "jobgw_jobs_finished_total{status=\"success\"}";

class GatewayRestart : public ::testing::TestWithParam<int> {};

TEST_P(GatewayRestart, AJobSubmittedBeforeTheRestartIsPolledToFinishedWithNoSubscriber) {
  const int signal = GetParam();
  GatewayStack stack(three_hosts());
  v1::JobRef ref = submit(stack, script_request("sleep 3; echo done", {101, 102}));
  ASSERT_GT(ref.job_instance_id(), 0);
  ASSERT_TRUE(
      wait_until([&] { return stack.status_reads(ref.job_instance_id()) >= 1; }, seconds(20)));

  const int wait_status = stack.stop_jobgw(signal);
  if (signal == SIGTERM) {
    EXPECT_TRUE(WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) << wait_status;
  } else {
    EXPECT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) << wait_status;
  }
  const std::int64_t reads_before = stack.status_reads(ref.job_instance_id());
  stack.start_jobgw_again();

  EXPECT_EQ(metric(stack, "jobgw_resumed_jobs_total"), 1);
  // Nobody watches: only the resumed poller can read the job to its end.
  ASSERT_TRUE(wait_until([&] { return metric(stack, kFinishedOk) == 1; }, seconds(60),
                         std::chrono::milliseconds(100)))
      << stack.logs();
  EXPECT_GT(stack.status_reads(ref.job_instance_id()), reads_before);
  grpc::ClientContext context;
  v1::GetJobStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(ref.job_instance_id());
  v1::JobSnapshot snapshot;
  ASSERT_TRUE(stack.stub().GetJobStatus(&context, request, &snapshot).ok());
  EXPECT_TRUE(snapshot.finished());
  EXPECT_EQ(metric(stack, kFinishedOk), 1);

  // Finished means forgotten: the next run has nothing to resume and counts nothing twice.
  stack.restart_jobgw(SIGTERM);
  EXPECT_EQ(metric(stack, "jobgw_resumed_jobs_total"), 0);
  EXPECT_EQ(metric(stack, kFinishedOk), 0) << "no job finished in this run";
}

INSTANTIATE_TEST_SUITE_P(Signals, GatewayRestart, ::testing::Values(SIGKILL, SIGTERM),
                         [](const ::testing::TestParamInfo<int>& info) {
                           return std::string(info.param == SIGKILL ? "Sigkill" : "Sigterm");
                         });

TEST(GatewayRestartWatch, AfterSeqFromBeforeASigkillGetsASnapshotThenFinished) {
  GatewayStack stack(three_hosts());
  v1::JobRef ref = submit(stack, script_request("sleep 3; echo done", {101, 102}));
  std::uint64_t last_seq = 0;
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + seconds(30));
    v1::WatchStatusRequest request;
    request.mutable_scope()->set_id("1");
    request.set_job_instance_id(ref.job_instance_id());
    auto reader = stack.stub().WatchStatus(&context, request);
    v1::StatusEvent event;
    ASSERT_TRUE(reader->Read(&event)) << stack.logs();
    EXPECT_EQ(event.kind(), v1::EVENT_KIND_SNAPSHOT);
    EXPECT_FALSE(event.snapshot().finished());
    last_seq = event.seq();
    context.TryCancel();
    reader->Finish();
  }
  ASSERT_GT(last_seq, 0u);

  stack.restart_jobgw(SIGKILL);
  WatchResult w = watch_to_end(stack.stub(), ref.job_instance_id(), last_seq, seconds(60));
  ASSERT_TRUE(w.status.ok()) << w.status.error_message() << stack.logs();
  ASSERT_GE(w.events.size(), 2u);
  EXPECT_EQ(w.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_FALSE(w.events.front().resumed());
  EXPECT_GT(w.events.front().seq(), last_seq) << "seqs keep growing across restarts";
  EXPECT_EQ(w.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_TRUE(w.events.back().snapshot().finished());
  for (std::size_t i = 1; i < w.events.size(); ++i) {
    EXPECT_GT(w.events[i].seq(), w.events[i - 1].seq());
  }
}

}  // namespace
}  // namespace jobgw::testing
