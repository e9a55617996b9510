#include "core/base/backoff.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace jobgw::core {
namespace {

double thread_local_uniform01() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

// A policy from a config file may be nonsense; clamp it rather than fail at retry time.
BackoffPolicy sanitize(BackoffPolicy p) {
  p.initial = std::max(p.initial, std::chrono::milliseconds(0));
  p.max = std::max(p.max, p.initial);
  if (!(p.multiplier >= 1.0)) p.multiplier = 1.0;  // also catches NaN
  if (!(p.jitter >= 0.0)) p.jitter = 0.0;
  p.jitter = std::min(p.jitter, 1.0);
  return p;
}

}  // namespace

Backoff::Backoff(BackoffPolicy policy, std::function<double()> uniform01)
    : policy_(sanitize(policy)), uniform01_(std::move(uniform01)) {
  if (!uniform01_) uniform01_ = thread_local_uniform01;
}

std::chrono::milliseconds Backoff::delay(int attempt) const {
  attempt = std::max(attempt, 1);
  const double max_ms = static_cast<double>(policy_.max.count());
  // Computed in double and capped before converting, so large attempt numbers cannot overflow.
  double base = static_cast<double>(policy_.initial.count()) *
                std::pow(policy_.multiplier, static_cast<double>(attempt - 1));
  if (!(base <= max_ms)) base = max_ms;
  double u = uniform01_();
  u = std::clamp(std::isnan(u) ? 0.0 : u, 0.0, 1.0);
  const double jittered = base * (1.0 - policy_.jitter * u);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(jittered)));
}

}  // namespace jobgw::core
