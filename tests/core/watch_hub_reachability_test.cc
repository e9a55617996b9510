// What streams hear while JOB is unreachable: a notice that is not a change, the notice again for
// a stream that opens during the outage, a notice when JOB is back, and a job JOB no longer knows
// after an outage ending as lost rather than finished or silently gone.
#include <gtest/gtest.h>

#include "core/watch/watch_hub.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};
constexpr std::int64_t kJob = 100;

struct EndRecorder : WatchObserver {
  void on_watch_ended(const char* reason) override { reasons.emplace_back(reason); }
  std::vector<std::string> reasons;
};

struct Fixture {
  Fixture() : source(scheduler), hub(scheduler, source, config(), &observer, [] { return 0.5; }) {}
  static WatchHubConfig config() {
    WatchHubConfig c;
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    c.lost_grace = milliseconds(30000);
    return c;
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  EndRecorder observer;
  WatchHub hub;
};

Reachability down(std::int64_t since) {
  Reachability r;
  r.known = true;
  r.up = false;
  r.unreachable_since_ms = since;
  r.last_error = "connection refused";
  return r;
}

Reachability up(std::int64_t since) {
  Reachability r;
  r.known = true;
  r.up = true;
  r.reachable_since_ms = since;
  return r;
}

Error refused() {
  Error e;
  e.kind = ErrorKind::kTransport;
  e.message = "connection refused";
  return e;
}

TEST(WatchHubReachabilityTest, StreamsHearTheOutageAndTheRecoveryAsNotices) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7, 7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  ASSERT_EQ(testing::event_kinds(c), std::vector<WatchEventKind>{WatchEventKind::kSnapshot});
  const std::uint64_t seq = c.events().back().seq;

  f.source.fail(kJob, refused());
  f.scheduler.advance(milliseconds(6000));
  f.hub.set_job_reachability(down(1234));
  f.hub.set_job_reachability(down(1234));  // told twice, sent once
  ASSERT_EQ(c.events().size(), 2u);
  const WatchEvent notice = c.events().back();
  EXPECT_EQ(notice.kind, WatchEventKind::kJobUnreachable);
  EXPECT_EQ(notice.seq, seq) << "a notice carries the latest change's seq";
  EXPECT_EQ(notice.unreachable_since_ms, 1234);
  EXPECT_EQ(notice.last_error, "connection refused");
  EXPECT_EQ(notice.snapshot, nullptr);

  // JOB is back and the job moved on meanwhile: REACHABLE, then the change, read at once.
  f.source.set(kJob, job_state(2, {9, 7}));
  const std::size_t reads = f.source.reads(kJob);
  f.hub.set_job_reachability(up(5678));
  f.scheduler.run_due();
  EXPECT_GT(f.source.reads(kJob), reads) << "a failing job is read at once on recovery";
  const auto events = c.events();
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events[2].kind, WatchEventKind::kJobReachable);
  EXPECT_EQ(events[2].unreachable_since_ms, 1234);
  EXPECT_EQ(events[2].reachable_since_ms, 5678);
  EXPECT_EQ(events[3].kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(events[3].seq, seq + 1) << "notices take no seq of their own";
  EXPECT_FALSE(c.ended());
}

TEST(WatchHubReachabilityTest, AStreamOpenedDuringTheOutageIsToldAtOnce) {
  Fixture f;
  f.source.fail(kJob, refused());
  f.hub.set_job_reachability(down(1000));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  ASSERT_EQ(testing::event_kinds(c), std::vector<WatchEventKind>{WatchEventKind::kJobUnreachable})
      << "no SNAPSHOT can be read yet, but the caller learns why";
  f.source.set(kJob, job_state(2, {7}));
  f.hub.set_job_reachability(up(2000));
  f.scheduler.run_due();
  EXPECT_EQ(testing::event_kinds(c), (std::vector<WatchEventKind>{WatchEventKind::kJobUnreachable,
                                                                  WatchEventKind::kJobReachable,
                                                                  WatchEventKind::kSnapshot}));
}

