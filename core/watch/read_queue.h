#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "core/base/scheduler.h"
#include "core/watch/read_budget.h"

namespace jobgw::core {

// Reads waiting for a budget token, served in ReadOrder. Not thread-safe: the budget that owns
// it locks around it.
//
// Why no read starves: a job has at most one read waiting, so each class never holds more than
// its jobs (N watched, M unwatched). A watched read due at d is overtaken only by watched reads
// with a lower key: other jobs' (each at most once, until served and back with a later due),
// first reads of jobs created within first_read_lead after d, and signals. Watched reads get at
// least (1 - unwatched_share) of R reads a second, so one due at d is read by
// d + (N + signals) / ((1 - unwatched_share) R). An unwatched one waits unwatched_lag, then gets
// at least unwatched_share of them: read by d + unwatched_lag + M / (unwatched_share R) (sooner
// whenever no watched read waits).
class ReadQueue {
 public:
  struct Waiter {
    std::function<void()> fn;
    ReadRank rank;
    ReadBudget::Ticket ticket = 0;
  };

  explicit ReadQueue(ReadOrder order = {});

  // `now` fills a rank whose due was left at its default. Returns the waiter's ticket.
  ReadBudget::Ticket push(std::function<void()> fn, ReadRank rank,
                          Scheduler::Clock::time_point now);
  // Moves a waiting read to where `rank` puts it (a default due keeps the read's own); false
  // when the ticket is not waiting here.
  bool rerank(ReadBudget::Ticket ticket, ReadRank rank);
  // The waiter to serve at `now`. Precondition: !empty().
  Waiter pop(Scheduler::Clock::time_point now);
  // Every waiter, leaving the queue empty.
  std::vector<Waiter> take_all();

  bool empty() const { return watched_.empty() && unwatched_.empty(); }
  std::size_t size() const { return watched_.size() + unwatched_.size(); }

 private:
  // (when, ticket): tickets grow, so ties keep arrival order.
  using Key = std::tuple<Scheduler::Clock::time_point, ReadBudget::Ticket>;
  using Class = std::map<Key, Waiter>;
  Scheduler::Clock::time_point at(const ReadRank& rank) const;
  Class& class_of(const ReadRank& rank);
  Waiter take(Class& from);

  const ReadOrder order_;
  // Tokens in a row watched reads may take before a starving unwatched read gets one.
  const int watched_run_;
  Class watched_;
  Class unwatched_;
  int watched_in_a_row_ = 0;
  std::unordered_map<ReadBudget::Ticket, std::pair<Class*, Key>> keys_;
};

}  // namespace jobgw::core
