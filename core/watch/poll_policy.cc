#include "core/watch/poll_policy.h"

#include <algorithm>
#include <utility>

namespace jobgw::core {

using std::chrono::milliseconds;

PollPolicy::PollPolicy(const WatchHubConfig& config, std::function<double()> uniform01)
    : floor_(config.poll_floor),
      ceiling_(config.poll_ceiling),
      growth_(config.poll_growth),
      young_for_(config.poll_young_for),
      jitter_(config.poll_jitter),
      uniform01_(std::move(uniform01)) {}

milliseconds PollPolicy::next_interval(milliseconds current, bool changed, bool young) const {
  if (changed || young) return floor_;
  return std::min(
      ceiling_,
      milliseconds(static_cast<std::int64_t>(static_cast<double>(current.count()) * growth_)));
}

milliseconds PollPolicy::jittered(milliseconds base) const {
  double factor = 1.0 + jitter_ * (2.0 * uniform01_() - 1.0);
  return milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * factor));
}

bool PollPolicy::is_young(Scheduler::Clock::time_point watched_since, const JobSnapshot& latest,
                          Scheduler::Clock::time_point now, std::int64_t wall_ms) const {
  if (young_for_.count() <= 0) return false;
  // JOB's own start time counts when it has one: a job jobgw only learns of late (a WatchStatus
  // for a job submitted elsewhere) is as old as JOB says, not as old as its watch.
  const std::int64_t born_ms =
      latest.start_time_ms > 0 ? latest.start_time_ms : latest.create_time_ms;
  const milliseconds age = born_ms > 0
                               ? milliseconds(wall_ms - born_ms)
                               : std::chrono::duration_cast<milliseconds>(now - watched_since);
  return age < young_for_;
}

}  // namespace jobgw::core
