#include "core/replica/redis_submit_keys.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>

#include "core/submit/idempotent_submitter.h"
#include "core/submit/memory_submit_store.h"
#include "tests/core/redis_test_support.h"
#include "tests/support/redis_server.h"
#include "tests/support/wait.h"

namespace jobgw::core {
namespace {

using jobgw::testing::RedisServer;
using jobgw::testing::wait_until;
using std::chrono::milliseconds;

const Scope kScope{"biz", "1"};

// One replica's submit path: its own Redis connection, keys, local store and submitter.
struct Replica {
  Replica(RedisIo& io, const std::string& url, const std::string& id,
          milliseconds claim_ttl = milliseconds(3000))
      : scheduler(io.io()) {
    redis = std::move(RedisClient::create(io.io(), RedisIo::config_for(url)).value());
    RedisSubmitKeysConfig config;
    config.prefix = "t";
    config.replica_id = id;
    config.claim_ttl = claim_ttl;
    config.wait_step = milliseconds(20);
    keys = std::make_unique<RedisSubmitKeys>(*redis, scheduler, config);
    submitter =
        std::make_unique<IdempotentSubmitter>(store, scheduler, std::chrono::hours(1), keys.get());
  }

  AsioScheduler scheduler;
  std::unique_ptr<RedisClient> redis;
  std::unique_ptr<RedisSubmitKeys> keys;
  MemorySubmitStore store;
  std::unique_ptr<IdempotentSubmitter> submitter;
};

// A JOB that answers every submit after `delay` with the next job id, counting what it was asked.
struct FakeJob {
  explicit FakeJob(RedisIo& io) : scheduler(io.io()) {}
  IdempotentSubmitter::Send send(milliseconds delay = milliseconds(100)) {
    return [this, delay](IdempotentSubmitter::SendDone done) {
      const std::int64_t id = 1000 + ++asked;
      scheduler.after(delay, [done, id] {
        JobRef ref;
        ref.job_instance_id = id;
        done(ref);
      });
    };
  }
  AsioScheduler scheduler;
  std::atomic<int> asked{0};
};

struct Answer {
  std::promise<std::pair<Result<JobRef>, SubmitSource>> promise;
  std::future<std::pair<Result<JobRef>, SubmitSource>> future = promise.get_future();
  IdempotentSubmitter::Done done() {
    return [this](Result<JobRef> r, SubmitSource s) { promise.set_value({std::move(r), s}); };
  }
  std::pair<Result<JobRef>, SubmitSource> get() {
    EXPECT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return future.get();
  }
};

IdempotencyKey key(const std::string& request_id) { return {"svc", "biz:1", request_id}; }

TEST(RedisSubmitKeysTest, SameRequestIdOnThreeReplicasAtOnceReachesJobOnce) {
  RedisServer redis;
  RedisIo io;
  FakeJob job(io);
  std::vector<std::unique_ptr<Replica>> replicas;
  for (int i = 0; i < 3; ++i) {
    replicas.push_back(std::make_unique<Replica>(io, redis.url(), "r" + std::to_string(i)));
  }
  std::vector<std::unique_ptr<Answer>> answers;
  // Two submits per replica: one joins locally, the others wait on the claim in Redis.
  for (int round = 0; round < 2; ++round) {
    for (auto& r : replicas) {
      answers.push_back(std::make_unique<Answer>());
      r->submitter->submit(kScope, key("once"), "fp-1", job.send(), answers.back()->done());
    }
  }
  std::set<std::int64_t> ids;
  int from_job = 0;
  for (auto& a : answers) {
    auto [result, source] = a->get();
    ASSERT_TRUE(result.ok()) << result.error().message;
    ids.insert(result->job_instance_id);
    if (source == SubmitSource::kJob) ++from_job;
  }
  EXPECT_EQ(job.asked.load(), 1);
  EXPECT_EQ(from_job, 1);
  EXPECT_EQ(ids.size(), 1u);

  // Later, on any replica: the remembered answer, JOB not asked.
  Answer later;
  replicas[2]->submitter->submit(kScope, key("once"), "fp-1", job.send(), later.done());
  auto [result, source] = later.get();
  EXPECT_EQ(source, SubmitSource::kRemembered);
  EXPECT_EQ(result->job_instance_id, *ids.begin());
  EXPECT_EQ(job.asked.load(), 1);
}

TEST(RedisSubmitKeysTest, DifferentBodyIsAConflictInFlightAndAfterwards) {
  RedisServer redis;
  RedisIo io;
  FakeJob job(io);
  Replica a(io, redis.url(), "a");
  Replica b(io, redis.url(), "b");
  Answer first;
  a.submitter->submit(kScope, key("k"), "fp-1", job.send(milliseconds(300)), first.done());
  ASSERT_TRUE(wait_until([&] { return job.asked.load() == 1; }, milliseconds(5000)));
  Answer during;
  b.submitter->submit(kScope, key("k"), "fp-2", job.send(), during.done());
  auto [in_flight, s1] = during.get();
  ASSERT_FALSE(in_flight.ok());
  EXPECT_EQ(in_flight.error().kind, ErrorKind::kConflict);
  EXPECT_NE(in_flight.error().message.find("still in flight"), std::string::npos);
  ASSERT_TRUE(first.get().first.ok());
  Answer after;
  b.submitter->submit(kScope, key("k"), "fp-2", job.send(), after.done());
  auto [conflict, s2] = after.get();
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().kind, ErrorKind::kConflict);
  EXPECT_NE(conflict.error().message.find("job_instance_id 1001"), std::string::npos)
      << conflict.error().message;
  EXPECT_EQ(job.asked.load(), 1);
}

TEST(RedisSubmitKeysTest, FailedSubmitReleasesTheKeyForARetryAnywhere) {
  RedisServer redis;
  RedisIo io;
  Replica a(io, redis.url(), "a");
  Replica b(io, redis.url(), "b");
  std::atomic<int> asked{0};
  Answer failed;
  a.submitter->submit(
      kScope, key("retry"), "fp",
      [&](IdempotentSubmitter::SendDone done) {
        ++asked;
        Error e;
        e.kind = ErrorKind::kJob;
        e.message = "JOB said no";
        done(e);
      },
      failed.done());
  EXPECT_FALSE(failed.get().first.ok());
  FakeJob job(io);
  // The release reaches Redis right after the answer; a retry may briefly still see the claim.
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"EXISTS", a.keys->redis_key(key("retry"))}) == "0";
      },
      milliseconds(5000)));
  Answer retried;
  b.submitter->submit(kScope, key("retry"), "fp", job.send(), retried.done());
  auto [result, source] = retried.get();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(source, SubmitSource::kJob);
  EXPECT_EQ(job.asked.load(), 1);
}

