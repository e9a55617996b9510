#pragma once

#include <vector>

#include "core/job/job_snapshot.h"

namespace jobgw::core {

// A step's hosts as bk-sops reports them to its flows: succeeded (host status 9), the script
// exited non-zero (104), and every other status (failures, and hosts not yet final).
struct StepHostGroups {
  std::vector<HostResult> success;
  std::vector<HostResult> non_zero_exit;
  std::vector<HostResult> other;
};

// Hosts keep the order JOB listed them in.
StepHostGroups group_step_hosts(const StepSnapshot& step);

}  // namespace jobgw::core
