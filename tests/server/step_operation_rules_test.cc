#include "server/step_operation_rules.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/job/plan_requests.h"

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
namespace op = core::step_operation;

core::StepSnapshot step(int type, int status) {
  core::StepSnapshot s;
  s.step_instance_id = 20002;
  s.type = type;
  s.status = status;
  return s;
}

TEST(StepOperationRules, ConfirmationsOnlyWhileWaitingForAUser) {
  EXPECT_FALSE(step_operation_refusal(op::kConfirm, step(3, 7)));
  EXPECT_FALSE(step_operation_refusal(op::kTerminateConfirmation, step(3, 7)));
  EXPECT_FALSE(step_operation_refusal(op::kReinitiateConfirmation, step(3, 13)));
  auto running = step_operation_refusal(op::kConfirm, step(3, 2));
  ASSERT_TRUE(running);
  EXPECT_THAT(*running, HasSubstr("step 20002 is running"));
  EXPECT_THAT(*running, HasSubstr("CONFIRM needs it waiting_user"));
  auto script = step_operation_refusal(op::kConfirm, step(1, 7));
  ASSERT_TRUE(script);
  EXPECT_THAT(*script, HasSubstr("is a script step"));
}

TEST(StepOperationRules, RetriesAndIgnoreOnlyOnAFailedStep) {
  for (int status : {4, 9, 11}) {
    EXPECT_FALSE(step_operation_refusal(op::kRetryFailed, step(1, status))) << status;
    EXPECT_FALSE(step_operation_refusal(op::kRetryAll, step(2, status))) << status;
  }
  EXPECT_FALSE(step_operation_refusal(op::kIgnoreError, step(1, 4)));
  auto ignore = step_operation_refusal(op::kIgnoreError, step(1, 11));
  ASSERT_TRUE(ignore);
  EXPECT_THAT(*ignore, HasSubstr("failed or abnormal"));
  auto success = step_operation_refusal(op::kRetryFailed, step(1, 3));
  ASSERT_TRUE(success);
  EXPECT_THAT(*success, HasSubstr("is success"));
  EXPECT_TRUE(step_operation_refusal(op::kRetryAll, step(3, 4)));
}

TEST(StepOperationRules, NextStepAndSkip) {
  EXPECT_FALSE(step_operation_refusal(op::kNextStep, step(1, 11)));
  EXPECT_TRUE(step_operation_refusal(op::kNextStep, step(1, 4)));
  EXPECT_FALSE(step_operation_refusal(op::kSkip, step(1, 10)));
  EXPECT_TRUE(step_operation_refusal(op::kSkip, step(1, 2)));
}

TEST(StepOperationRules, NamesComeFromTheProto) {
  EXPECT_EQ(step_operation_name(op::kTerminateConfirmation), "TERMINATE_CONFIRMATION");
  EXPECT_EQ(step_operation_name(99), "99");
}

}  // namespace
}  // namespace jobgw::server
