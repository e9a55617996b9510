#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/base/scheduler.h"
#include "core/job/job_snapshot.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// When a watched job is read next (WatchHubConfig's poll_* keys): the floor after a change or
// while the job is young, else the last interval grown by poll_growth up to the ceiling, each
// jittered so jobs submitted together do not poll in lockstep. Randomness is injected.
class PollPolicy {
 public:
  PollPolicy(const WatchHubConfig& config, std::function<double()> uniform01);

  std::chrono::milliseconds floor() const { return floor_; }
  // The interval after a read that found the job `changed` (or not), `young` (or not).
  std::chrono::milliseconds next_interval(std::chrono::milliseconds current, bool changed,
                                          bool young) const;
  // `base` times a factor in [1 - jitter, 1 + jitter].
  std::chrono::milliseconds jittered(std::chrono::milliseconds base) const;
  // Younger than poll_young_for: by JOB's start (else create) time when the read has one, else
  // since the watch began.
  bool is_young(Scheduler::Clock::time_point watched_since, const JobSnapshot& latest,
                Scheduler::Clock::time_point now, std::int64_t wall_ms) const;

 private:
  const std::chrono::milliseconds floor_;
  const std::chrono::milliseconds ceiling_;
  const double growth_;
  const std::chrono::milliseconds young_for_;
  const double jitter_;
  const std::function<double()> uniform01_;
};

}  // namespace jobgw::core
