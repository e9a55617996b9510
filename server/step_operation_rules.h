#pragma once

#include <optional>
#include <string>

#include "core/job/job_snapshot.h"

// Which step states JOB lets each operate_step_instance operation act on. jobgw checks them
// before asking JOB, so a caller learns the state that refused the operation ("step 20002 is
// running") rather than JOB's bare "illegal operation" (1241003), which names none.
namespace jobgw::server {

// Why `operation_code` (core::step_operation) cannot act on `step` now, naming the step's state
// and the states that would allow it; nothing when JOB would accept it.
std::optional<std::string> step_operation_refusal(int operation_code,
                                                  const core::StepSnapshot& step);

// The proto's name of an operation ("CONFIRM"), or its number.
std::string step_operation_name(int operation_code);

}  // namespace jobgw::server
