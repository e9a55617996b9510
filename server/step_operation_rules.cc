#include "server/step_operation_rules.h"

#include <vector>

#include "api/status_names.h"
#include "core/job/plan_requests.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::server {
namespace {

namespace op = core::step_operation;

// JOB's step statuses the rules name.
constexpr int kFailed = 4, kWaitingUser = 7, kAbnormal = 9, kTerminating = 10,
              kTerminateSucceeded = 11, kTerminationConfirmed = 13;

std::vector<int> allowed_states(int operation_code) {
  switch (operation_code) {
    case op::kRetryFailed:
    case op::kRetryAll:
      return {kFailed, kAbnormal, kTerminateSucceeded};
    case op::kIgnoreError:
      return {kFailed, kAbnormal};
    case op::kConfirm:
    case op::kTerminateConfirmation:
      return {kWaitingUser};
    case op::kReinitiateConfirmation:
      return {kTerminationConfirmed};
    case op::kNextStep:
      return {kTerminateSucceeded};
    case op::kSkip:
      return {kTerminating};
    default:
      return {};
  }
}

bool confirmation_only(int operation_code) {
  return operation_code == op::kConfirm || operation_code == op::kTerminateConfirmation ||
         operation_code == op::kReinitiateConfirmation;
}

}  // namespace

std::string step_operation_name(int operation_code) {
  const auto* value = v1::StepOperation_descriptor()->FindValueByNumber(operation_code);
  if (value == nullptr) return std::to_string(operation_code);
  constexpr std::string_view kPrefix = "STEP_OPERATION_";
  return value->name().substr(kPrefix.size());
}

std::optional<std::string> step_operation_refusal(int operation_code,
                                                  const core::StepSnapshot& step) {
  const std::string what = step_operation_name(operation_code);
  const std::string step_name = "step " + std::to_string(step.step_instance_id);
  if (confirmation_only(operation_code) && step.type != core::kPlanStepConfirm) {
    return what + " acts on a manual confirmation step; " + step_name + " is a " +
           api::step_type_name(step.type) + " step";
  }
  if (!confirmation_only(operation_code) && step.type == core::kPlanStepConfirm &&
      operation_code != op::kSkip) {
    return what + " does not act on a manual confirmation step (" + step_name +
           "); use CONFIRM or TERMINATE_CONFIRMATION";
  }
  const auto allowed = allowed_states(operation_code);
  for (int s : allowed) {
    if (s == step.status) return std::nullopt;
  }
  std::string states;
  for (int s : allowed) {
    if (!states.empty()) states += " or ";
    states += api::job_status_name(s);
  }
  return step_name + " is " + api::job_status_name(step.status) + "; " + what + " needs it " +
         states;
}

}  // namespace jobgw::server
