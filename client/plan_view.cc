#include "client/plan_view.h"

#include <algorithm>

namespace jobgw::client {
namespace {

bool in_progress(int status) {
  return status == v1::JOB_STATUS_RUNNING || status == v1::JOB_STATUS_WAITING_USER ||
         status == v1::JOB_STATUS_TERMINATING || status == v1::JOB_STATUS_ROLLING_WAITING;
}

bool not_started(const v1::StepSnapshot& step) {
  return step.start_time_ms() == 0 &&
         (step.status() == v1::JOB_STATUS_UNSPECIFIED || step.status() == v1::JOB_STATUS_PENDING);
}

}  // namespace

bool shows_steps(const v1::JobSnapshot& snapshot) {
  if (snapshot.steps_size() > 1) return true;
  return std::any_of(snapshot.steps().begin(), snapshot.steps().end(),
                     [](const auto& s) { return s.type() == v1::STEP_TYPE_CONFIRMATION; });
}

int current_step_index(const v1::JobSnapshot& snapshot) {
  const int n = snapshot.steps_size();
  for (int i = 0; i < n; ++i) {
    if (in_progress(snapshot.steps(i).status())) return i;
  }
  for (int i = n - 1; i >= 0; --i) {
    if (!not_started(snapshot.steps(i))) return i;
  }
  return n > 0 ? 0 : -1;
}

HostCounts step_counts(const v1::StepSnapshot& step) {
  HostCounts counts;
  for (const auto& h : step.hosts()) counts.add(h.status());
  return counts;
}

std::string step_label(const v1::StepSnapshot& step) {
  std::string label = "step " + std::to_string(step.step_instance_id());
  if (!step.name().empty()) label += " (" + step.name() + ")";
  return label;
}

bool waits_for_user(const v1::StepSnapshot& step) {
  return step.status() == v1::JOB_STATUS_WAITING_USER;
}

std::string confirmation_prompt(std::int64_t job_id, const v1::StepSnapshot& step,
                                const std::string& flags) {
  const std::string ids = std::to_string(job_id) + " " + std::to_string(step.step_instance_id());
  return step_label(step) + " waits for confirmation: jobctl confirm" + flags + " " + ids +
         "  /  jobctl operate" + flags + " " + ids + " terminate-confirmation";
}

std::int64_t step_elapsed(const v1::StepSnapshot& step, std::int64_t now_ms) {
  if (step.total_time_ms() > 0) return step.total_time_ms();
  if (step.start_time_ms() == 0) return 0;
  std::int64_t end = step.end_time_ms() != 0 ? step.end_time_ms() : now_ms;
  return std::max<std::int64_t>(0, end - step.start_time_ms());
}

}  // namespace jobgw::client