TEST(RedisSubmitKeysTest, RedisDownRefusesKeyedSubmitsOnlyAndNamesRedis) {
  RedisServer redis;
  RedisIo io;
  FakeJob job(io);
  Replica a(io, redis.url(), "a");
  ASSERT_TRUE(RedisIo::run(*a.redis, {"PING"}).ok());
  redis.kill();
  ASSERT_TRUE(wait_until([&] { return !a.redis->up(); }, milliseconds(5000)));
  Answer keyed;
  a.submitter->submit(kScope, key("x"), "fp", job.send(), keyed.done());
  auto [refused, s1] = keyed.get();
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kTransport);
  EXPECT_NE(refused.error().message.find("state.redis_url"), std::string::npos)
      << refused.error().message;
  EXPECT_NE(refused.error().message.find("request_id"), std::string::npos);
  Answer unkeyed;
  a.submitter->submit(kScope, std::nullopt, "fp", job.send(), unkeyed.done());
  EXPECT_TRUE(unkeyed.get().first.ok());
  EXPECT_EQ(job.asked.load(), 1);
}

TEST(RedisSubmitKeysTest, AClaimNobodySettlesTimesOutDuplicatesThenExpires) {
  RedisServer redis;
  RedisIo io;
  FakeJob job(io);
  Replica b(io, redis.url(), "b", milliseconds(600));
  // A replica that claimed and died before settling: its claim is all that is left. b gives up
  // waiting after its own claim TTL (600 ms), before the orphan expires (1500 ms).
  Replica dead(io, redis.url(), "dead", milliseconds(1500));
  std::promise<void> claimed;
  dead.keys->claim(key("orphan"), "fp", [&](Result<SharedSubmitKeys::Claim> c) {
    EXPECT_TRUE(c.ok());
    claimed.set_value();
  });
  claimed.get_future().wait();
  Answer waited;
  b.submitter->submit(kScope, key("orphan"), "fp", job.send(), waited.done());
  auto [timed_out, s] = waited.get();
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().kind, ErrorKind::kTimeout);
  EXPECT_NE(timed_out.error().message.find("replica dead"), std::string::npos)
      << timed_out.error().message;
  EXPECT_EQ(job.asked.load(), 0);
  ASSERT_TRUE(wait_until(
      [&] {
        return redis.command({"EXISTS", b.keys->redis_key(key("orphan"))}) == "0";
      },
      milliseconds(5000)));
  Answer retried;
  b.submitter->submit(kScope, key("orphan"), "fp", job.send(), retried.done());
  EXPECT_TRUE(retried.get().first.ok());
  EXPECT_EQ(job.asked.load(), 1);
}

}  // namespace
}  // namespace jobgw::core
