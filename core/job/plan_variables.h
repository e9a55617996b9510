#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/job/plan_requests.h"

namespace jobgw::core {

// Checks the variable values a caller gives for a plan against the plan's own variables, before
// anything reaches JOB (which ignores unknown names and would run the plan with its defaults):
// - each value names a variable of the plan, by id or by name, and when both, the same one;
// - host-list variables take `server`, every other type `value` (never both, never neither);
// - array variables' values look like bash array literals `(...)`;
// - no variable is given twice;
// - every required variable has a value: given, or the plan's default (a masked password
//   default counts, as JOB keeps it).
// Returns the values to send, each by the variable's id (by name when the plan gave no id), in
// the order given. Errors are kInvalidArgument, naming the entry as ExecuteJobPlanRequest names
// it (`variables[2]: ...`).
Result<std::vector<PlanVariableValue>> resolve_plan_variables(
    const PlanDetail& plan, const std::vector<PlanVariableValue>& given);

// "string", "host list", ... for messages; "type N" for a number JOB added later.
std::string global_var_type_name(int type);

}  // namespace jobgw::core
