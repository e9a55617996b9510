#include "core/job/plan_outputs.h"

namespace jobgw::core {

namespace {
constexpr int kHostNonZeroExit = 104;
}  // namespace

StepHostGroups group_step_hosts(const StepSnapshot& step) {
  StepHostGroups groups;
  for (const HostResult& host : step.hosts) {
    if (host.status == host_status::kSuccess) {
      groups.success.push_back(host);
    } else if (host.status == kHostNonZeroExit) {
      groups.non_zero_exit.push_back(host);
    } else {
      groups.other.push_back(host);
    }
  }
  return groups;
}

}  // namespace jobgw::core
