#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>

#include "core/base/scheduler.h"

namespace jobgw::core {

// A Scheduler whose clock moves only when told: tests drive pollers, backoff and token buckets
// through hours of virtual time without sleeping. Callbacks run on the thread calling advance().
class ManualScheduler : public Scheduler {
 public:
  ManualScheduler();
  Clock::time_point now() const override;
  std::int64_t wall_ms() const override;
  std::shared_ptr<Timer> after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void post(std::function<void()> fn) override;

  // Moves the clock forward by `by`, running every callback that falls due, in time order.
  void advance(std::chrono::milliseconds by);
  // Runs what is due now (posted work included) without moving the clock.
  void run_due() { advance(std::chrono::milliseconds(0)); }
  std::size_t pending() const;

 private:
  struct Entry;
  mutable std::mutex mu_;
  Clock::time_point now_;
  std::uint64_t next_id_ = 0;
  std::multimap<std::pair<Clock::time_point, std::uint64_t>, std::shared_ptr<Entry>> queue_;
};

}  // namespace jobgw::core
