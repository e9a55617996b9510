#include "core/watch/read_queue.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <utility>

namespace jobgw::core {
namespace {

// Signals go first whatever their due time: an hour is longer than any read waits.
constexpr std::chrono::hours kSignalLead{1};

// Tickets of every queue (the Redis budget's and its fallback's alike) never collide.
std::atomic<ReadBudget::Ticket> next_ticket{1};

bool counts_as_watched(const ReadRank& rank) {
  return rank.watched || rank.kind == ReadRank::Kind::kSignal;
}

}  // namespace

ReadQueue::ReadQueue(ReadOrder order)
    : order_(order),
      watched_run_(order.unwatched_share <= 0
                       ? 0
                       : std::max(0, static_cast<int>(
                                         std::lround(1.0 / std::min(1.0, order.unwatched_share))) -
                                         1)) {}

Scheduler::Clock::time_point ReadQueue::at(const ReadRank& rank) const {
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
  return at;
}

ReadQueue::Class& ReadQueue::class_of(const ReadRank& rank) {
  return counts_as_watched(rank) ? watched_ : unwatched_;
}

ReadBudget::Ticket ReadQueue::push(std::function<void()> fn, ReadRank rank,
                                   Scheduler::Clock::time_point now) {
  if (rank.due == Scheduler::Clock::time_point{}) rank.due = now;
  const ReadBudget::Ticket ticket = next_ticket++;
  const Key key{at(rank), ticket};
  Class& into = class_of(rank);
  into.emplace(key, Waiter{std::move(fn), rank, ticket});
  keys_.emplace(ticket, std::make_pair(&into, key));
  return ticket;
}

bool ReadQueue::rerank(ReadBudget::Ticket ticket, ReadRank rank) {
  auto found = keys_.find(ticket);
  if (found == keys_.end()) return false;
  Class& from = *found->second.first;
  auto it = from.find(found->second.second);
  Waiter w = std::move(it->second);
  from.erase(it);
  if (rank.due == Scheduler::Clock::time_point{}) rank.due = w.rank.due;
  w.rank = rank;
  const Key key{at(rank), ticket};
  Class& into = class_of(rank);
  found->second = std::make_pair(&into, key);
  into.emplace(key, std::move(w));
  return true;
}

ReadQueue::Waiter ReadQueue::take(Class& from) {
  auto it = from.begin();
  Waiter w = std::move(it->second);
  from.erase(it);
  keys_.erase(w.ticket);
  return w;
}

ReadQueue::Waiter ReadQueue::pop(Scheduler::Clock::time_point now) {
  if (unwatched_.empty()) return take(watched_);
  if (watched_.empty()) {
    watched_in_a_row_ = 0;
    return take(unwatched_);
  }
  const bool starving = std::get<0>(unwatched_.begin()->first) + order_.unwatched_lag <= now;
  if (starving && watched_in_a_row_ >= watched_run_) {
    watched_in_a_row_ = 0;
    return take(unwatched_);
  }
  ++watched_in_a_row_;
  return take(watched_);
}

std::vector<ReadQueue::Waiter> ReadQueue::take_all() {
  std::vector<Waiter> out;
  out.reserve(size());
  for (Class* c : {&watched_, &unwatched_}) {
    for (auto& [key, w] : *c) out.push_back(std::move(w));
    c->clear();
  }
  keys_.clear();
  return out;
}

}  // namespace jobgw::core
