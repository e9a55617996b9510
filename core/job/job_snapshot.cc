#include "core/job/job_snapshot.h"

#include <tuple>

namespace jobgw::core {

bool operator==(const HostResult& a, const HostResult& b) {
  return std::tie(a.host, a.status, a.tag, a.exit_code, a.error_code, a.start_time_ms,
                  a.end_time_ms, a.total_time_ms) == std::tie(b.host, b.status, b.tag, b.exit_code,
                                                              b.error_code, b.start_time_ms,
                                                              b.end_time_ms, b.total_time_ms);
}

bool operator==(const StepSnapshot& a, const StepSnapshot& b) {
  return std::tie(a.step_instance_id, a.type, a.name, a.status, a.execute_count, a.create_time_ms,
                  a.start_time_ms, a.end_time_ms, a.total_time_ms, a.hosts) ==
         std::tie(b.step_instance_id, b.type, b.name, b.status, b.execute_count, b.create_time_ms,
                  b.start_time_ms, b.end_time_ms, b.total_time_ms, b.hosts);
}

bool operator==(const JobSnapshot& a, const JobSnapshot& b) {
  return std::tie(a.scope.type, a.scope.id, a.job_instance_id, a.name, a.status, a.finished,
                  a.create_time_ms, a.start_time_ms, a.end_time_ms, a.total_time_ms, a.steps) ==
         std::tie(b.scope.type, b.scope.id, b.job_instance_id, b.name, b.status, b.finished,
                  b.create_time_ms, b.start_time_ms, b.end_time_ms, b.total_time_ms, b.steps);
}

bool same_job_instance(const JobSnapshot& a, const JobSnapshot& b) {
  if (a.create_time_ms > 0 && b.create_time_ms > 0 && a.create_time_ms != b.create_time_ms) {
    return false;
  }
  return a.name.empty() || b.name.empty() || a.name == b.name;
}

}  // namespace jobgw::core
