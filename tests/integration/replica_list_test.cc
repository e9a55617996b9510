// ListJobs across replicas: every replica lists every replica's jobs from Redis, with who
// submitted them and how many streams follow them on any replica.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

std::map<std::int64_t, v1::JobSummary> listed(v1::JobGateway::Stub& stub) {
  grpc::ClientContext context;
  v1::ListJobsRequest request;
  request.set_name_prefix("replica-list-");
  v1::ListJobsResponse response;
  auto status = stub.ListJobs(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  std::map<std::int64_t, v1::JobSummary> out;
  for (const auto& job : response.jobs()) out[job.job_instance_id()] = job;
  return out;
}

TEST(ReplicaList, EveryReplicaListsEveryReplicasJobsAndTheirFollowers) {
  GatewayStack stack(replicas(2));
  auto first = script_request("sleep 20", {101});
  first.set_task_name("replica-list-a");
  auto second = script_request("echo done", {102});
  second.set_task_name("replica-list-b");
  Submitted a = execute(stack.node(0).stub(), first);
  Submitted b = execute(stack.node(1).stub(), second);
  ASSERT_TRUE(a.status.ok() && b.status.ok());

  // A stream on replica 0 follows job a.
  StreamWatcher watcher(stack.node(0).stub(), a.ref.job_instance_id(), 30s);
  std::map<std::int64_t, v1::JobSummary> jobs;
  ASSERT_TRUE(wait_until(
      [&] {
        jobs = listed(stack.node(1).stub());
        return jobs.size() == 2 && jobs[a.ref.job_instance_id()].subscribers() >= 1 &&
               jobs[b.ref.job_instance_id()].finished();
      },
      20s))
      << "replica 1 lists " << jobs.size() << " jobs";
  EXPECT_EQ(jobs[a.ref.job_instance_id()].caller(), "anonymous");
  EXPECT_EQ(jobs[a.ref.job_instance_id()].name(), "replica-list-a");
  EXPECT_FALSE(jobs[a.ref.job_instance_id()].finished());
  EXPECT_EQ(jobs[b.ref.job_instance_id()].status(), v1::JOB_STATUS_SUCCESS);
  // Newest first on every replica alike.
  auto from_zero = listed(stack.node(0).stub());
  EXPECT_EQ(from_zero.size(), 2u);
}

// A replica that does not poll the job follows its logs from its own hub's status (fed from
// Redis) and reads the logs itself.
TEST(ReplicaList, LogsFollowOnAReplicaThatDoesNotPollTheJob) {
  GatewayStack stack(replicas(2));
  Submitted job =
      execute(stack.node(0).stub(), script_request("echo one; sleep 1; echo two", {101, 102}));
  ASSERT_TRUE(job.status.ok());
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 30s);
  v1::FollowLogsRequest request;
  request.mutable_scope()->set_id("1");
  request.set_job_instance_id(job.ref.job_instance_id());
  auto reader = stack.node(1).stub().FollowLogs(&context, request);
  std::map<std::int64_t, std::string> text;
  int ends = 0;
  v1::LogEvent event;
  while (reader->Read(&event)) {
    if (event.kind() == v1::LOG_EVENT_KIND_TEXT) text[event.host().host_id()] += event.text();
    if (event.kind() == v1::LOG_EVENT_KIND_HOST_END) ends++;
  }
  auto status = reader->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(ends, 2);
  EXPECT_EQ(text[101], "one\ntwo\n");
  EXPECT_EQ(text[102], "one\ntwo\n");
}

}  // namespace
}  // namespace jobgw::testing
