#include "core/replica/redis_read_budget.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <random>
#include <utility>
#include <vector>

#include "core/watch/token_bucket.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

// Refills the bucket by Redis's clock (TIME: the replicas' clocks never enter), takes up to
// ARGV[3] whole tokens and returns {taken, microseconds until the next whole token, 0 when one is
// left}. A missing key is a full bucket, which is what an idle bucket would have refilled to
// anyway, so the PEXPIRE only has to outlast one refill. The clock is stored as it is read even
// when it went back, so a clock stepped back never freezes the budget. Numbers are passed to
// redis.call as numbers, not tostring(): Lua's tostring keeps 14 digits, too few for
// microseconds. Calling TIME before writing is safe because Redis 7 replicates the effects of a
// script, not the script.
// KEYS[1] the bucket; ARGV rate per second, capacity, tokens wanted, PEXPIRE ms.
constexpr const char* kTake = R"lua(
local rate = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1])
local ts = tonumber(s[2])
if tokens == nil or ts == nil then
  tokens = cap
elseif now > ts then
  tokens = math.min(cap, tokens + (now - ts) * rate / 1000000)
end
local got = math.max(0, math.min(want, math.floor(tokens)))
tokens = tokens - got
redis.call('HSET', KEYS[1], 'tokens', tokens, 'ts', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
local wait = 0
if tokens < 1 then wait = math.ceil((1 - tokens) * 1000000 / rate) end
return {got, wait}
)lua";

// Shortest is not needed, exact is: a rate such as 0.1 must reach Lua as it was configured.
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

struct Grant {
  std::int64_t taken = 0;
  std::int64_t wait_us = 0;
};

Result<Grant> parse_grant(Result<RedisReply> reply) {
  if (!reply) return std::move(reply.error());
  const RedisReply& r = *reply;
  if (r.type == RedisReply::Type::kArray && r.elements.size() == 2) {
    auto taken = r.elements[0].as_integer();
    auto wait = r.elements[1].as_integer();
    if (taken && wait && *taken >= 0 && *wait >= 0) return Grant{*taken, *wait};
  }
  return Error::internal("read budget: unexpected answer from the bucket script: " + r.describe());
}

}  // namespace

class RedisReadBudget::Impl : public std::enable_shared_from_this<RedisReadBudget::Impl> {
 public:
  Impl(RedisClient& redis, Scheduler& scheduler, RedisReadBudgetConfig config)
      : redis_(redis),
        scheduler_(scheduler),
        config_(std::move(config)),
        capacity_(std::max(1.0, config_.burst)),
        replicas_(std::max<std::size_t>(1, config_.fallback_replicas)),
        batch_(std::max<std::size_t>(1, config_.batch)),
        fallback_(TokenBucket::create(scheduler, config_.rate / static_cast<double>(replicas_),
                                      config_.burst / static_cast<double>(replicas_),
                                      config_.order)),
        queue_(config_.order) {
    if (config_.rate > 0) {
      // A key that expired comes back full, so it must outlive the time an empty bucket takes
      // to fill; twice that, and never under a second, leaves room for expiry's own lateness.
      const double fill_ms = capacity_ / config_.rate * 1000.0;
      ttl_ms_ = std::max<std::int64_t>(1000, static_cast<std::int64_t>(std::ceil(2 * fill_ms)));
    }
  }

