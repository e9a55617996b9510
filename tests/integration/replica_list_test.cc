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

}  // namespace
}  // namespace jobgw::testing
