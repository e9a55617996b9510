// jobctl's job-plan commands against real jobsim + jobgw processes, on jobsim's built-in plans
// (jobsim/plan.cc, PlanCatalog::demo): plan 1 "three steps" (set greeting, confirm, print
// greeting; variables who, greeting, targets, token) and plan 2 "may fail".
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "tests/client/jobctl_runner.h"
#include "tests/integration/gateway_stack.h"

namespace jobgw::client {
namespace {

using jobgw::testing::GatewayStack;
using testing::has_text;
using testing::JobctlProcessRun;
using testing::run_jobctl;

// The job and step ids of the confirmation prompt line in `out` (its commands carry the test's
// --addr); {0, 0} when there is none.
std::pair<std::int64_t, std::int64_t> prompt_ids(const std::string& out) {
  static const std::regex kPrompt(
      R"(step (\d+) \(confirm\) waits for confirmation: jobctl confirm --addr \S+ (\d+) (\d+)  /  )"
      R"(jobctl operate --addr \S+ (\d+) (\d+) terminate-confirmation)");
  std::smatch m;
  if (!std::regex_search(out, m, kPrompt)) return {0, 0};
  EXPECT_EQ(m[1], m[3]);
  EXPECT_EQ(m[2], m[4]);
  EXPECT_EQ(m[3], m[5]);
  return {std::stoll(m[2]), std::stoll(m[1])};
}

class JobctlPlans : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { stack_ = std::make_unique<GatewayStack>(); }
  static void TearDownTestSuite() { stack_.reset(); }
  static std::string addr() { return "127.0.0.1:" + std::to_string(stack_->grpc_port()); }
  static std::unique_ptr<GatewayStack> stack_;
};
std::unique_ptr<GatewayStack> JobctlPlans::stack_;

TEST_F(JobctlPlans, PlansListsTheBuiltInPlans) {
  auto r = run_jobctl({"plans"}, addr());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(has_text(r.out, "PLAN ID")) << r.out;
  EXPECT_TRUE(has_text(r.out, "three steps")) << r.out;
  EXPECT_TRUE(has_text(r.out, "may fail")) << r.out;

  auto filtered = run_jobctl({"plans", "--name", "fail"}, addr());
  ASSERT_EQ(filtered.code, 0) << filtered.err;
  EXPECT_TRUE(has_text(filtered.out, "may fail")) << filtered.out;
  EXPECT_FALSE(has_text(filtered.out, "three steps")) << filtered.out;

  auto json = run_jobctl({"plans", "--json"}, addr());
  ASSERT_EQ(json.code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  ASSERT_EQ(parsed["plans"].size(), 2u) << json.out;
  EXPECT_EQ(parsed["plans"][0]["name"], "three steps");
}

TEST_F(JobctlPlans, PlanShowsStepsAndVariables) {
  auto r = run_jobctl({"plan", "2"}, addr());
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  1 +script +may fail\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  2 +script +after\n)"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  1 +fail_first +string +no +true\n)")))
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\n  2 +targets +host_list +yes +\d+,\d+\n)")))
      << r.out;

  auto missing = run_jobctl({"plan", "99"}, addr());
  EXPECT_EQ(missing.code, 3);
  EXPECT_TRUE(has_text(missing.err, "jobctl: GetJobPlan: NOT_FOUND")) << missing.err;
}

// The step id of the step named `name` in a watch's plain output ("step 123 (NAME) ...").
std::int64_t step_id_named(const std::string& out, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex("step (\\d+) \\(" + name + "\\) "))) return 0;
  return std::stoll(m[1]);
}

