#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "core/base/scheduler.h"
#include "core/watch/read_budget.h"
#include "core/watch/read_queue.h"

namespace jobgw::core {

// A global cap on JOB calls per second shared by every poller. Waiters are served in ReadOrder
// (read_queue.h says why none starves).
class TokenBucket : public ReadBudget, public std::enable_shared_from_this<TokenBucket> {
 public:
  // rate <= 0 means unlimited.
  static std::shared_ptr<TokenBucket> create(Scheduler& scheduler, double rate, double burst,
                                             ReadOrder order = {});

  // Runs fn once a token is available: inline when one is available now, later otherwise.
  Ticket acquire(std::function<void()> fn, ReadRank rank = {}) override;
  void rerank(Ticket ticket, ReadRank rank) override;
  std::size_t waiting() const;

 private:
  TokenBucket(Scheduler& scheduler, double rate, double burst, ReadOrder order);
  void refill_locked();
  void arm_locked();
  void drain();

  Scheduler& scheduler_;
  const double rate_;
  const double burst_;
  mutable std::mutex mu_;
  double tokens_;
  Scheduler::Clock::time_point last_;
  ReadQueue queue_;
  bool armed_ = false;
};

}  // namespace jobgw::core
