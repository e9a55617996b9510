// Redis trouble under replicas: killed (with and without its data), restarted, paused. Streams
// still end FINISHED, jobs nobody watches are still polled to their end, nothing runs twice.
#include <gtest/gtest.h>

#include <cstdio>
#include <functional>
#include <future>
#include <thread>
#include <vector>

#include "tests/integration/gateway_stack.h"
#include "tests/integration/metrics_text.h"
#include "tests/support/wait.h"

namespace jobgw::testing {
namespace {

using namespace std::chrono_literals;

// Three replicas; each submits one watched job (watched on the two other replicas) and one
// job nobody watches; `fault` acts on Redis a second in.
void survives(const std::function<void(RedisServer&)>& fault, bool persistent) {
  StackOptions options = replicas(3);
  options.redis_options.appendonly = persistent;
  GatewayStack stack(options);
  std::vector<std::int64_t> watched;
  std::vector<std::int64_t> unwatched;
  for (int i = 0; i < 3; ++i) {
    Submitted w = execute(stack.node(i).stub(), script_request("sleep 4; echo w", {101}));
    Submitted u = execute(stack.node(i).stub(), script_request("sleep 4; echo u", {102}));
    ASSERT_TRUE(w.status.ok() && u.status.ok()) << w.status.error_message();
    watched.push_back(w.ref.job_instance_id());
    unwatched.push_back(u.ref.job_instance_id());
  }
  std::vector<std::future<WatchResult>> streams;
  for (int i = 0; i < 3; ++i) {
    for (int other : {(i + 1) % 3, (i + 2) % 3}) {
      JobgwNode& node = stack.node(other);
      const std::int64_t id = watched[static_cast<std::size_t>(i)];
      streams.push_back(std::async(std::launch::async,
                                   [&node, id] { return watch_to_end(node.stub(), id, 0, 60s); }));
    }
  }
  std::this_thread::sleep_for(1s);
  fault(*stack.redis());
  for (auto& s : streams) {
    WatchResult r = s.get();
    ASSERT_TRUE(r.status.ok()) << r.status.error_message() << stack.logs();
    ASSERT_FALSE(r.events.empty());
    EXPECT_EQ(r.events.back().kind(), v1::EVENT_KIND_FINISHED);
  }
  // The jobs nobody watched were polled to their end by some replica: a late watch on any
  // replica gets FINISHED, without waiting on a poll of its own.
  for (std::int64_t id : unwatched) {
    ASSERT_TRUE(wait_until(
        [&] {
          double finished = 0;
          for (int i = 0; i < 3; ++i) {
            finished += metric_sum(scrape_metrics(stack.node(i).metrics_port()),
                                   "jobgw_jobs_finished_total");
          }
          return finished >= 6;
        },
        30s))
        << stack.logs();
    WatchResult late = watch_to_end(stack.node(0).stub(), id, 0, 30s);
    ASSERT_TRUE(late.status.ok()) << late.status.error_message();
    EXPECT_EQ(late.events.back().kind(), v1::EVENT_KIND_FINISHED);
  }
  EXPECT_EQ(submits_reaching_job(stack, "fast_execute_script"), 6);
  // The fault was seen, and what each replica did about it, for the record.
  const std::string logs = stack.logs();
  auto count = [&logs](const std::string& marker) {
    std::size_t n = 0;
    for (auto at = logs.find(marker); at != std::string::npos; at = logs.find(marker, at + 1)) ++n;
    return n;
  };
  EXPECT_GT(count("event=redis_down"), 0u);
  std::printf("redis_down=%zu local_poll=%zu shared_poll_resumed=%zu lease_lost=%zu adopted=%zu\n",
              count("event=redis_down"), count("event=local_poll"),
              count("event=shared_poll_resumed"), count("event=lease_lost"),
              count("event=job_adopted"));
}

TEST(ReplicaRedisFaults, RedisKilledAndRestartedEmpty) {
  survives(
      [](RedisServer& redis) {
        redis.kill();
        std::this_thread::sleep_for(1s);
        redis.restart();
      },
      /*persistent=*/false);
}

TEST(ReplicaRedisFaults, RedisKilledAndRestartedWithItsData) {
  survives(
      [](RedisServer& redis) {
        redis.kill();
        std::this_thread::sleep_for(1s);
        redis.restart();
      },
      /*persistent=*/true);
}

TEST(ReplicaRedisFaults, RedisPausedForSeconds) {
  survives(
      [](RedisServer& redis) {
        redis.pause();
        std::this_thread::sleep_for(3s);
        redis.resume();
      },
      /*persistent=*/false);
}

}  // namespace
}  // namespace jobgw::testing