TEST_F(JobctlPlans, FailedStepRetriedWithOperateThenOutputs) {
  // fail_first (variable 1) makes step 1 fail on each host the first time it runs.
  auto first = run_jobctl({"run-plan", "2", "--var-id", "1=true", "--watch"}, addr());
  EXPECT_EQ(first.code, 1) << first.out << first.err;
  EXPECT_TRUE(has_text(first.err, "request id: jobctl-")) << first.err;
  const std::int64_t job = std::strtoll(first.out.c_str() + 4, nullptr, 10);
  ASSERT_GT(job, 0) << first.out;
  const std::int64_t step = step_id_named(first.out, "may fail");
  ASSERT_GT(step, 0) << first.out;
  EXPECT_TRUE(has_text(first.out, "step " + std::to_string(step) + " (may fail) running -> failed"))
      << first.out;

  // Skip is for a step being terminated: jobgw refuses it on a failed step, naming the state.
  auto wrong = run_jobctl({"operate", std::to_string(job), std::to_string(step), "skip"}, addr());
  EXPECT_EQ(wrong.code, 3);
  EXPECT_TRUE(has_text(wrong.err, "jobctl: OperateStep: FAILED_PRECONDITION")) << wrong.err;
  EXPECT_TRUE(has_text(wrong.err, "failed")) << wrong.err;
  EXPECT_EQ(wrong.out, "");

  auto retry =
      run_jobctl({"operate", std::to_string(job), std::to_string(step), "retry-failed"}, addr());
  ASSERT_EQ(retry.code, 0) << retry.err;
  EXPECT_EQ(retry.out, "job " + std::to_string(job) + " step " + std::to_string(step) +
                           ": retry-failed accepted\n");
  auto watched = run_jobctl({"watch", std::to_string(job)}, addr());
  EXPECT_EQ(watched.code, 0) << watched.out << watched.err;
  EXPECT_TRUE(has_text(watched.out, "status=success")) << watched.out;

  auto outputs = run_jobctl({"outputs", std::to_string(job)}, addr());
  ASSERT_EQ(outputs.code, 0) << outputs.err;
  EXPECT_TRUE(has_text(outputs.out, "status: success\n")) << outputs.out;
  EXPECT_TRUE(
      std::regex_search(outputs.out, std::regex(R"(variables:\n(  .*\n)*  result=done on \d+\n)")))
      << outputs.out;
  EXPECT_TRUE(
      std::regex_search(outputs.out, std::regex(R"(log variables:\n  result=done on \d+\n)")))
      << outputs.out;
  EXPECT_TRUE(std::regex_search(outputs.out, std::regex(R"(\n  success: \d+ )"))) << outputs.out;

  auto json =
      run_jobctl({"outputs", std::to_string(job), "--json", "--per-step", "--all-hosts"}, addr());
  ASSERT_EQ(json.code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["status"], "JOB_STATUS_SUCCESS");
  EXPECT_EQ(parsed["log_variables"][0]["name"], "result") << json.out;
  EXPECT_EQ(parsed["steps"].size(), 2u) << json.out;
}

TEST_F(JobctlPlans, RunPlanWatchesUntilConfirmationThenConfirmAndOutputs) {
  JobctlProcessRun watch({"run-plan", "1", "--var", "who=alice", "--watch"}, addr());
  ASSERT_TRUE(watch.wait_for_output("waits for confirmation", std::chrono::seconds(60)))
      << watch.out();
  auto [job, step] = prompt_ids(watch.out());
  const std::string waiting = watch.out();
  EXPECT_EQ(waiting.find("waits for confirmation"), waiting.rfind("waits for confirmation"))
      << waiting;
  ASSERT_NE(job, 0) << watch.out();
  EXPECT_TRUE(has_text(watch.out(), "step " + std::to_string(step) + " (confirm) confirmation"))
      << watch.out();

  auto confirm = run_jobctl({"confirm", std::to_string(job), std::to_string(step)}, addr());
  EXPECT_EQ(confirm.code, 0) << confirm.err;
  EXPECT_EQ(confirm.out, "job " + std::to_string(job) + " step " + std::to_string(step) +
                             ": confirm accepted\n");

  auto done = watch.finish();
  EXPECT_EQ(done.code, 0) << done.out << done.err;
  EXPECT_TRUE(has_text(done.err, "request id: jobctl-")) << done.err;
  EXPECT_TRUE(has_text(done.out, "finished job=" + std::to_string(job) + " status=success"))
      << done.out;
  EXPECT_TRUE(has_text(done.out, "(print greeting) pending -> running") ||
              has_text(done.out, "(print greeting) running -> success"))
      << done.out;

  auto outputs = run_jobctl({"outputs", std::to_string(job)}, addr());
  ASSERT_EQ(outputs.code, 0) << outputs.err;
  EXPECT_TRUE(has_text(outputs.out, "status: success\n")) << outputs.out;
  EXPECT_TRUE(has_text(outputs.out, "variables:\n  who=alice\n  greeting=hello, alice\n"))
      << outputs.out;
  EXPECT_TRUE(has_text(outputs.out, "log variables:\n  greeting=hello, alice\n")) << outputs.out;
  EXPECT_TRUE(std::regex_search(outputs.out, std::regex(R"(\n  success: \d+ )"))) << outputs.out;

  auto json = run_jobctl({"outputs", std::to_string(job), "--json", "--per-step"}, addr());
  ASSERT_EQ(json.code, 0) << json.err;
  auto parsed = nlohmann::json::parse(json.out);
  EXPECT_EQ(parsed["status"], "JOB_STATUS_SUCCESS");
  EXPECT_EQ(parsed["log_variables"][0]["value"], "hello, alice") << json.out;
  EXPECT_EQ(parsed["steps"].size(), 3u) << json.out;

  // The step is no longer waiting: JOB's refusal names the state, exit 3 as any RPC error.
  auto again =
      run_jobctl({"operate", std::to_string(job), std::to_string(step), "confirm"}, addr());
  EXPECT_EQ(again.code, 3);
  EXPECT_TRUE(has_text(again.err, "jobctl: OperateStep: FAILED_PRECONDITION")) << again.err;
  EXPECT_TRUE(has_text(again.err, "success")) << again.err;
  EXPECT_EQ(again.out, "");
}

