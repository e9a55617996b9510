#include "client/reconnect_backoff.h"

#include <algorithm>
#include <cmath>

namespace jobgw::client {

ReconnectBackoff::ReconnectBackoff(BackoffPolicy policy, Clock clock, std::uint64_t seed)
    : policy_(policy), clock_(std::move(clock)), rng_(seed) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
  policy_.jitter = std::clamp(policy_.jitter, 0.0, 1.0);
  policy_.multiplier = std::max(1.0, policy_.multiplier);
}

std::optional<std::chrono::milliseconds> ReconnectBackoff::next_delay() {
  auto now = clock_();
  if (attempts_ == 0) first_failure_ = now;
  if (policy_.max_attempts > 0 && attempts_ >= policy_.max_attempts) return std::nullopt;
  if (policy_.max_elapsed.count() > 0 && now - first_failure_ >= policy_.max_elapsed) {
    return std::nullopt;
  }
  double base = static_cast<double>(policy_.initial.count()) *
                std::pow(policy_.multiplier, static_cast<double>(attempts_));
  base = std::min(base, static_cast<double>(policy_.max_delay.count()));
  std::uniform_real_distribution<double> draw(base * (1.0 - policy_.jitter), base);
  double delay = policy_.jitter > 0 ? draw(rng_) : base;
  ++attempts_;
  auto ms = std::chrono::milliseconds(static_cast<std::int64_t>(delay));
  // Never sleep past the overall limit: the last attempt happens right at it.
  if (policy_.max_elapsed.count() > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(policy_.max_elapsed -
                                                                      (now - first_failure_));
    ms = std::min(ms, left);
  }
  return ms;
}

void ReconnectBackoff::reset() { attempts_ = 0; }

}  // namespace jobgw::client
