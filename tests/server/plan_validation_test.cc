#include "server/plan_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/server/expect_invalid.h"

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

v1::ExecuteJobPlanRequest valid_plan_run() {
  v1::ExecuteJobPlanRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_plan_id(1);
  auto* by_name = r.add_variables();
  by_name->set_name("greeting");
  by_name->set_value("hello");
  auto* by_id = r.add_variables();
  by_id->set_id(3);
  by_id->mutable_hosts()->add_host_ids(101);
  return r;
}

TEST(PlanValidation, ExecuteTakesVariablesByNameOrIdWithValueOrHosts) {
  auto out = to_execute_plan(valid_plan_run());
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out.value().scope.type, "biz");
  EXPECT_EQ(out.value().job_plan_id, 1);
  ASSERT_EQ(out.value().variables.size(), 2u);
  EXPECT_EQ(out.value().variables[0].name, "greeting");
  EXPECT_EQ(out.value().variables[0].value, std::optional<std::string>("hello"));
  EXPECT_FALSE(out.value().variables[0].server);
  EXPECT_EQ(out.value().variables[1].id, 3);
  ASSERT_TRUE(out.value().variables[1].server);
  EXPECT_EQ(out.value().variables[1].server->host_ids, std::vector<std::int64_t>{101});
  EXPECT_FALSE(out.value().variables[1].value);
}

TEST(PlanValidation, ExecuteNamesTheBadField) {
  auto r = valid_plan_run();
  r.set_job_plan_id(0);
  expect_invalid(to_execute_plan(r), "job_plan_id", "positive");

  r = valid_plan_run();
  r.mutable_variables(0)->clear_name();
  expect_invalid(to_execute_plan(r), "variables[0]", "by id or name");

  r = valid_plan_run();
  r.mutable_variables(1)->clear_value_kind();
  expect_invalid(to_execute_plan(r), "variables[1]", "value");

  r = valid_plan_run();
  r.mutable_variables(1)->mutable_hosts()->add_host_ids(-4);
  expect_invalid(to_execute_plan(r), "variables[1].hosts.host_ids[1]");

  r = valid_plan_run();
  r.mutable_variables(0)->set_id(-1);
  expect_invalid(to_execute_plan(r), "variables[0].id");

  r = valid_plan_run();
  r.mutable_scope()->clear_id();
  expect_invalid(to_execute_plan(r), "scope.id");
}

TEST(PlanValidation, ExecuteCapsValuesAndHosts) {
  ValidationLimits limits;
  limits.max_param_bytes = 4;
  limits.max_targets = 2;
  auto r = valid_plan_run();
  expect_invalid(to_execute_plan(r, limits), "variables[0].value", "limit of 4 bytes");
  r.mutable_variables(0)->set_value("ok");
  r.mutable_variables(1)->mutable_hosts()->add_host_ids(102);
  r.mutable_variables(1)->mutable_hosts()->add_host_ids(103);
  expect_invalid(to_execute_plan(r, limits), "variables", "limits.max_targets");
  EXPECT_EQ(target_count(r), 3u);
}

TEST(PlanValidation, ListPagesAndRanges) {
  v1::ListJobPlansRequest r;
  r.mutable_scope()->set_id("1");
  auto out = to_list_plans(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value().length, kDefaultPlanPageSize);
  EXPECT_EQ(out.value().start, 0);

  r.set_page_size(kMaxPlanPageSize + 1);
  expect_invalid(to_list_plans(r), "page_size");
  r.set_page_size(5);
  r.set_offset(-1);
  expect_invalid(to_list_plans(r), "offset");
  r.set_offset(10);
  r.set_create_time_start_ms(2000);
  r.set_create_time_end_ms(1000);
  expect_invalid(to_list_plans(r), "create_time_start_ms", "after");
  r.set_create_time_end_ms(3000);
  r.set_name("deploy");
  out = to_list_plans(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value().length, 5);
  EXPECT_EQ(out.value().start, 10);
  EXPECT_EQ(out.value().name, "deploy");
  EXPECT_EQ(out.value().create_time_end, 3000);
}

TEST(PlanValidation, OperateNeedsAKnownOperationOnAStep) {
  v1::OperateStepRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(10001);
  r.set_step_instance_id(20002);
  r.set_operation(v1::STEP_OPERATION_CONFIRM);
  auto out = to_operate_step(r);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out.value().operation_code, core::step_operation::kConfirm);

  r.set_operation(v1::STEP_OPERATION_UNSPECIFIED);
  expect_invalid(to_operate_step(r), "operation", "CONFIRM");
  r.set_operation(static_cast<v1::StepOperation>(1));  // JOB's code 1 is not a step operation
  expect_invalid(to_operate_step(r), "operation");
  r.set_operation(v1::STEP_OPERATION_SKIP);
  r.set_step_instance_id(0);
  expect_invalid(to_operate_step(r), "step_instance_id");
}

TEST(PlanValidation, OutputsHostChoice) {
  v1::GetJobOutputsRequest r;
  r.mutable_scope()->set_id("1");
  r.set_job_instance_id(10001);
  auto out = to_outputs(r);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(out.value().all_hosts);
  r.set_log_hosts(v1::LOG_VAR_HOSTS_ALL);
  r.set_per_step(true);
  out = to_outputs(r);
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out.value().all_hosts);
  EXPECT_TRUE(out.value().per_step);
  r.set_log_hosts(static_cast<v1::LogVarHosts>(7));
  expect_invalid(to_outputs(r), "log_hosts");
  r.set_log_hosts(v1::LOG_VAR_HOSTS_FIRST);
  r.set_job_instance_id(0);
  expect_invalid(to_outputs(r), "job_instance_id");
}

TEST(PlanValidation, GetPlanNeedsAPlanId) {
  v1::GetJobPlanRequest r;
  r.mutable_scope()->set_id("1");
  expect_invalid(to_get_plan(r), "job_plan_id");
  r.set_job_plan_id(2);
  ASSERT_TRUE(to_get_plan(r).ok());
}

}  // namespace
}  // namespace jobgw::server
