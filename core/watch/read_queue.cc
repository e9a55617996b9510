#include "core/watch/read_queue.h"

#include <utility>

namespace jobgw::core {

// Signals go first whatever their due time: an hour is longer than any read waits.
constexpr std::chrono::hours kSignalLead{1};

ReadQueue::Key ReadQueue::key_of(const ReadRank& rank) {
  auto at = rank.due;
  switch (rank.kind) {
    case ReadRank::Kind::kSignal:
      at -= kSignalLead;
      break;
    case ReadRank::Kind::kFirst:
      at -= order_.first_read_lead;
      break;
    case ReadRank::Kind::kScheduled:
      break;
  }
  // A first read is not held back: the caller that submitted the job usually watches it next.
  if (!rank.watched && rank.kind == ReadRank::Kind::kScheduled) at += order_.unwatched_lag;
  return {at, arrivals_++};
}

void ReadQueue::push(std::function<void()> fn, ReadRank rank, Scheduler::Clock::time_point now) {
  if (rank.due == Scheduler::Clock::time_point{}) rank.due = now;
  Key key = key_of(rank);
  waiters_.emplace(key, Waiter{std::move(fn), rank});
}

ReadQueue::Waiter ReadQueue::pop() {
  auto it = waiters_.begin();
  Waiter w = std::move(it->second);
  waiters_.erase(it);
  return w;
}

std::vector<ReadQueue::Waiter> ReadQueue::take_all() {
  std::vector<Waiter> out;
  out.reserve(waiters_.size());
  for (auto& [key, w] : waiters_) out.push_back(std::move(w));
  waiters_.clear();
  return out;
}

}  // namespace jobgw::core
