// Job plans on replicas: a plan submitted on one replica, watched on another and confirmed or
// retried through a third acts as on one jobgw; a job retried after its end (through OperateStep
// or in JOB itself, told by its callback) is followed to its second end on every replica.
#include <gtest/gtest.h>

#include <future>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/plan_calls.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

bool status_is(v1::JobGateway::Stub& stub, std::int64_t job, v1::JobStatus status) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + 5s);
  v1::GetJobStatusRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(job);
  v1::JobSnapshot snapshot;
  return stub.GetJobStatus(&context, r, &snapshot).ok() && snapshot.status() == status;
}

TEST(ReplicaPlans, APlanSubmittedOnOneReplicaIsConfirmedOnAnotherAndWatchedOnAThird) {
  GatewayStack stack(replicas(3));
  auto request = plan_request(kThreeSteps);
  add_var(request, "who", "replicas");
  PlanRun run = execute_plan(stack.node(0).stub(), request);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message() << stack.logs();
  const std::int64_t job = run.ref.job_instance_id();

  Watch watch(stack.node(1).stub(), job);
  // The owner's first read may already find the step waiting: then the SNAPSHOT shows it.
  std::int64_t confirm_step = 0;
  auto waiting = watch.until([&confirm_step](const v1::StatusEvent& e) {
    if (waits_for_user(e)) confirm_step = e.step().step_instance_id();
    for (const auto& step : e.snapshot().steps()) {
      if (e.kind() == v1::EVENT_KIND_SNAPSHOT && step.status() == v1::JOB_STATUS_WAITING_USER) {
        confirm_step = step.step_instance_id();
      }
    }
    return confirm_step != 0;
  });
  ASSERT_TRUE(waiting) << "the confirmation step never waited" << stack.logs();
  grpc::Status confirmed =
      operate(stack.node(2).stub(), job, confirm_step, v1::STEP_OPERATION_CONFIRM);
  ASSERT_TRUE(confirmed.ok()) << confirmed.error_message();
  auto finished = watch.finished();
  ASSERT_TRUE(finished) << stack.logs();
  EXPECT_EQ(finished->snapshot().status(), v1::JOB_STATUS_SUCCESS);
  ASSERT_EQ(finished->snapshot().steps_size(), 3);

  v1::JobOutputs out = outputs(stack.node(2).stub(), job);
  EXPECT_EQ(output(out.variables(), "greeting"), "hello, replicas");
  EXPECT_EQ(output(out.log_variables(), "greeting"), "hello, replicas");
}

TEST(ReplicaPlans, AStepRetriedThroughAnotherReplicaFinishesAgainOnEveryReplica) {
  GatewayStack stack(replicas(3));
  PlanRun run = execute_plan(stack.node(0).stub(), plan_request(kMayFail));
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::int64_t job = run.ref.job_instance_id();
  WatchResult first = watch_to_end(stack.node(1).stub(), job);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_FALSE(first.events.empty());
  const v1::StatusEvent failed = first.events.back();
  ASSERT_EQ(failed.kind(), v1::EVENT_KIND_FINISHED);
  ASSERT_EQ(failed.snapshot().status(), v1::JOB_STATUS_FAILED);

  ASSERT_TRUE(operate(stack.node(2).stub(), job, failed.snapshot().steps(0).step_instance_id(),
                      v1::STEP_OPERATION_RETRY_FAILED)
                  .ok());
  // Every replica's streams resuming from the first end get the retry and the second end,
  // under the same seqs: the one that kept the finished watch (1), the one that retried (2) and
  // one that never watched the job (0).
  std::vector<std::future<WatchResult>> resumed;
  for (int i : {1, 2, 0}) {
    JobgwNode& node = stack.node(i);  // in `order` below
    resumed.push_back(std::async(std::launch::async, [&node, job, &failed] {
      return watch_to_end(node.stub(), job, failed.seq());
    }));
  }
  std::vector<std::uint64_t> ends;
  const int order[] = {1, 2, 0};
  for (std::size_t k = 0; k < resumed.size(); ++k) {
    SCOPED_TRACE("replica " + std::to_string(order[k]));
    WatchResult r = resumed[k].get();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message() << stack.logs();
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.front().seq(), failed.seq() + 1) << stack.logs();
    EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
    EXPECT_EQ(r.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS) << stack.logs();
    ends.push_back(r.events.back().seq());
  }
  EXPECT_GT(ends[0], failed.seq());
  EXPECT_EQ(ends[0], ends[1]);
  EXPECT_EQ(ends[0], ends[2]);
}

// Replica 0 submits and polls the job; JOB calls back on replica 1 (both share the callback
// key, as replicas behind one Service do). The step is retried in JOB itself: only the callback
// at its new end tells jobgw, and replica 1's streams follow the job to that end.
TEST(ReplicaPlans, ARetryMadeInJobItselfIsFollowedOnEveryReplicaThroughItsCallback) {
  TempDir dir("jobgw-plan-cb");
  StackOptions options = two_replicas_called_back_on_the_second(dir);
  GatewayStack stack(options);
  PlanRun run = execute_plan(stack.node(0).stub(), plan_request(kMayFail));
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::int64_t job = run.ref.job_instance_id();
  WatchResult first = watch_to_end(stack.node(1).stub(), job);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  const v1::StatusEvent failed = first.events.back();
  ASSERT_EQ(failed.snapshot().status(), v1::JOB_STATUS_FAILED);
  constexpr int kRetryFailed = 2;
  ASSERT_TRUE(jobsim_operate_step(
      stack, DirectJob{job, failed.snapshot().steps(0).step_instance_id()}, kRetryFailed));
  ASSERT_TRUE(
      wait_until([&] { return status_is(stack.node(1).stub(), job, v1::JOB_STATUS_SUCCESS); }, 20s))
      << stack.logs();
  WatchResult second = watch_to_end(stack.node(1).stub(), job, failed.seq(), 30s);
  ASSERT_TRUE(second.status.ok()) << second.status.error_message() << stack.logs();
  ASSERT_FALSE(second.events.empty());
  EXPECT_EQ(second.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(second.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS) << stack.logs();
  EXPECT_GT(second.events.back().seq(), failed.seq());
}

}  // namespace
}  // namespace jobgw::testing
