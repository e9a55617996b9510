#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/targets.h"

namespace jobgw::core {

// Statuses stay JOB's raw integers so a code JOB adds later passes through untouched. Which
// statuses end a job is JOB's `finished` flag here; clients use api/status_names.h.
namespace job_status {
constexpr int kPending = 1;
constexpr int kRunning = 2;
constexpr int kSuccess = 3;
constexpr int kFailed = 4;
constexpr int kTerminated = 8;
constexpr int kTerminating = 10;
}  // namespace job_status

namespace host_status {
constexpr int kWaiting = 5;
constexpr int kRunning = 7;
constexpr int kSuccess = 9;
constexpr int kAgentAbnormal = 310;
}  // namespace host_status

// One host's result within one step.
struct HostResult {
  Host host;
  int status = 0;
  std::string tag;
  int exit_code = 0;
  int error_code = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::int64_t total_time_ms = 0;
};

enum StepType : int { kStepScript = 1, kStepFile = 2, kStepSql = 4 };

struct StepSnapshot {
  std::int64_t step_instance_id = 0;
  int type = 0;
  std::string name;
  int status = 0;
  int execute_count = 0;
  std::int64_t create_time_ms = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::int64_t total_time_ms = 0;
  std::vector<HostResult> hosts;
};

// get_job_instance_status, decoded.
struct JobSnapshot {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::string name;
  int status = 0;
  bool finished = false;
  std::int64_t create_time_ms = 0;
  std::int64_t start_time_ms = 0;
  std::int64_t end_time_ms = 0;
  std::int64_t total_time_ms = 0;
  std::vector<StepSnapshot> steps;
};

bool operator==(const HostResult& a, const HostResult& b);
bool operator==(const StepSnapshot& a, const StepSnapshot& b);
bool operator==(const JobSnapshot& a, const JobSnapshot& b);
inline bool operator!=(const JobSnapshot& a, const JobSnapshot& b) { return !(a == b); }

// Whether two reads of one job id describe the same job. JOB gives an id out again after it is
// restored from a backup or replaced behind the same URL; a job's name and create time never
// change, so a difference in either (when both reads have it) means another job.
bool same_job_instance(const JobSnapshot& a, const JobSnapshot& b);

}  // namespace jobgw::core
