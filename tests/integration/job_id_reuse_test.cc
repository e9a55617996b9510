// JOB hands a job id out again after it restarts from a backup or is replaced behind the same
// URL (jobsim: ids start again at 10001). jobgw must answer for the job JOB runs now, never for
// the one it remembers under that id.
#include <gtest/gtest.h>

#include <set>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

std::set<std::int64_t> hosts_of(const v1::JobSnapshot& s) {
  std::set<std::int64_t> out;
  for (const auto& step : s.steps()) {
    for (const auto& h : step.hosts()) out.insert(h.host().host_id());
  }
  return out;
}

v1::JobRef submit(GatewayStack& stack, const v1::ExecuteScriptRequest& request) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::JobRef ref;
  grpc::Status status = stack.stub().ExecuteScript(&context, request, &ref);
  EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
  return ref;
}

TEST(JobIdReuse, ANewJobUnderAnIdJobGaveBeforeIsServedAsItself) {
  GatewayStack stack;
  const v1::JobRef first = submit(stack, script_request("echo first", {101, 102, 103}));
  WatchResult done = watch_to_end(stack.stub(), first.job_instance_id());
  ASSERT_TRUE(done.status.ok()) << done.status.error_message() << stack.logs();
  ASSERT_EQ(hosts_of(done.events.back().snapshot()), (std::set<std::int64_t>{101, 102, 103}));

  stack.restart_jobsim();
  // Long enough that the new job is still running while jobgw answers for it.
  const v1::JobRef second =
      submit(stack, script_request("sleep 2; echo second", {101, 102, 103, 104, 105}));
  ASSERT_EQ(second.job_instance_id(), first.job_instance_id())
      << "jobsim restarted should reuse the id";

  grpc::ClientContext status_context;
  v1::GetJobStatusRequest status_request;
  status_request.mutable_scope()->set_id("1");
  status_request.set_job_instance_id(second.job_instance_id());
  v1::JobSnapshot now;
  grpc::Status status = stack.stub().GetJobStatus(&status_context, status_request, &now);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(hosts_of(now), (std::set<std::int64_t>{101, 102, 103, 104, 105})) << now.DebugString();
  EXPECT_FALSE(now.finished()) << now.DebugString();

  WatchResult watched = watch_to_end(stack.stub(), second.job_instance_id());
  ASSERT_TRUE(watched.status.ok()) << watched.status.error_message() << stack.logs();
  ASSERT_FALSE(watched.events.empty());
  EXPECT_EQ(watched.events.front().kind(), v1::EVENT_KIND_SNAPSHOT);
  EXPECT_EQ(hosts_of(watched.events.front().snapshot()),
            (std::set<std::int64_t>{101, 102, 103, 104, 105}));
  EXPECT_GT(watched.events.front().seq(), done.events.back().seq())
      << "the new job's events are numbered above the old job's";
  const v1::JobSnapshot& last = watched.events.back().snapshot();
  EXPECT_EQ(watched.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(last.status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_EQ(hosts_of(last).size(), 5u);

  grpc::ClientContext logs_context;
  v1::GetIpLogsRequest logs_request;
  logs_request.mutable_scope()->set_id("1");
  logs_request.set_job_instance_id(second.job_instance_id());
  v1::GetIpLogsResponse logs;
  status = stack.stub().GetIpLogs(&logs_context, logs_request, &logs);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(logs.script_logs_size(), 5);
  for (const auto& log : logs.script_logs()) {
    EXPECT_NE(log.content().find("second"), std::string::npos) << log.content();
  }
}

TEST(JobIdReuse, AStreamOfAJobJobNoLongerHasEndsNotFound) {
  // Reads every 2 s, so the restart and the new job land between two reads: the read after them
  // is the one that finds another job under the id.
  GatewayStack stack(three_hosts({}, {"--watch.poll_floor_ms=2000", "--watch.poll_ceiling_ms=2000",
                                      "--watch.poll_young_ms=0"}));
  const v1::JobRef first = submit(stack, script_request("sleep 60", {101}));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::WatchStatusRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(first.job_instance_id());
  auto reader = stack.stub().WatchStatus(&context, request);
  v1::StatusEvent event;
  ASSERT_TRUE(reader->Read(&event));
  ASSERT_EQ(event.kind(), v1::EVENT_KIND_SNAPSHOT);

  // JOB restarts and gives the id to a job submitted without jobgw.
  stack.restart_jobsim();
  const DirectJob other = jobsim_submit_script(stack, "sleep 5", {102, 103});
  ASSERT_EQ(other.job_instance_id, first.job_instance_id());

  while (reader->Read(&event)) {
    for (const auto& step : event.snapshot().steps()) {
      for (const auto& h : step.hosts()) {
        EXPECT_EQ(h.host().host_id(), 101) << "the old stream never shows the other job";
      }
    }
  }
  grpc::Status status = reader->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND) << status.error_message();
  EXPECT_NE(status.error_message().find("another job under that id"), std::string::npos)
      << status.error_message() << stack.logs();

  // Watched again, the id is the new job.
  WatchResult again = watch_to_end(stack.stub(), first.job_instance_id());
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(hosts_of(again.events.back().snapshot()), (std::set<std::int64_t>{102, 103}));
}

}  // namespace
}  // namespace jobgw::testing
