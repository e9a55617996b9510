#pragma once

#include <chrono>
#include <functional>

namespace jobgw::core {

// Exponential backoff: attempt n waits initial * multiplier^(n-1), capped at max, then reduced by
// up to `jitter` (a fraction in [0, 1]) so that many clients failing together spread out instead
// of retrying in lockstep. The result never exceeds `max`.
struct BackoffPolicy {
  std::chrono::milliseconds initial{100};
  std::chrono::milliseconds max{5000};
  double multiplier = 2.0;
  double jitter = 0.2;
};

class Backoff {
 public:
  // `uniform01` returns values in [0, 1); tests inject a fixed sequence. Empty means a
  // thread-local PRNG, so delay() is safe to call from any thread.
  explicit Backoff(BackoffPolicy policy, std::function<double()> uniform01 = {});

  // Delay before retry number `attempt` (1 = the first retry). Values below 1 count as 1.
  std::chrono::milliseconds delay(int attempt) const;

  const BackoffPolicy& policy() const { return policy_; }

 private:
  BackoffPolicy policy_;
  std::function<double()> uniform01_;
};

}  // namespace jobgw::core