TEST_F(JobctlPlans, RunPlanByVariableIdAndTerminateTheConfirmation) {
  auto started =
      run_jobctl({"run-plan", "1", "--var-id", "1=bob", "--request-id", "plans-by-id"}, addr());
  ASSERT_EQ(started.code, 0) << started.err;
  std::int64_t job = 0;
  ASSERT_EQ(std::sscanf(started.out.c_str(), "job %lld", reinterpret_cast<long long*>(&job)), 1)
      << started.out;
  // The same request id is the same job.
  auto rerun =
      run_jobctl({"run-plan", "1", "--var-id", "1=bob", "--request-id", "plans-by-id"}, addr());
  EXPECT_EQ(rerun.out, started.out);

  JobctlProcessRun watch({"watch", std::to_string(job)}, addr());
  ASSERT_TRUE(watch.wait_for_output("waits for confirmation", std::chrono::seconds(60)))
      << watch.out();
  auto ids = prompt_ids(watch.out());
  EXPECT_EQ(ids.first, job);
  auto outputs = run_jobctl({"outputs", std::to_string(job)}, addr());
  EXPECT_TRUE(has_text(outputs.out, "still running")) << outputs.out;
  EXPECT_TRUE(has_text(outputs.out, "greeting=hello, bob\n")) << outputs.out;

  auto refuse = run_jobctl(
      {"operate", std::to_string(job), std::to_string(ids.second), "terminate-confirmation"},
      addr());
  EXPECT_EQ(refuse.code, 0) << refuse.err;
  auto done = watch.finish();
  EXPECT_EQ(done.code, 1) << done.out << done.err;
  EXPECT_TRUE(has_text(done.out, "status=termination_confirmed")) << done.out;
}

TEST_F(JobctlPlans, UnknownVariableIsRefusedNamingIt) {
  auto r = run_jobctl({"run-plan", "2", "--var", "nosuch=1", "--no-request-id"}, addr());
  EXPECT_EQ(r.code, 3);
  EXPECT_TRUE(has_text(r.err, "INVALID_ARGUMENT")) << r.err;
  EXPECT_TRUE(has_text(r.err, "nosuch")) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(JobctlPlanCli, OperateNamesTheAcceptedOperations) {
  auto r = run_jobctl({"operate", "1", "2", "approve"}, "");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err,
            "jobctl: unknown OPERATION 'approve' (retry-failed, ignore-error, confirm, retry-all, "
            "terminate-confirmation, reinitiate-confirmation, next-step, skip)\n");
  for (std::string cmd : {"plans", "plan", "run-plan", "operate", "confirm", "outputs"}) {
    auto help = run_jobctl({"help", cmd}, "");
    EXPECT_EQ(help.code, 0) << cmd;
    EXPECT_TRUE(has_text(help.out, "Usage: jobctl " + cmd + " ")) << help.out;
    EXPECT_EQ(run_jobctl({cmd, "--help"}, "").out, help.out) << cmd;
  }
}

}  // namespace
}  // namespace jobgw::client
