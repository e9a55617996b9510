#include "core/replica/redis_read_budget.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tests/core/redis_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace jobgw::core {
namespace {

using jobgw::testing::RedisServer;
using jobgw::testing::wait_until;
using std::chrono::milliseconds;

// Grants of every replica by wall-clock second, as JOB would count the reads.
struct Tally {
  std::mutex mu;
  std::map<std::int64_t, int> per_second;

  void add() {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
    std::lock_guard<std::mutex> lock(mu);
    ++per_second[s];
  }
};

// A replica's pollers: keeps `depth` waiters queued, each acquiring again once served, far
// more than the budget lets through.
class Load : public std::enable_shared_from_this<Load> {
 public:
  Load(ReadBudget& budget, Tally& tally) : budget_(budget), tally_(tally) {}

  void start(int depth) {
    for (int i = 0; i < depth; ++i) enqueue();
  }
  // After it returns no waiter records or acquires again, so the budget may be destroyed.
  void stop() {
    std::lock_guard<std::recursive_mutex> lock(gate_);
    running_ = false;
  }
  int served() const { return served_.load(); }

 private:
  void enqueue() {
    auto self = shared_from_this();
    budget_.acquire([self] { self->on_served(); });
  }
  void on_served() {
    // Recursive: the fallback may run a waiter inline from acquire().
    std::lock_guard<std::recursive_mutex> lock(gate_);
    if (!running_) return;
    ++served_;
    tally_.add();
    enqueue();
  }

  ReadBudget& budget_;
  Tally& tally_;
  std::recursive_mutex gate_;
  bool running_ = true;
  std::atomic<int> served_{0};
};

// One replica: its own Redis connection and budget, on the shared io_context.
struct Replica {
  Replica(RedisIo& io, const std::string& url, RedisReadBudgetConfig config) : scheduler(io.io()) {
    redis = std::move(RedisClient::create(io.io(), RedisIo::config_for(url)).value());
    budget = std::make_unique<RedisReadBudget>(*redis, scheduler, std::move(config));
  }

  AsioScheduler scheduler;
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<RedisReadBudget> budget;
};

RedisReadBudgetConfig budget_config(double rate, double burst, std::size_t fallback_replicas = 1) {
  RedisReadBudgetConfig c;
  c.key = "t:budget";
  c.rate = rate;
  c.burst = burst;
  c.fallback_replicas = fallback_replicas;
  return c;
}

TEST(RedisReadBudgetTest, ThreeReplicasShareOneBudgetPerWallClockSecondAndEachGetsItsShare) {
  RedisServer redis;
  RedisIo io;
  constexpr double kRate = 50;
  constexpr double kBurst = 2.5;
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(std::make_unique<Replica>(io, redis.url(), budget_config(kRate, kBurst)));
  }
  Tally tally;
  std::vector<std::shared_ptr<Load>> loads;
  for (auto& r : replicas) loads.push_back(std::make_shared<Load>(*r->budget, tally));

  const auto start = std::chrono::steady_clock::now();
  for (auto& l : loads) l->start(40);
  std::this_thread::sleep_for(milliseconds(3000));
  for (auto& l : loads) l->stop();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int total = 0;
  for (auto& l : loads) total += l->served();
  {
    std::lock_guard<std::mutex> lock(tally.mu);
    for (const auto& [second, n] : tally.per_second) {
      EXPECT_LE(n, kRate + kBurst) << "wall-clock second " << second;
    }
  }
  EXPECT_GE(total, 0.8 * kRate * seconds) << "over " << seconds << " s";
  EXPECT_LE(total, 1.05 * kRate * seconds + kBurst) << "over " << seconds << " s";
  for (std::size_t i = 0; i < loads.size(); ++i) {
    EXPECT_GE(loads[i]->served(), 0.15 * total) << "replica " << i << " of " << total;
    EXPECT_TRUE(replicas[i]->budget->shared());
  }
  replicas.clear();
}

TEST(RedisReadBudgetTest, PriorityWaitersGoBeforeEarlierOthersAndTheKeyExpires) {
  RedisServer redis;
  RedisIo io;
  // A token every 100 ms: the waiters below all queue while the first call is answered.
  Replica replica(io, redis.url(), budget_config(10, 1));

  std::atomic<bool> warm{false};
  replica.budget->acquire([&warm] { warm = true; });
  ASSERT_TRUE(wait_until([&] { return warm.load(); }, milliseconds(5000)));

  std::mutex mu;
  std::vector<std::string> order;
  auto record = [&mu, &order](std::string name) {
    return [&mu, &order, name] {
      std::lock_guard<std::mutex> lock(mu);
      order.push_back(name);
    };
  };
  ReadRank signal;
  signal.kind = ReadRank::Kind::kSignal;
  for (const char* name : {"n1", "n2", "n3"}) replica.budget->acquire(record(name));
  replica.budget->acquire(record("p1"), signal);
  replica.budget->acquire(record("n4"));
  replica.budget->acquire(record("p2"), signal);

  ASSERT_TRUE(wait_until(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return order.size() == 6;
      },
      milliseconds(5000)));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_EQ(order, (std::vector<std::string>{"p1", "p2", "n1", "n2", "n3", "n4"}));
  }
  EXPECT_TRUE(replica.budget->shared());

  // An idle deployment leaves nothing behind.
  const std::string pttl = redis.command({"PTTL", "t:budget"});
  EXPECT_GT(std::stoll(pttl), 0) << pttl;
  EXPECT_LE(std::stoll(pttl), 2000) << pttl;
}

TEST(RedisReadBudgetTest, RedisDownFallsBackToTheReplicaShareAndComesBack) {
  RedisServer redis;
  RedisIo io;
  auto config = budget_config(50, 2.5, 3);
  config.retry_interval = milliseconds(500);
  Replica replica(io, redis.url(), config);
  Tally tally;
  auto load = std::make_shared<Load>(*replica.budget, tally);
  load->start(40);

  ASSERT_TRUE(wait_until([&] { return load->served() >= 10; }, milliseconds(5000)));
  EXPECT_TRUE(replica.budget->shared());

  redis.kill();
  ASSERT_TRUE(wait_until([&] { return !replica.budget->shared(); }, milliseconds(3000)));
  const int before = load->served();
  std::this_thread::sleep_for(milliseconds(2000));
  const int fallback = load->served() - before;
  // 2 s at 50 / 3 per second: about 34.
  EXPECT_GE(fallback, 20);
  EXPECT_LE(fallback, 45);
  EXPECT_FALSE(replica.budget->shared());

  redis.restart();
  ASSERT_TRUE(wait_until([&] { return replica.budget->shared(); }, milliseconds(5000)));
  const int back = load->served();
  EXPECT_TRUE(wait_until([&] { return load->served() >= back + 10; }, milliseconds(3000)));
  EXPECT_EQ(redis.command({"EXISTS", "t:budget"}), "1");
  load->stop();
}

TEST(RedisReadBudgetTest, UnlimitedRunsInlineAndNeverAsksRedis) {
  RedisServer redis;
  RedisIo io;
  Replica replica(io, redis.url(), budget_config(0, 0));
  int ran = 0;
  for (int i = 0; i < 100; ++i) replica.budget->acquire([&ran] { ++ran; });
  EXPECT_EQ(ran, 100);
  EXPECT_EQ(redis.command({"EXISTS", "t:budget"}), "0");
}

}  // namespace
}  // namespace jobgw::core
