#pragma once

#include <cstdint>
#include <string>

#include "core/base/result.h"
#include "core/job/plan_requests.h"
#include "jobgw/v1/job_gateway.pb.h"
#include "server/request_validation.h"

// The job-plan RPCs' requests, checked and turned into what JobClient takes, as
// request_validation.h does for the others: every error is INVALID_ARGUMENT and starts with the
// proto field path. What only the plan itself can tell (an unknown variable, a wrong kind, a
// missing required one) is checked later, against the plan (core/job/plan_variables.h).
namespace jobgw::server {

// JOB's get_job_plan_list page size bounds.
inline constexpr int kDefaultPlanPageSize = 20;
inline constexpr int kMaxPlanPageSize = 1000;

// What a GetJobOutputs call reads.
struct OutputsQuery {
  core::Scope scope;
  std::int64_t job_instance_id = 0;
  bool all_hosts = false;  // every host's log, else each script step's first host
  bool per_step = false;
  std::string operator_name;
};

core::Result<core::PlanListRequest> to_list_plans(const v1::ListJobPlansRequest& request);
core::Result<core::PlanDetailRequest> to_get_plan(const v1::GetJobPlanRequest& request);
// Each variable names itself by id or name and carries a value or hosts (validated like every
// target; each text value at most limits.max_param_bytes; hosts count against max_targets).
core::Result<core::ExecutePlanRequest> to_execute_plan(const v1::ExecuteJobPlanRequest& request,
                                                       const ValidationLimits& limits = {});
core::Result<core::OperateStepRequest> to_operate_step(const v1::OperateStepRequest& request);
core::Result<OutputsQuery> to_outputs(const v1::GetJobOutputsRequest& request);

// Host entries an ExecuteJobPlan names over its host-list variables (the audit line's count).
std::size_t target_count(const v1::ExecuteJobPlanRequest& request);

}  // namespace jobgw::server
