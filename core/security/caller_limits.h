#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/base/scheduler.h"

namespace jobgw::core {

// The per-caller limits (limits.caller_submits_per_second, limits.caller_submit_burst,
// limits.caller_max_streams): one busy caller must not spend the whole gateway's capacity (and
// JOB's) that every other caller shares.
struct CallerLimitsConfig {
  // Submits per second per caller; 0 disables the limit.
  double submits_per_second = 10;
  // Submits a caller may make at once above the rate; 0 means the same as the rate.
  double submit_burst = 0;
  // WatchStatus streams one caller may hold open at once; 0 disables the limit.
  std::size_t max_streams = 1000;
};

// Token bucket per caller for submits and a count of open streams per caller. Callers are the
// names of credentials entries (or "anonymous"), a small known set, so the table stays bounded.
// Time comes from the Scheduler's clock: tests drive it with ManualScheduler. Thread-safe.
class CallerLimits {
 public:
  CallerLimits(const Scheduler& clock, CallerLimitsConfig config);

  // Takes one submit token: nullopt when admitted, else how long until a token is available.
  std::optional<std::chrono::milliseconds> take_submit(const std::string& caller);
  // Takes a stream slot: false at the limit. Every true is matched by one close_stream.
  bool open_stream(const std::string& caller);
  void close_stream(const std::string& caller);
  std::size_t open_streams(const std::string& caller) const;

  const CallerLimitsConfig& config() const { return config_; }

 private:
  struct Bucket {
    double tokens = 0;
    Scheduler::Clock::time_point last;
  };

  const Scheduler& clock_;
  const CallerLimitsConfig config_;
  const double burst_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  std::map<std::string, std::size_t> streams_;
};

}  // namespace jobgw::core
