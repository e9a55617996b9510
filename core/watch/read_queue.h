#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <tuple>
#include <vector>

#include "core/base/scheduler.h"
#include "core/watch/read_budget.h"

namespace jobgw::core {

// Reads waiting for a budget token, served in ReadOrder. Not thread-safe: the budget that owns
// it locks around it.
//
// Why no read starves: a job has at most one read waiting, so the queue never holds more than
// the jobs polled (N). A read due at d is overtaken only by reads whose key is below d: other
// jobs' reads (each at most once, until it is served and re-enters with a later due), first
// reads of jobs created within first_read_lead after d, and signals. At R reads a second, a
// watched job due at d is therefore read by d + (N + signals meanwhile) / R; an unwatched one
// by d + unwatched_lag + (N + signals) / R.
class ReadQueue {
 public:
  struct Waiter {
    std::function<void()> fn;
    ReadRank rank;
  };

  explicit ReadQueue(ReadOrder order = {}) : order_(order) {}

  // `now` fills a rank whose due was left at its default.
  void push(std::function<void()> fn, ReadRank rank, Scheduler::Clock::time_point now);
  // The waiter to serve next. Precondition: !empty().
  Waiter pop();
  // Every waiter, in order, leaving the queue empty.
  std::vector<Waiter> take_all();

  bool empty() const { return waiters_.empty(); }
  std::size_t size() const { return waiters_.size(); }

 private:
  using Key = std::tuple<Scheduler::Clock::time_point, std::uint64_t>;
  Key key_of(const ReadRank& rank);

  const ReadOrder order_;
  std::map<Key, Waiter> waiters_;
  std::uint64_t arrivals_ = 0;
};

}  // namespace jobgw::core
