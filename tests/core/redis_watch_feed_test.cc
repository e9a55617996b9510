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
  Replica(RedisIo& io, const std::string& url, const std::string& id = "r1")
      : scheduler(io.io()),
        source(scheduler),
        poller(scheduler, source, hub_config()),
        front(scheduler, source, hub_config()) {
    redis = std::move(RedisClient::create(io.io(), RedisIo::config_for(url)).value());
    RedisWatchFeedConfig config;
    config.prefix = "t";
    config.replica_id = id;
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

std::vector<std::uint64_t> seqs_of(const std::vector<WatchEvent>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

// Both replicas' JOB answers the same (whichever polls reads the same job).
void set_both(Replica& a, Replica& b, const JobSnapshot& s) {
  a.source.set(kJob, s);
  b.source.set(kJob, s);
}

// Two replicas on one Redis.
struct TwoReplicas {
  RedisServer redis;
  RedisIo io;
  Replica a{io, redis.url(), "r1"};
  Replica b{io, redis.url(), "r2"};
};

// A job owned by `a` that `b`'s streams watched to an unsuccessful end; returns its FINISHED seq.
std::uint64_t fail_job(RedisServer& redis, Replica& a, Replica& b) {
  // Both subscribed: a replica whose subscriber is not up yet polls its streams' jobs itself.
  EXPECT_TRUE(wait_until(
      [&] {
        return redis.command({"PUBSUB", "NUMSUB", "t:poke"}).find("2") != std::string::npos;
      },
      milliseconds(5000)));
  set_both(a, b, job_state(2, {7}));
  a.front.watch(kScope, kJob);
  EXPECT_TRUE(wait_until(
      [&] {
        return redis.command({"GET", kLease}) == "r1#1";
      },
      milliseconds(5000)));
  Collector on_b(b.front.subscribe(kScope, kJob));
  EXPECT_TRUE(wait_until([&] { return !on_b.events().empty(); }, milliseconds(5000)));
  set_both(a, b, job_state(4, {4}, /*finished=*/true));
  EXPECT_TRUE(wait_until([&] { return on_b.ended(); }, milliseconds(5000)));
  const auto events = on_b.events();
  EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
  return events.back().seq;
}

// A step retried after the job's end, through replica b: b's streams continue at once, a's when
// the shared log tells it, and whoever polls numbers on from the first end.
TEST(RedisWatchFeedTest, AJobReopenedAfterItsEndIsPolledAgainAndEveryReplicasStreamsContinue) {
  TwoReplicas two;
  RedisServer& redis = two.redis;  // lambdas below capture these (not structured bindings)
  Replica &a = two.a, &b = two.b;
  const std::uint64_t ended = fail_job(redis, a, b);
  const std::string state = "t:job:{biz:1:10001}:state";
  EXPECT_EQ(redis.command({"HGET", state, "finished"}), "1");

  set_both(a, b, job_state(2, {7}));
  b.front.reopen(kScope, kJob);
  Collector on_b(b.front.subscribe(kScope, kJob, ended));
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"HGET", state, "finished"}).empty();
      },
      milliseconds(5000)));
  // A replica that never watched it loads the log, which no longer ends at `ended`.
  Collector on_a(a.front.subscribe(kScope, kJob, ended));
  ASSERT_TRUE(wait_until([&] { return on_a.events().size() + on_b.events().size() >= 2; },
                         milliseconds(5000)));
  set_both(a, b, job_state(3, {9}, /*finished=*/true));
  ASSERT_TRUE(wait_until([&] { return on_a.ended() && on_b.ended(); }, milliseconds(5000)));
  for (const Collector* c : {&on_a, &on_b}) {
    const auto events = c->events();
    ASSERT_GE(events.size(), 2u);
    EXPECT_EQ(events.front().seq, ended + 1) << "the events continue the first end's seq";
    EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
    EXPECT_EQ(events.back().snapshot->status, 3);
  }
  EXPECT_EQ(seqs_of(on_a.events()), seqs_of(on_b.events()));
  EXPECT_EQ(redis.command({"HGET", state, "finished"}), "1");
  EXPECT_EQ(a.front.stats().reads + b.front.stats().reads, 0u) << "front hubs never read JOB";
}

// A retry made in JOB itself: its callback lands on b, the owner a reads the job it saw fail,
// finds it running again, and reopens it for every replica.
TEST(RedisWatchFeedTest, ACallbackForAJobThatRanAgainReopensItOnEveryReplica) {
  TwoReplicas two;
  RedisServer& redis = two.redis;  // lambdas below capture these (not structured bindings)
  Replica &a = two.a, &b = two.b;
  const std::uint64_t ended = fail_job(redis, a, b);
  const std::size_t a_reads = a.source.reads(kJob);

  // A repeated callback for the same end changes nothing.
  b.front.callback_arrived(kJob);
  ASSERT_TRUE(wait_until([&] { return a.source.reads(kJob) > a_reads; }, milliseconds(5000)));
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_TRUE(b.front.cached(kScope, kJob, milliseconds(0)).has_value()) << "still finished";

  set_both(a, b, job_state(2, {7}));
  b.front.callback_arrived(kJob);
  // b's finished watch makes way once the reopen message arrives.
  ASSERT_TRUE(wait_until([&] { return !b.front.cached(kScope, kJob, milliseconds(0)); },
                         milliseconds(5000)));
  Collector on_b(b.front.subscribe(kScope, kJob, ended));
  set_both(a, b, job_state(3, {9}, /*finished=*/true));
  ASSERT_TRUE(wait_until([&] { return on_b.ended(); }, milliseconds(5000)));
  const auto events = on_b.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(events.back().snapshot->status, 3);
  EXPECT_GT(events.back().seq, ended);
  EXPECT_EQ(b.source.reads(kJob), 0u) << "only the owner reads";
}

}  // namespace
}  // namespace jobgw::core
