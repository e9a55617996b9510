#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "core/base/scheduler.h"
#include "core/redis/redis_client.h"
#include "core/watch/read_budget.h"

namespace jobgw::core {

struct RedisReadBudgetConfig {
  // The hash holding the deployment's one bucket; every replica must name the same key.
  std::string key = "jobgw:budget";
  // watch.reads_per_second and watch.read_burst, for the whole deployment (their defaults live
  // in WatchHubConfig). rate <= 0: unlimited. A burst below 1 still lets one read through at a
  // time, as TokenBucket does.
  double rate = 0;
  double burst = 0;
  // While Redis cannot be asked, each replica spends rate / fallback_replicas of its own, so the
  // deployment stays near its budget without Redis. Set it to the number of replicas.
  std::size_t fallback_replicas = 1;
  // Tokens one call takes at most, so one replica with many waiters cannot empty a large burst
  // before the others get a turn.
  std::size_t batch = 8;
  // How long waiters go to the local fallback after Redis failed before the next one tries Redis.
  std::chrono::milliseconds retry_interval{1000};
  std::function<double()> uniform01;  // jitter of the next ask; empty: a PRNG
  // The order this replica's waiters are served in (and its fallback's).
  ReadOrder order;
};

// The read budget shared by every replica: one token bucket in a Redis hash, refilled by Redis's
// own clock inside one Lua script, so the sum of all replicas' reads keeps to `rate` whatever
// their clocks say. Waiters queue locally (in ReadOrder) and one script
// call at a time takes tokens for them; while Redis fails, a local TokenBucket of the
// replica's share serves them, and Redis is tried again every retry_interval.
//
// Every acquire goes to Redis, so fn never runs inline unless the budget is unlimited or the
// fallback has a token now. Thread-safe. The RedisClient and Scheduler must outlive it; destroy
// it after the WatchHub that uses it. Waiters still queued at destruction never run.
class RedisReadBudget final : public ReadBudget {
 public:
  RedisReadBudget(RedisClient& redis, Scheduler& scheduler, RedisReadBudgetConfig config);
  ~RedisReadBudget() override;
  RedisReadBudget(const RedisReadBudget&) = delete;
  RedisReadBudget& operator=(const RedisReadBudget&) = delete;

  Ticket acquire(std::function<void()> fn, ReadRank rank = {}) override;
  void rerank(Ticket ticket, ReadRank rank) override;

  // Whether the last attempt to take tokens used Redis (true until one fails); false while the
  // local fallback serves the waiters.
  bool shared() const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
