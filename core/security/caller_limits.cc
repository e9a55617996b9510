#include "core/security/caller_limits.h"

#include <algorithm>
#include <cmath>

namespace jobgw::core {

CallerLimits::CallerLimits(const Scheduler& clock, CallerLimitsConfig config)
    : clock_(clock),
      config_(config),
      burst_(std::max(1.0,
                      config.submit_burst > 0 ? config.submit_burst : config.submits_per_second)) {}

std::optional<std::chrono::milliseconds> CallerLimits::take_submit(const std::string& caller) {
  if (config_.submits_per_second <= 0) return std::nullopt;
  const auto now = clock_.now();
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(caller);
  Bucket& b = it->second;
  if (fresh) {
    b.tokens = burst_;
  } else {
    const double elapsed = std::chrono::duration<double>(now - b.last).count();
    b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * config_.submits_per_second);
  }
  b.last = now;
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return std::nullopt;
  }
  // Rounded up, so a caller that waits exactly this long finds a whole token.
  const double wait_s = (1.0 - b.tokens) / config_.submits_per_second;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(wait_s * 1000.0)));
}

bool CallerLimits::open_stream(const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t& open = streams_[caller];
  if (config_.max_streams > 0 && open >= config_.max_streams) return false;
  ++open;
  return true;
}

void CallerLimits::close_stream(const std::string& caller) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(caller);
  if (it == streams_.end() || it->second == 0) return;
  --it->second;
}

std::size_t CallerLimits::open_streams(const std::string& caller) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = streams_.find(caller);
  return it == streams_.end() ? 0 : it->second;
}

}  // namespace jobgw::core
