#include "tests/support/manual_scheduler.h"

#include <atomic>

namespace jobgw::core {

struct ManualScheduler::Entry : Timer {
  std::function<void()> fn;
  std::atomic<bool> cancelled{false};
  void cancel() override { cancelled = true; }
};

ManualScheduler::ManualScheduler() : now_(Clock::time_point() + std::chrono::hours(1)) {}

Scheduler::Clock::time_point ManualScheduler::now() const {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

std::int64_t ManualScheduler::wall_ms() const {
  // A fixed epoch keeps timestamps in tests reproducible.
  return 1'700'000'000'000 +
         std::chrono::duration_cast<std::chrono::milliseconds>(now().time_since_epoch()).count();
}

std::shared_ptr<Timer> ManualScheduler::after(std::chrono::milliseconds delay,
                                              std::function<void()> fn) {
  auto entry = std::make_shared<Entry>();
  entry->fn = std::move(fn);
  std::lock_guard<std::mutex> lock(mu_);
  if (delay.count() < 0) delay = std::chrono::milliseconds(0);
  queue_.emplace(std::make_pair(now_ + delay, next_id_++), entry);
  return entry;
}

void ManualScheduler::post(std::function<void()> fn) {
  after(std::chrono::milliseconds(0), std::move(fn));
}

void ManualScheduler::advance(std::chrono::milliseconds by) {
  Clock::time_point target;
  {
    std::lock_guard<std::mutex> lock(mu_);
    target = now_ + by;
  }
  for (;;) {
    std::shared_ptr<Entry> entry;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = queue_.begin();
      if (it == queue_.end() || it->first.first > target) {
        now_ = target;
        return;
      }
      now_ = std::max(now_, it->first.first);
      entry = it->second;
      queue_.erase(it);
    }
    if (!entry->cancelled) entry->fn();
  }
}

std::size_t ManualScheduler::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::size_t n = 0;
  for (const auto& [when, entry] : queue_) n += entry->cancelled ? 0 : 1;
  return n;
}

}  // namespace jobgw::core
