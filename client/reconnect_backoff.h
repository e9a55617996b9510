#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <random>

namespace jobgw::client {

struct BackoffPolicy {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max_delay{5000};
  double multiplier = 2.0;
  // Each delay is drawn uniformly from [delay * (1 - jitter), delay]: full-size bursts of
  // clients reconnecting to a restarted jobgw would otherwise arrive in lockstep.
  double jitter = 0.5;
  // Consecutive failed attempts allowed; 0 = unlimited (then max_elapsed bounds it).
  int max_attempts = 20;
  // Time allowed since the first failure of the current run of failures; 0 = unlimited.
  std::chrono::milliseconds max_elapsed{60000};
};

// Exponential backoff with jitter over a run of consecutive failures. The clock is injected so
// tests can drive it; reset() starts a new run after a success.
class ReconnectBackoff {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  explicit ReconnectBackoff(BackoffPolicy policy, Clock clock = nullptr,
                            std::uint64_t seed = std::random_device{}());

  // The delay before the next attempt, or nullopt when the attempts or the time are used up.
  std::optional<std::chrono::milliseconds> next_delay();
  void reset();
  int attempts() const { return attempts_; }

 private:
  BackoffPolicy policy_;
  Clock clock_;
  std::mt19937_64 rng_;
  int attempts_ = 0;
  std::chrono::steady_clock::time_point first_failure_{};
};

}  // namespace jobgw::client