TEST(WatchHubReachabilityTest, NoticesAreNotReplayedOnResume) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector first(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.hub.set_job_reachability(down(1000));
  f.hub.set_job_reachability(up(2000));
  const std::uint64_t last = first.events().back().seq;
  Collector resumed(f.hub.subscribe(kScope, kJob, last));
  f.scheduler.run_due();
  for (const auto& e : resumed.events()) EXPECT_FALSE(e.is_notice());
}

TEST(WatchHubReachabilityTest, AJobUnknownAfterAnOutageEndsAsLostAfterTheGrace) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.source.fail(kJob, refused());
  f.scheduler.advance(milliseconds(5000));
  // JOB comes back without the job (restored from an older backup).
  f.source.recover(kJob);
  f.source.fail(kJob, [] {
    Error e;
    e.kind = ErrorKind::kJob;
    e.job_code = 1244006;
    e.message = "Job instance 100 does not exist";
    return e;
  }());
  f.scheduler.advance(milliseconds(20000));
  EXPECT_FALSE(c.ended()) << "within the grace JOB may still be catching up";
  // The grace, plus one error backoff (at most 15 s) for the read that sees it over.
  f.scheduler.advance(milliseconds(40000));
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kNotFound);
  EXPECT_NE(c.end_error()->message.find("outcome is unknown"), std::string::npos)
      << c.end_error()->message;
  for (const auto& e : c.events()) EXPECT_NE(e.kind, WatchEventKind::kFinished);
  EXPECT_EQ(f.observer.reasons, std::vector<std::string>{"job_lost"});
}

TEST(WatchHubReachabilityTest, AJobComingBackWithinTheGraceGoesOn) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.hub.set_job_reachability(down(1000));
  Error gone;
  gone.kind = ErrorKind::kJob;
  gone.job_code = 1244006;
  f.source.fail(kJob, gone);
  f.hub.set_job_reachability(up(2000));
  f.scheduler.advance(milliseconds(10000));
  EXPECT_FALSE(c.ended());
  f.source.set(kJob, job_state(3, {9}, /*finished=*/true));
  f.scheduler.advance(milliseconds(20000));
  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
  EXPECT_TRUE(f.observer.reasons.empty());
}

TEST(WatchHubReachabilityTest, WithoutAnOutageUnknownEndsAtOnce) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  Error gone;
  gone.kind = ErrorKind::kJob;
  gone.job_code = 1244006;
  f.source.fail(kJob, gone);
  f.scheduler.advance(milliseconds(40000));
  ASSERT_TRUE(c.ended());
  EXPECT_EQ(f.observer.reasons, std::vector<std::string>{"job_error"});
}

TEST(WatchHubReachabilityTest, ASlowStreamKeepsTheLatestNoticeWhenItsQueueCollapses) {
  ManualScheduler scheduler;
  ScriptedSource source(scheduler);
  WatchHubConfig config = Fixture::config();
  config.subscriber_queue_limit = 2;
  WatchHub hub(scheduler, source, config, nullptr, [] { return 0.5; });
  source.set(kJob, job_state(2, {7, 7, 7}));
  Collector slow(hub.subscribe(kScope, kJob), /*eager=*/false);
  scheduler.run_due();
  hub.set_job_reachability(down(1000));
  // Changes pile up behind the notice until the queue collapses.
  source.set(kJob, job_state(2, {9, 7, 7}));
  scheduler.advance(milliseconds(300));
  source.set(kJob, job_state(2, {9, 9, 7}));
  scheduler.advance(milliseconds(300));
  for (int i = 0; i < 5; ++i) slow.pull_one();
  const auto events = slow.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(events[1].kind, WatchEventKind::kJobUnreachable) << "JOB is still unreachable";
  EXPECT_EQ(events[1].seq, events[0].seq);
}

}  // namespace
}  // namespace jobgw::core
