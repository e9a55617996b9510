// Job plans end to end on real processes: jobsim's built-in plans (jobsim/README.md "Job plans")
// run through jobgw with variables by name and by id, a confirmation confirmed and refused, a
// failed step retried to success, outputs read back, every validation error named, and an
// idempotent ExecuteJobPlan across a restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/plan_calls.h"
#include "tests/integration/stack_probes.h"
#include "tests/support/http_client.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

TEST(JobPlans, ARunWithVariablesByNameIsConfirmedAndItsOutputsReadBack) {
  GatewayStack stack(three_hosts());
  auto request = plan_request(kThreeSteps);
  add_var(request, "who", "jobgw ✓ & co");
  PlanRun run = execute_plan(stack.stub(), request);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message() << stack.logs();
  const std::int64_t job = run.ref.job_instance_id();
  EXPECT_GT(job, 0);
  EXPECT_EQ(run.ref.step_instance_id(), 0) << "a plan has no single step";

  Watch watch(stack.stub(), job);
  auto waiting = watch.until(waits_for_user);
  ASSERT_TRUE(waiting) << "the confirmation step never waited" << stack.logs();
  const std::int64_t confirm_step = waiting->step().step_instance_id();
  EXPECT_EQ(waiting->step().new_status(), v1::JOB_STATUS_WAITING_USER);
  ASSERT_GE(watch.events().size(), 2u);
  const v1::StatusEvent& before = watch.events()[watch.events().size() - 2];
  EXPECT_EQ(before.kind(), v1::EVENT_KIND_STEP_CHANGED) << "the step change comes first";
  EXPECT_EQ(before.step().step_instance_id(), confirm_step);
  EXPECT_GT(waiting->seq(), before.seq());

  // A step that is not a confirmation, or one in the wrong state, is refused naming why.
  grpc::Status wrong = operate(stack.stub(), job, confirm_step, v1::STEP_OPERATION_RETRY_FAILED);
  EXPECT_EQ(wrong.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(wrong.error_message().find("confirmation"), std::string::npos) << wrong.error_message();

  grpc::Status confirmed = operate(stack.stub(), job, confirm_step, v1::STEP_OPERATION_CONFIRM);
  ASSERT_TRUE(confirmed.ok()) << confirmed.error_message();
  auto finished = watch.finished();
  ASSERT_TRUE(finished) << stack.logs();
  const v1::JobSnapshot& end = finished->snapshot();
  EXPECT_EQ(end.status(), v1::JOB_STATUS_SUCCESS);
  ASSERT_EQ(end.steps_size(), 3);
  EXPECT_EQ(end.steps(1).type(), v1::STEP_TYPE_CONFIRMATION);
  EXPECT_EQ(end.steps(1).step_instance_id(), confirm_step);
  EXPECT_EQ(end.steps(0).hosts_size(), 2) << "the host-list variable's default hosts";

  v1::JobOutputs out = outputs(stack.stub(), job, /*per_step=*/true);
  EXPECT_TRUE(out.finished());
  EXPECT_EQ(output(out.variables(), "greeting"), "hello, jobgw ✓ & co");
  EXPECT_EQ(output(out.log_variables(), "greeting"), "hello, jobgw ✓ & co");
  EXPECT_EQ(out.last_step_instance_id(), end.steps(2).step_instance_id());
  EXPECT_EQ(out.last_step_hosts().success_hosts_size(), 2);
  EXPECT_EQ(out.steps_size(), 3);

  // Confirmed already: a second confirmation names the state.
  grpc::Status again = operate(stack.stub(), job, confirm_step, v1::STEP_OPERATION_CONFIRM);
  EXPECT_EQ(again.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_NE(again.error_message().find("is success"), std::string::npos) << again.error_message();
}

TEST(JobPlans, ARefusedConfirmationEndsTheJobWithoutACallback) {
  StackOptions options = three_hosts();
  options.callback = true;
  GatewayStack stack(options);
  auto request = plan_request(kThreeSteps);
  v1::PlanVariable* who = request.add_variables();
  who->set_id(1);  // "who", by id
  who->set_value("by id");
  PlanRun run = execute_plan(stack.stub(), request);
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::int64_t job = run.ref.job_instance_id();
  Watch watch(stack.stub(), job);
  auto waiting = watch.until(waits_for_user);
  ASSERT_TRUE(waiting) << stack.logs();
  ASSERT_TRUE(operate(stack.stub(), job, waiting->step().step_instance_id(),
                      v1::STEP_OPERATION_TERMINATE_CONFIRMATION)
                  .ok());
  auto finished = watch.finished();
  ASSERT_TRUE(finished) << "jobgw's reads see the end JOB does not call back about";
  EXPECT_EQ(finished->snapshot().status(), v1::JOB_STATUS_TERMINATION_CONFIRMED);
  EXPECT_TRUE(stack.jobsim_stats()["callbacks"].empty())
      << "JOB calls back on no refused confirmation: " << stack.jobsim_stats()["callbacks"];
  v1::JobOutputs out = outputs(stack.stub(), job);
  EXPECT_EQ(output(out.variables(), "greeting"), "hello, by id") << "set by step 1";
  EXPECT_EQ(output(out.log_variables(), "greeting"), "<none>") << "step 3 never ran";
}

TEST(JobPlans, AFailedStepRetriedFinishesAgainWithAHigherSeq) {
  GatewayStack stack(three_hosts());
  PlanRun run = execute_plan(stack.stub(), plan_request(kMayFail));
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::int64_t job = run.ref.job_instance_id();
  WatchResult first = watch_to_end(stack.stub(), job);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  ASSERT_FALSE(first.events.empty());
  const v1::StatusEvent failed = first.events.back();
  ASSERT_EQ(failed.kind(), v1::EVENT_KIND_FINISHED);
  ASSERT_EQ(failed.snapshot().status(), v1::JOB_STATUS_FAILED);
  const std::int64_t failed_step = failed.snapshot().steps(0).step_instance_id();
  v1::JobOutputs failed_out = outputs(stack.stub(), job);
  EXPECT_EQ(failed_out.last_step_hosts().non_zero_exit_hosts_size(), 2)
      << "both hosts exited 1 on the first try";

  ASSERT_TRUE(operate(stack.stub(), job, failed_step, v1::STEP_OPERATION_RETRY_FAILED).ok());
  WatchResult second = watch_to_end(stack.stub(), job, failed.seq());
  ASSERT_TRUE(second.status.ok()) << second.status.error_message() << stack.logs();
  ASSERT_FALSE(second.events.empty());
  EXPECT_TRUE(second.events.front().resumed()) << "the retry continues the job's events";
  const v1::StatusEvent& done = second.events.back();
  EXPECT_EQ(done.kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(done.snapshot().status(), v1::JOB_STATUS_SUCCESS);
  EXPECT_GT(done.seq(), failed.seq());
  bool back_to_running = false;
  for (const auto& e : second.events) {
    back_to_running |=
        e.kind() == v1::EVENT_KIND_JOB_CHANGED && e.job().new_status() == v1::JOB_STATUS_RUNNING;
  }
  EXPECT_TRUE(back_to_running);
  v1::JobOutputs out = outputs(stack.stub(), job);
  EXPECT_NE(output(out.log_variables(), "result").find("done on "), std::string::npos);
  EXPECT_EQ(out.last_step_hosts().success_hosts_size(), 2);
}

// Log outputs read back exactly as bk-sops reads them, from any job's script logs.
// A step retried in JOB itself (its UI, another client): JOB's callback at the new end tells
// jobgw, which follows the job to its second end.
TEST(JobPlans, ARetryMadeInJobItselfIsFollowedThroughItsCallback) {
  StackOptions options = three_hosts();
  options.callback = true;
  GatewayStack stack(options);
  PlanRun run = execute_plan(stack.stub(), plan_request(kMayFail));
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  const std::int64_t job = run.ref.job_instance_id();
  WatchResult first = watch_to_end(stack.stub(), job);
  ASSERT_TRUE(first.status.ok());
  const v1::StatusEvent failed = first.events.back();
  ASSERT_EQ(failed.snapshot().status(), v1::JOB_STATUS_FAILED);
  constexpr int kRetryFailed = 2;
  ASSERT_TRUE(jobsim_operate_step(
      stack, DirectJob{job, failed.snapshot().steps(0).step_instance_id()}, kRetryFailed));
  // Until JOB calls back at the new end jobgw cannot know (a stream resuming now would get the
  // old end again); then its status read says success.
  ASSERT_TRUE(wait_until(
      [&] {
        grpc::ClientContext context;
        v1::GetJobStatusRequest r;
        r.mutable_scope()->set_id("1");
        r.set_job_instance_id(job);
        v1::JobSnapshot snapshot;
        return stack.stub().GetJobStatus(&context, r, &snapshot).ok() &&
               snapshot.status() == v1::JOB_STATUS_SUCCESS;
      },
      std::chrono::seconds(20)))
      << stack.logs();
  WatchResult second = watch_to_end(stack.stub(), job, failed.seq(), std::chrono::seconds(30));
  ASSERT_TRUE(second.status.ok()) << second.status.error_message() << stack.logs();
  ASSERT_FALSE(second.events.empty());
  EXPECT_EQ(second.events.back().kind(), v1::EVENT_KIND_FINISHED);
  EXPECT_EQ(second.events.back().snapshot().status(), v1::JOB_STATUS_SUCCESS) << stack.logs();
  EXPECT_GT(second.events.back().seq(), failed.seq());
}

TEST(JobPlans, LogVariablesAreReadBackExactlyFromAScriptsLog) {
  GatewayStack stack(three_hosts());
  Submitted job = execute(stack.stub(), script_request(R"(
echo "<SOPS_VAR>plain:a:b c</SOPS_VAR>"
printf '<SOPS_VAR>multi:line one\nline two</SOPS_VAR>\n'
echo "&lt;SOPS_VAR&gt;escaped:x &amp; y&lt;/SOPS_VAR&gt;"
echo "<SOPS_VAR>utf8:héllo ✓</SOPS_VAR> <SOPS_VAR>plain:later wins</SOPS_VAR>"
echo "<SOPS_VAR>no colon</SOPS_VAR>"
)",
                                                       {101, 102}));
  ASSERT_TRUE(job.status.ok()) << job.status.error_message();
  ASSERT_TRUE(watch_to_end(stack.stub(), job.ref.job_instance_id()).status.ok());
  v1::JobOutputs out = outputs(stack.stub(), job.ref.job_instance_id());
  ASSERT_EQ(out.log_variables_size(), 4) << out.DebugString();
  EXPECT_EQ(out.log_variables(0).name(), "plain");
  EXPECT_EQ(out.log_variables(0).value(), "later wins");
  EXPECT_EQ(output(out.log_variables(), "multi"), "line one\nline two");
  EXPECT_EQ(output(out.log_variables(), "escaped"), "x &amp; y");
  EXPECT_EQ(output(out.log_variables(), "utf8"), "héllo ✓");
  EXPECT_EQ(out.variables_size(), 0) << "a script job has no plan variables";
  EXPECT_EQ(out.last_step_hosts().success_hosts_size(), 2);
}

TEST(JobPlans, EveryBadVariableIsNamedBeforeAnythingReachesJob) {
  GatewayStack stack(three_hosts());
  auto expect_refused = [&](const v1::ExecuteJobPlanRequest& r, grpc::StatusCode code,
                            const std::string& fragment) {
    PlanRun run = execute_plan(stack.stub(), r);
    EXPECT_EQ(run.status.error_code(), code) << run.status.error_message();
    EXPECT_NE(run.status.error_message().find(fragment), std::string::npos)
        << run.status.error_message();
  };
  auto unknown = plan_request(kThreeSteps);
  add_var(unknown, "who", "x");
  add_var(unknown, "nobody", "x");
  expect_refused(unknown, grpc::StatusCode::INVALID_ARGUMENT, "variables[1]");

  auto hosts_as_text = plan_request(kThreeSteps);
  add_var(hosts_as_text, "targets", "101");
  expect_refused(hosts_as_text, grpc::StatusCode::INVALID_ARGUMENT, "variables[0]");

  auto text_as_hosts = plan_request(kThreeSteps);
  v1::PlanVariable* v = text_as_hosts.add_variables();
  v->set_name("who");
  v->mutable_hosts()->add_host_ids(101);
  expect_refused(text_as_hosts, grpc::StatusCode::INVALID_ARGUMENT, "variables[0]");

  auto mismatched = plan_request(kThreeSteps);
  v1::PlanVariable* both = add_var(mismatched, "greeting", "x");
  both->set_id(1);  // id 1 is "who"
  expect_refused(mismatched, grpc::StatusCode::INVALID_ARGUMENT, "variables[0]");

  auto twice = plan_request(kThreeSteps);
  add_var(twice, "who", "a");
  add_var(twice, "who", "b");
  expect_refused(twice, grpc::StatusCode::INVALID_ARGUMENT, "variables[1]");

  auto bad_host = plan_request(kThreeSteps);
  v1::PlanVariable* hosts = bad_host.add_variables();
  hosts->set_name("targets");
  hosts->mutable_hosts()->add_hosts()->set_ip("300.1.1.1");
  expect_refused(bad_host, grpc::StatusCode::INVALID_ARGUMENT, "variables[0].hosts.hosts[0]");

  expect_refused(plan_request(999), grpc::StatusCode::NOT_FOUND, "");
  EXPECT_EQ(submits_reaching_job(stack, "execute_job_plan"), 0);
}

TEST(JobPlans, ExecuteJobPlanIsIdempotentAcrossARestart) {
  GatewayStack stack(three_hosts());
  auto request = plan_request(kMayFail);
  request.set_request_id("plan-run-1");
  add_var(request, "fail_first", "false");
  PlanRun first = execute_plan(stack.stub(), request);
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  stack.restart_jobgw(SIGTERM);
  PlanRun again = execute_plan(stack.stub(), request);
  ASSERT_TRUE(again.status.ok()) << again.status.error_message();
  EXPECT_EQ(again.ref.job_instance_id(), first.ref.job_instance_id());
  EXPECT_EQ(submits_reaching_job(stack, "execute_job_plan"), 1);

  add_var(request, "result", "other");  // same key, another request
  PlanRun conflict = execute_plan(stack.stub(), request);
  EXPECT_EQ(conflict.status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(submits_reaching_job(stack, "execute_job_plan"), 1);
}

TEST(JobPlans, TheHttpFaceListsShowsRunsAndReadsOutputs) {
  GatewayStack stack(three_hosts({}, {"--http.listen=127.0.0.1:0"}));
  const int port = stack.http_port();
  HttpResponse list = http_get(port, "/v1/scopes/biz/1/plans?name=three");
  ASSERT_EQ(list.status, 200) << list.body << list.error;
  auto plans = nlohmann::json::parse(list.body);
  ASSERT_EQ(plans["plans"].size(), 1u) << list.body;
  EXPECT_EQ(plans["plans"][0]["name"], "three steps");

  HttpResponse plan = http_get(port, "/v1/scopes/biz/1/plans/1");
  ASSERT_EQ(plan.status, 200) << plan.body;
  auto detail = nlohmann::json::parse(plan.body);
  ASSERT_EQ(detail["steps"].size(), 3u);
  EXPECT_EQ(detail["steps"][1]["type"], "STEP_TYPE_CONFIRMATION");
  for (const auto& var : detail["variables"]) {
    if (var["name"] == "token") {
      EXPECT_EQ(var["type"], "GLOBAL_VAR_TYPE_PASSWORD");
      EXPECT_FALSE(var.contains("defaultValue")) << "a password default is never shown";
      EXPECT_EQ(var["hasDefault"], true);
    }
  }
  EXPECT_EQ(plan.body.find("s3cret"), std::string::npos);

  HttpResponse bad = http_post_json(port, "/v1/scopes/biz/1/plans/1:execute",
                                    R"({"variables":[{"name":"nobody","value":"x"}]})");
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("variables[0]"), std::string::npos) << bad.body;

  HttpResponse ran = http_post_json(port, "/v1/scopes/biz/1/plans/2:execute",
                                    R"({"variables":[{"name":"fail_first","value":"false"}]})");
  ASSERT_EQ(ran.status, 200) << ran.body;
  const std::int64_t job =
      std::stoll(nlohmann::json::parse(ran.body)["jobInstanceId"].get<std::string>());
  WatchResult end = watch_to_end(stack.stub(), job);
  ASSERT_TRUE(end.status.ok());
  HttpResponse out = http_get(port, "/v1/scopes/biz/1/jobs/" + std::to_string(job) + "/outputs");
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.body.find("done on "), std::string::npos) << out.body;

  HttpResponse op = http_post_json(
      port,
      "/v1/scopes/biz/1/jobs/" + std::to_string(job) + "/steps/" +
          std::to_string(end.events.back().snapshot().steps(0).step_instance_id()) + ":operate",
      R"({"operation":"STEP_OPERATION_CONFIRM"})");
  EXPECT_EQ(op.status, 400) << op.body;
  EXPECT_NE(op.body.find("FAILED_PRECONDITION"), std::string::npos) << op.body;
}

}  // namespace
}  // namespace jobgw::testing
