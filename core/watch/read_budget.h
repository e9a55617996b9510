#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/base/scheduler.h"

namespace jobgw::core {

// How soon a read should get a token when the budget is spent, and whom it may overtake.
struct ReadRank {
  enum class Kind {
    // The job's own schedule asked for it (a poll timer fired).
    kScheduled,
    // A job's first read: a subscriber waits for its SNAPSHOT. It may overtake reads that are
    // overdue by less than ReadOrder::first_read_lead, no more, so a burst of new jobs cannot
    // hold back the jobs already running.
    kFirst,
    // Something says the job changed (JOB's callback, a subscriber asking for host detail,
    // JOB reachable again, a resubmitted id): ahead of every other kind.
    kSignal
  };
  Kind kind = Kind::kScheduled;
  // Someone subscribes to the job. While watched jobs' reads wait, a job nobody watches is read
  // only once its read has waited ReadOrder::unwatched_lag, and then with at most
  // ReadOrder::unwatched_share of the tokens: late, but never starved. A subscriber arriving
  // meanwhile moves it up (ReadBudget::rerank). Signals count as watched.
  bool watched = true;
  // When the job's schedule wanted the read; the default means "now" (when acquire is called).
  Scheduler::Clock::time_point due{};
};

// The order a spent budget serves waiting reads in (read_queue.h): watched reads by key, the
// read's due time moved earlier for first reads and signals; unwatched ones by the same key, each
// after it waited unwatched_lag, taking at most unwatched_share of the tokens while watched reads
// wait.
struct ReadOrder {
  std::chrono::milliseconds first_read_lead{2000};
  std::chrono::milliseconds unwatched_lag{30000};
  double unwatched_share = 0.25;
};

// What every JOB status read waits for: a token of the read budget (watch.reads_per_second).
// One replica's is a TokenBucket; replicas on Redis share one budget for the deployment.
class ReadBudget {
 public:
  virtual ~ReadBudget() = default;
  // Names a waiting read, unique in the process; 0: none (fn already ran).
  using Ticket = std::uint64_t;
  // Runs fn once a read may be made: inline when one may be made now and nobody waits, later
  // otherwise, in ReadOrder (ties in arrival order).
  virtual Ticket acquire(std::function<void()> fn, ReadRank rank = {}) = 0;
  // The read `ticket` still waits: it waits with `rank` from now on. A ticket already served is
  // ignored.
  virtual void rerank(Ticket ticket, ReadRank rank) = 0;
};

}  // namespace jobgw::core
