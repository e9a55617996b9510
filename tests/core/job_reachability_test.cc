// JobReachability on the manual clock: what counts as JOB answering, when an outage is declared,
// when probes go out, and what listeners hear.
#include "core/job/job_reachability.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "tests/support/manual_scheduler.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

AttemptRecord answered(int status) {
  AttemptRecord r;
  r.label = "get_job_instance_status";
  r.http_status = status;
  return r;
}

AttemptRecord refused() {
  AttemptRecord r;
  r.label = "get_job_instance_status";
  r.error = ErrorKind::kTransport;
  r.transport_cause = "connection refused";
  return r;
}

struct Fixture {
  Fixture() {
    JobReachabilityConfig config;
    config.unreachable_after = milliseconds(5000);
    config.probe_interval = milliseconds(10000);
    config.probe_interval_failing = milliseconds(1000);
    reach = JobReachability::create(scheduler, config, [this](std::function<void()> done) {
      probes++;
      if (hold_probes) {
        held.push_back(std::move(done));
      } else {
        done();
      }
    });
    reach->add_listener([this](const Reachability& r) { heard.push_back(r); });
  }
  ManualScheduler scheduler;
  std::shared_ptr<JobReachability> reach;
  int probes = 0;
  bool hold_probes = false;
  std::vector<std::function<void()>> held;
  std::vector<Reachability> heard;
};

TEST(JobReachabilityTest, AnswersBelow500ShowJobThere) {
  EXPECT_EQ(JobReachability::answered(answered(200)), true);
  EXPECT_EQ(JobReachability::answered(answered(404)), true);
  EXPECT_EQ(JobReachability::answered(answered(429)), true);
  EXPECT_EQ(JobReachability::answered(answered(503)), false);
  EXPECT_EQ(JobReachability::answered(refused()), false);
  AttemptRecord cancelled;
  cancelled.error = ErrorKind::kCancelled;
  EXPECT_EQ(JobReachability::answered(cancelled), std::nullopt);
}

TEST(JobReachabilityTest, FirstAnswerMakesItKnownAndUp) {
  Fixture f;
  EXPECT_FALSE(f.reach->state().known);
  f.reach->on_attempt(answered(200));
  ASSERT_EQ(f.heard.size(), 1u);
  EXPECT_TRUE(f.heard[0].known);
  EXPECT_TRUE(f.heard[0].up);
  f.reach->on_attempt(answered(200));
  EXPECT_EQ(f.heard.size(), 1u) << "only changes are announced";
}

TEST(JobReachabilityTest, DownOnlyAfterFailuresSpanUnreachableAfter) {
  Fixture f;
  f.reach->start();
  f.reach->on_attempt(answered(200));
  f.scheduler.advance(milliseconds(500));
  f.reach->on_attempt(refused());
  f.scheduler.advance(milliseconds(4000));
  f.reach->on_attempt(refused());
  EXPECT_TRUE(f.reach->state().up) << "4 s of failures is not yet an outage";
  // No more attempts: the periodic check declares it once 5 s have passed.
  f.scheduler.advance(milliseconds(1500));
  ASSERT_EQ(f.heard.size(), 2u);
  EXPECT_FALSE(f.heard[1].up);
  EXPECT_EQ(f.heard[1].last_error, "connection refused");
  EXPECT_EQ(f.heard[1].unreachable_since_ms, f.heard[0].reachable_since_ms + 500);
  f.reach->stop();
}

TEST(JobReachabilityTest, OneGoodAnswerEndsTheFailureSpan) {
  Fixture f;
  f.reach->on_attempt(answered(200));
  f.reach->on_attempt(refused());
  f.scheduler.advance(milliseconds(4000));
  f.reach->on_attempt(answered(200));
  f.scheduler.advance(milliseconds(4000));
  f.reach->on_attempt(answered(503));
  EXPECT_TRUE(f.reach->state().up) << "two short failure spans are not one long one";
  EXPECT_EQ(f.heard.size(), 1u);
}

TEST(JobReachabilityTest, RecoveryIsAnnouncedWithTheOutagesStart) {
  Fixture f;
  f.reach->on_attempt(answered(200));
  f.reach->on_attempt(answered(502));
  const std::int64_t began = f.scheduler.wall_ms();
  f.scheduler.advance(milliseconds(6000));
  f.reach->on_attempt(answered(502));
  ASSERT_EQ(f.heard.size(), 2u);
  EXPECT_EQ(f.heard[1].last_error, "HTTP 502");
  f.scheduler.advance(milliseconds(3000));
  f.reach->on_attempt(answered(200));
  ASSERT_EQ(f.heard.size(), 3u);
  EXPECT_TRUE(f.heard[2].up);
  EXPECT_EQ(f.heard[2].unreachable_since_ms, began);
  EXPECT_EQ(f.heard[2].reachable_since_ms, began + 9000);
}

TEST(JobReachabilityTest, ProbesOnlyWhenJobWasNotAskedForAWhile) {
  Fixture f;
  f.reach->start();
  EXPECT_EQ(f.probes, 1) << "a first probe at start";
  f.reach->on_attempt(answered(200));
  // Busy: an attempt every 2 s, so no probe is needed.
  for (int i = 0; i < 10; ++i) {
    f.scheduler.advance(milliseconds(2000));
    f.reach->on_attempt(answered(200));
  }
  EXPECT_EQ(f.probes, 1);
  // Idle: one probe per probe_interval.
  f.scheduler.advance(milliseconds(10000));
  EXPECT_EQ(f.probes, 2);
  f.reach->on_attempt(answered(200));
  f.scheduler.advance(milliseconds(9000));
  EXPECT_EQ(f.probes, 2);
  f.scheduler.advance(milliseconds(1000));
  EXPECT_EQ(f.probes, 3);
  f.reach->stop();
}

TEST(JobReachabilityTest, ProbesEverySecondWhileFailingAndStopsWhenStopped) {
  Fixture f;
  f.reach->start();
  f.reach->on_attempt(refused());
  const int before = f.probes;
  f.scheduler.advance(milliseconds(3000));
  EXPECT_EQ(f.probes, before + 3);
  f.reach->stop();
  f.scheduler.advance(milliseconds(10000));
  EXPECT_EQ(f.probes, before + 3);
  f.reach->on_attempt(refused());
  EXPECT_TRUE(f.heard.empty()) << "nothing is announced after stop";
}

TEST(JobReachabilityTest, AProbeStillOutIsNotSentAgain) {
  Fixture f;
  f.hold_probes = true;
  f.reach->start();
  f.reach->on_attempt(refused());
  // JOB hangs: the first probe never completes, so no second one piles up behind it.
  f.scheduler.advance(milliseconds(5000));
  EXPECT_EQ(f.probes, 1);
  ASSERT_EQ(f.held.size(), 1u);
  f.held.front()();
  f.scheduler.advance(milliseconds(1000));
  EXPECT_EQ(f.probes, 2) << "once it completed, probing goes on";
  f.reach->stop();
}

TEST(JobReachabilityTest, NeverAnsweringJobBecomesKnownDown) {
  Fixture f;
  f.reach->start();
  f.reach->on_attempt(refused());
  f.scheduler.advance(milliseconds(5000));
  ASSERT_EQ(f.heard.size(), 1u);
  EXPECT_TRUE(f.heard[0].known);
  EXPECT_FALSE(f.heard[0].up);
  f.reach->stop();
}

}  // namespace
}  // namespace jobgw::core
