// RedisWatchFeed against a real Redis, with scripted JOB reads: one replica's two hubs, the
// registry and lease, the log the front hub is fed from, and registration when Redis is away.
#include "core/replica/redis_watch_feed.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/core/redis_test_support.h"
#include "tests/core/watch_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace jobgw::core {
namespace {

using jobgw::testing::RedisServer;
using jobgw::testing::wait_until;
using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};
constexpr std::int64_t kJob = 10001;
const std::string kLease = "t:job:{biz:1:10001}:lease";

// One replica: a poller hub reading scripted JOB answers, a front hub fed from Redis.
struct Replica {
  Replica(RedisIo& io, const std::string& url)
      : scheduler(io.io()),
        source(scheduler),
        poller(scheduler, source, hub_config()),
        front(scheduler, source, hub_config()) {
    redis = std::move(RedisClient::create(io.io(), RedisIo::config_for(url)).value());
    RedisWatchFeedConfig config;
    config.prefix = "t";
    config.replica_id = "r1";
    config.retry_every = milliseconds(200);
    feed = std::move(RedisWatchFeed::create(io.io(), *redis, RedisIo::config_for(url), scheduler,
                                            front, poller, config)
                         .value());
    front.set_feed(feed.get());
    feed->start();
  }
  ~Replica() {
    feed->stop();
    Error reason = Error::internal("test over");
    front.shutdown(reason);
    poller.shutdown(reason);
  }
  static WatchHubConfig hub_config() {
    WatchHubConfig c;
    c.poll_floor = milliseconds(50);
    c.poll_ceiling = milliseconds(50);
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    return c;
  }
  AsioScheduler scheduler;
  ScriptedSource source;
  WatchHub poller;
  WatchHub front;
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<RedisWatchFeed> feed;
};

TEST(RedisWatchFeedTest, ASubmittedJobIsOwnedAndItsChangesReachTheFrontHubThroughRedis) {
  RedisServer redis;
  RedisIo io;
  Replica r(io, redis.url());
  r.source.set(kJob, job_state(2, {7}));
  r.front.watch(kScope, kJob);
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"GET", kLease}) == "r1#1";
      },
      milliseconds(5000)));
  EXPECT_EQ(redis.command({"ZSCORE", "t:jobs", "biz:1:10001"}).empty(), false);

  Collector c(r.front.subscribe(kScope, kJob));
  ASSERT_TRUE(wait_until([&] { return !c.events().empty(); }, milliseconds(5000)));
  EXPECT_EQ(c.events()[0].kind, WatchEventKind::kSnapshot);
  r.source.set(kJob, job_state(3, {9}, /*finished=*/true));
  ASSERT_TRUE(wait_until([&] { return c.ended(); }, milliseconds(5000)));
  const auto events = c.events();
  EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
  for (std::size_t i = 1; i < events.size(); ++i) EXPECT_EQ(events[i].seq, events[i - 1].seq + 1);
  // The front hub never read JOB; only the poller did.
  EXPECT_EQ(r.front.stats().reads, 0u);
  EXPECT_GT(r.poller.stats().reads, 0u);
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"EXISTS", kLease}) == "0";
      },
      milliseconds(5000)));
}

TEST(RedisWatchFeedTest, AJobSubmittedWhileRedisIsAwayIsRegisteredWhenItAnswers) {
  RedisServer redis;
  RedisIo io;
  Replica r(io, redis.url());
  r.source.set(kJob, job_state(2, {7}));
  ASSERT_TRUE(RedisIo::run(*r.redis, {"PING"}).ok());
  redis.kill();
  ASSERT_TRUE(wait_until([&] { return !r.redis->up(); }, milliseconds(5000)));
  r.front.watch(kScope, kJob);
  std::this_thread::sleep_for(milliseconds(300));
  redis.restart();
  // Retried a few times, so a short outage does not leave the job to nobody.
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"GET", kLease}) == "r1#1";
      },
      milliseconds(5000)));
}

}  // namespace
}  // namespace jobgw::core
