#include "core/watch/token_bucket.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace jobgw::core {

std::shared_ptr<TokenBucket> TokenBucket::create(Scheduler& scheduler, double rate, double burst,
                                                 ReadOrder order) {
  return std::shared_ptr<TokenBucket>(new TokenBucket(scheduler, rate, burst, order));
}

TokenBucket::TokenBucket(Scheduler& scheduler, double rate, double burst, ReadOrder order)
    : scheduler_(scheduler),
      rate_(rate),
      burst_(std::max(1.0, burst)),
      tokens_(std::max(1.0, burst)),
      last_(scheduler.now()),
      queue_(order) {}

void TokenBucket::refill_locked() {
  auto now = scheduler_.now();
  double elapsed = std::chrono::duration<double>(now - last_).count();
  if (elapsed > 0) {
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    last_ = now;
  }
}

ReadBudget::Ticket TokenBucket::acquire(std::function<void()> fn, ReadRank rank) {
  if (rate_ <= 0) {
    fn();
    return 0;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    refill_locked();
    if (!(queue_.empty() && tokens_ >= 1.0)) {
      const Ticket ticket = queue_.push(std::move(fn), rank, scheduler_.now());
      arm_locked();
      return ticket;
    }
    tokens_ -= 1.0;
  }
  fn();
  return 0;
}

void TokenBucket::rerank(Ticket ticket, ReadRank rank) {
  std::lock_guard<std::mutex> lock(mu_);
  queue_.rerank(ticket, rank);
}

void TokenBucket::arm_locked() {
  if (armed_ || queue_.empty()) return;
  armed_ = true;
  double missing = std::max(0.0, 1.0 - tokens_);
  auto delay =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(missing / rate_ * 1000.0)));
  std::weak_ptr<TokenBucket> weak = shared_from_this();
  scheduler_.after(delay, [weak] {
    if (auto self = weak.lock()) self->drain();
  });
}

void TokenBucket::drain() {
  std::vector<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> lock(mu_);
    armed_ = false;
    refill_locked();
    while (!queue_.empty() && tokens_ >= 1.0) {
      tokens_ -= 1.0;
      ready.push_back(queue_.pop(scheduler_.now()).fn);
    }
    arm_locked();
  }
  for (auto& fn : ready) fn();
}

std::size_t TokenBucket::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.size();
}

}  // namespace jobgw::core