  Ticket acquire(std::function<void()> fn, ReadRank rank) {
    if (config_.rate <= 0) {
      fn();
      return 0;
    }
    std::size_t want = 0;
    Ticket ticket = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // While Redis is away only one waiter at a time finds out whether it is back; the rest
      // must not wait on a Redis that may take command_timeout to fail again.
      if (shared_ || (!in_flight_ && scheduler_.now() >= retry_at_)) {
        ticket = queue_.push(std::move(fn), rank, scheduler_.now());
        want = begin_ask_locked();
      }
    }
    if (ticket == 0) return fallback_->acquire(std::move(fn), rank);
    if (want > 0) ask(want);
    return ticket;
  }

  // Tickets are unique across queues: whichever holds it moves it.
  void rerank(Ticket ticket, ReadRank rank) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (queue_.rerank(ticket, rank)) return;
    }
    fallback_->rerank(ticket, rank);
  }

  bool shared() const { return shared_.load(); }

  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    if (timer_) timer_->cancel();
    timer_.reset();
  }

 private:
  using Waiter = ReadQueue::Waiter;

  // How many tokens to ask for now, 0 when a call is already in flight or a timer will ask.
  std::size_t begin_ask_locked() {
    if (in_flight_ || timer_ || queue_.empty()) return 0;
    in_flight_ = true;
    return std::min(queue_.size(), batch_);
  }

  void ask(std::size_t want) {
    std::weak_ptr<Impl> weak = weak_from_this();
    redis_.command({"EVAL", kTake, "1", config_.key, number(config_.rate), number(capacity_),
                    std::to_string(want), std::to_string(ttl_ms_)},
                   [weak](Result<RedisReply> reply) {
                     if (auto self = weak.lock()) self->on_reply(std::move(reply));
                   });
  }

  void on_reply(Result<RedisReply> reply) {
    Result<Grant> grant = parse_grant(std::move(reply));
    std::vector<Waiter> ready;
    std::vector<Waiter> orphans;
    std::size_t want = 0;
    bool went_local = false;
    bool came_back = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      in_flight_ = false;
      if (!grant) {
        went_local = shared_.exchange(false);
        retry_at_ = scheduler_.now() + config_.retry_interval;
        orphans = queue_.take_all();
      } else {
        came_back = !shared_.exchange(true);
        // The queue only grows while a call is in flight, so every token taken finds a waiter.
        const auto now = scheduler_.now();
        for (std::int64_t i = 0; i < grant->taken && !queue_.empty(); ++i) {
          ready.push_back(queue_.pop(now));
        }
        if (!queue_.empty()) {
          if (grant->wait_us == 0) {
            want = begin_ask_locked();
          } else {
            arm_locked(grant->wait_us);
          }
        }
      }
    }
    if (went_local) {
      spdlog::warn(
          "event=read_budget_fallback key={} rate={} local_rate={} retry_ms={} detail=\"each "
          "replica spends its share of the budget until the shared bucket answers again\" {}",
          config_.key, config_.rate, config_.rate / static_cast<double>(replicas_),
          config_.retry_interval.count(), grant.error().describe());
    }
    if (came_back) {
      spdlog::info("event=read_budget_shared key={} rate={} burst={}", config_.key, config_.rate,
                   config_.burst);
    }
    // Waiters run on the scheduler, not on the Redis client's strand, where a slow one would
    // hold up every other replica-state command.
    std::weak_ptr<Impl> weak = weak_from_this();
    for (auto& w : ready) {
      scheduler_.post([weak, fn = std::move(w.fn)] {
        if (auto self = weak.lock()) fn();
      });
    }
    if (!orphans.empty()) {
      scheduler_.post([weak, orphans = std::move(orphans)]() mutable {
        auto self = weak.lock();
        if (!self) return;
        // Each keeps its rank, so the fallback serves them in the same order.
        for (auto& w : orphans) self->fallback_->acquire(std::move(w.fn), w.rank);
      });
    }
    if (want > 0) ask(want);
  }

  void arm_locked(std::int64_t wait_us) {
    // Up to a millisecond of jitter, rounded up: asking a moment early only earns another wait
    // and another call. Without it the replicas that lost a token wake in the same order every
    // time, and one of them keeps losing.
    double u = config_.uniform01 ? config_.uniform01()
                                 : std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    milliseconds delay(static_cast<std::int64_t>(std::ceil(wait_us / 1000.0 + u)));
    std::weak_ptr<Impl> weak = weak_from_this();
    timer_ = scheduler_.after(delay, [weak] {
      if (auto self = weak.lock()) self->on_timer();
    });
  }

  void on_timer() {
    std::size_t want = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      timer_.reset();
      want = begin_ask_locked();
    }
    if (want > 0) ask(want);
  }

  RedisClient& redis_;
  Scheduler& scheduler_;
  const RedisReadBudgetConfig config_;
  const double capacity_;
  const std::size_t replicas_;
  const std::size_t batch_;
  const std::shared_ptr<TokenBucket> fallback_;
  std::int64_t ttl_ms_ = 1000;
  std::mt19937_64 rng_{std::random_device{}()};

  mutable std::mutex mu_;
  ReadQueue queue_;
  bool in_flight_ = false;
  // Set while waiting for the next token; the timer then asks Redis.
  std::shared_ptr<Timer> timer_;
  std::atomic<bool> shared_{true};
  // While not shared: when the next waiter tries Redis again.
  Scheduler::Clock::time_point retry_at_{};
};

RedisReadBudget::RedisReadBudget(RedisClient& redis, Scheduler& scheduler,
                                 RedisReadBudgetConfig config)
    : impl_(std::make_shared<Impl>(redis, scheduler, std::move(config))) {}

RedisReadBudget::~RedisReadBudget() { impl_->stop(); }

ReadBudget::Ticket RedisReadBudget::acquire(std::function<void()> fn, ReadRank rank) {
  return impl_->acquire(std::move(fn), rank);
}

void RedisReadBudget::rerank(Ticket ticket, ReadRank rank) { impl_->rerank(ticket, rank); }

bool RedisReadBudget::shared() const { return impl_->shared(); }

}  // namespace jobgw::core
