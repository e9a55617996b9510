// Demand-aware polling: what a progress-only subscriber hears, when a job goes to the slow safety
// schedule and back, missed callbacks, and the bound on how long a read waits under a spent
// budget.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "core/watch/watch_hub.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};

struct MissCounter : WatchObserver {
  void on_callback_missed() override { missed++; }
  int missed = 0;
};

WatchHubConfig demand_config() {
  WatchHubConfig c;
  c.reads_per_second = 1000;
  c.read_burst = 1000;
  c.poll_floor = milliseconds(200);
  c.poll_ceiling = milliseconds(5000);
  c.poll_young_for = milliseconds(5000);
  c.callback_safety = milliseconds(30000);
  c.callback_grace = milliseconds(10000);
  return c;
}

struct Fixture {
  explicit Fixture(WatchHubConfig c = demand_config())
      : source(scheduler), hub(scheduler, source, c, &observer, [] { return 0.5; }) {}
  // A job submitted with the callback finishes and its callback arrives: callbacks reach jobgw.
  void prove_callbacks(std::int64_t job) {
    source.set(job, job_state(2, {7}));
    hub.watch(kScope, job, /*callback_wired=*/true);
    scheduler.run_due();
    source.set(job, job_state(3, {9}, true));
    ASSERT_TRUE(hub.callback_arrived(job));
    scheduler.run_due();
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  MissCounter observer;
  WatchHub hub;
};

TEST(WatchHubDemandTest, AProgressSubscriberHearsStepsAndTheEndButNoHostChanges) {
  Fixture f;
  f.source.set(100, job_state(2, {7, 7}, false, 2));
  Collector progress(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kProgress));
  Collector hosts(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kHosts));
  f.scheduler.run_due();
  f.source.set(100, job_state(2, {9, 7}, false, 2));
  f.scheduler.advance(milliseconds(300));
  f.source.set(100, job_state(3, {9, 9}, true, 3));
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(progress.ended());
  ASSERT_TRUE(hosts.ended());
  EXPECT_EQ(testing::event_kinds(hosts),
            (std::vector<WatchEventKind>{WatchEventKind::kSnapshot, WatchEventKind::kHostChanged,
                                         WatchEventKind::kHostChanged, WatchEventKind::kStepChanged,
                                         WatchEventKind::kJobChanged, WatchEventKind::kFinished}));
  EXPECT_EQ(testing::event_kinds(progress),
            (std::vector<WatchEventKind>{WatchEventKind::kSnapshot, WatchEventKind::kStepChanged,
                                         WatchEventKind::kJobChanged, WatchEventKind::kFinished}));
  EXPECT_EQ(progress.events().back().snapshot->steps[0].hosts[1].status, 9)
      << "FINISHED still holds every host's final state";
}

TEST(WatchHubDemandTest, AResumedProgressSubscriberIsNotReplayedHostChanges) {
  Fixture f;
  f.source.set(100, job_state(2, {7, 7}, false, 2));
  Collector first(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  const std::uint64_t after = first.events().back().seq;
  f.source.set(100, job_state(2, {9, 7}, false, 2));
  f.scheduler.advance(milliseconds(300));
  f.source.set(100, job_state(2, {9, 7}, false, 3));
  f.scheduler.advance(milliseconds(300));
  Collector resumed(f.hub.subscribe(kScope, 100, after, WatchDetail::kProgress));
  EXPECT_EQ(testing::event_kinds(resumed),
            std::vector<WatchEventKind>{WatchEventKind::kStepChanged});
  EXPECT_EQ(resumed.events()[0].seq, after + 2) << "seqs keep their numbers; host ones are skipped";
}

TEST(WatchHubDemandTest,
     WhileCallbacksArriveAProgressOnlyJobIsReadOnTheSafetyScheduleAndAtItsCallback) {
  Fixture f;
  f.prove_callbacks(1);
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100, /*callback_wired=*/true);
  Collector c(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kProgress));
  f.scheduler.run_due();
  ASSERT_EQ(f.source.reads(100), 1u) << "one read to learn the job";
  f.scheduler.advance(milliseconds(29000));
  EXPECT_EQ(f.source.reads(100), 1u) << "young and running, yet not read at the floor";
  f.scheduler.advance(milliseconds(2000));
  EXPECT_EQ(f.source.reads(100), 2u) << "the safety read";
  f.source.set(100, job_state(3, {9}, true));
  ASSERT_TRUE(f.hub.callback_arrived(100));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(100), 3u);
  EXPECT_TRUE(c.ended());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
  f.scheduler.advance(milliseconds(20000));
  EXPECT_EQ(f.observer.missed, 0);
}

TEST(WatchHubDemandTest, AHostsSubscriberHasTheJobReadAtOnceAndOnTheDetailedScheduleAgain) {
  Fixture f;
  f.prove_callbacks(1);
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100, true);
  Collector progress(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kProgress));
  f.scheduler.run_due();
  f.scheduler.advance(milliseconds(1000));
  ASSERT_EQ(f.source.reads(100), 1u);
  Collector hosts(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kHosts));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(100), 2u) << "read at once";
  f.scheduler.advance(milliseconds(2000));
  EXPECT_GE(f.source.reads(100), 10u) << "young: read at the floor again";
  // The hosts subscriber leaves: after its next read the job is slow again.
  hosts.subscription().cancel();
  f.scheduler.advance(milliseconds(1000));
  const std::size_t reads = f.source.reads(100);
  f.scheduler.advance(milliseconds(20000));
  EXPECT_EQ(f.source.reads(100), reads);
}

TEST(WatchHubDemandTest, BeforeAnyCallbackArrivesAndForJobsWithoutOneTheScheduleStaysDetailed) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100, true);
  Collector c(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kProgress));
  f.scheduler.advance(milliseconds(2000));
  EXPECT_GE(f.source.reads(100), 10u) << "no callback has arrived yet: nothing proves they do";

  f.prove_callbacks(1);
  f.source.set(200, job_state(2, {7}));
  Collector other(f.hub.subscribe(kScope, 200, std::nullopt, WatchDetail::kProgress));
  f.scheduler.advance(milliseconds(2000));
  EXPECT_GE(f.source.reads(200), 10u) << "not submitted through jobgw: no callback will come";
}

TEST(WatchHubDemandTest, AMissedCallbackIsCountedOnceAndSlowJobsGoBackToTheDetailedSchedule) {
  Fixture f;
  f.prove_callbacks(1);
  for (std::int64_t job : {100, 200}) {
    f.source.set(job, job_state(2, {7}));
    f.hub.watch(kScope, job, true);
  }
  Collector c100(f.hub.subscribe(kScope, 100, std::nullopt, WatchDetail::kProgress));
  Collector c200(f.hub.subscribe(kScope, 200, std::nullopt, WatchDetail::kProgress));
  f.scheduler.run_due();
  f.source.set(100, job_state(3, {9}, true));  // ends; JOB's callback never comes
  f.scheduler.advance(milliseconds(31000));
  ASSERT_TRUE(c100.ended()) << "the safety read sees the end";
  EXPECT_EQ(f.observer.missed, 0) << "the callback may still be on its way";
  const std::size_t reads200 = f.source.reads(200);
  f.scheduler.advance(milliseconds(10000));
  EXPECT_EQ(f.observer.missed, 1);
  EXPECT_GT(f.source.reads(200), reads200) << "read at once when callbacks stop arriving";
  const std::size_t after_miss = f.source.reads(200);
  f.scheduler.advance(milliseconds(15000));
  EXPECT_GE(f.source.reads(200), after_miss + 2) << "the detailed schedule: at most the ceiling";
  f.scheduler.advance(milliseconds(60000));
  EXPECT_EQ(f.observer.missed, 1);
}

TEST(WatchHubDemandTest, ACallbackAfterTheEndWasReadIsNotMissed) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100, true);
  Collector c(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  f.source.set(100, job_state(3, {9}, true));
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(c.ended());
  f.scheduler.advance(milliseconds(3000));
  EXPECT_TRUE(f.hub.callback_arrived(100)) << "a finished job is still known";
  f.scheduler.advance(milliseconds(20000));
  EXPECT_EQ(f.observer.missed, 0);
}

// Under a spent budget: R reads a second for N watched jobs and M unwatched ones, nothing
// changing. Every job is read within its interval plus the wait read_queue.h bounds, and watched
// jobs get the larger share.
TEST(WatchHubDemandTest, UnderASpentBudgetWatchedJobsComeFirstAndNoJobStarves) {
  WatchHubConfig c = demand_config();
  c.reads_per_second = 10;
  c.read_burst = 1;
  c.poll_young_for = milliseconds(0);
  c.poll_ceiling = milliseconds(1000);
  c.read_order.unwatched_lag = milliseconds(10000);
  Fixture f(c);
  constexpr int kWatched = 40;
  constexpr int kUnwatched = 20;
  std::vector<std::unique_ptr<Collector>> collectors;
  for (int i = 0; i < kWatched + kUnwatched; ++i) {
    const std::int64_t job = 1000 + i;
    f.source.set(job, job_state(2, {7}));
    if (i < kWatched) {
      collectors.push_back(std::make_unique<Collector>(f.hub.subscribe(kScope, job)));
    } else {
      f.hub.watch(kScope, job);
    }
  }
  for (int s = 0; s < 120; ++s) f.scheduler.advance(milliseconds(1000));

  // read_queue.h: watched by d + N / ((1 - share) R), unwatched by d + lag + M / (share R).
  const double share = c.read_order.unwatched_share;
  const auto bound = [&](bool watched) {
    const double wait_s = watched ? kWatched / ((1 - share) * c.reads_per_second)
                                  : c.read_order.unwatched_lag.count() / 1000.0 +
                                        kUnwatched / (share * c.reads_per_second);
    return milliseconds(static_cast<std::int64_t>(c.poll_ceiling.count() + wait_s * 1000 + 100));
  };
  std::size_t watched_reads = 0;
  std::size_t unwatched_reads = 0;
  for (int i = 0; i < kWatched + kUnwatched; ++i) {
    const std::int64_t job = 1000 + i;
    const auto& times = f.source.read_times(job);
    ASSERT_GE(times.size(), 3u) << "job " << job << " starved";
    milliseconds longest{0};
    for (std::size_t k = 1; k < times.size(); ++k) {
      longest =
          std::max(longest, std::chrono::duration_cast<milliseconds>(times[k] - times[k - 1]));
    }
    const bool watched = i < kWatched;
    EXPECT_LE(longest.count(), bound(watched).count())
        << "job " << job << (watched ? " (watched)" : " (unwatched)");
    (watched ? watched_reads : unwatched_reads) += times.size();
  }
  EXPECT_GT(static_cast<double>(watched_reads) / kWatched,
            1.5 * static_cast<double>(unwatched_reads) / kUnwatched);
}

// A job jobgw submitted waits behind watched jobs for its first read; the moment someone watches
// it, its read moves up.
TEST(WatchHubDemandTest, ASubscriberMovesAnUnwatchedJobsWaitingReadUp) {
  WatchHubConfig c = demand_config();
  c.reads_per_second = 1;
  c.read_burst = 1;
  Fixture f(c);
  std::vector<std::unique_ptr<Collector>> watched;
  for (std::int64_t job = 1; job <= 10; ++job) {
    f.source.set(job, job_state(2, {7}));
    watched.push_back(std::make_unique<Collector>(f.hub.subscribe(kScope, job)));
  }
  f.scheduler.advance(milliseconds(12000));  // every watched job read once, all due again
  for (std::int64_t job : {100, 200}) {
    f.source.set(job, job_state(2, {7}));
    f.hub.watch(kScope, job);  // submitted, nobody watching yet
  }
  f.scheduler.advance(milliseconds(5000));
  ASSERT_EQ(f.source.reads(100) + f.source.reads(200), 0u) << "behind the watched jobs";
  Collector c100(f.hub.subscribe(kScope, 100));
  f.scheduler.advance(milliseconds(6000));
  EXPECT_EQ(f.source.reads(100), 1u) << "read in its place among the watched jobs";
  EXPECT_EQ(c100.events().size(), 1u);
  EXPECT_EQ(f.source.reads(200), 0u) << "still nobody watches it";
}

}  // namespace
}  // namespace jobgw::core

namespace jobgw::core {
namespace {

// GetJobStatus asked JOB itself and saw the end: the hub's answers and streams never go back to
// running after that, even when the hub's own read (asked before the end) answers later.
TEST(WatchHubOfferTest, AFinishedReadFromElsewhereIsNeverFollowedByRunning) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  f.source.hold(true);
  f.scheduler.advance(milliseconds(300));  // the hub's read is asked while the job runs
  f.source.set(100, job_state(3, {9}, true));
  f.hub.offer_finished(kScope, 100, job_state(3, {9}, true));
  auto cached = f.hub.cached(kScope, 100, milliseconds(1000));
  ASSERT_TRUE(cached.has_value());
  EXPECT_TRUE(cached->finished) << "served while the hub's own read is under way";
  f.source.release();  // answers "running", as JOB did when asked
  f.scheduler.run_due();
  ASSERT_TRUE(c.ended());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
  for (const auto& e : c.events()) {
    if (e.kind == WatchEventKind::kHostChanged) EXPECT_EQ(e.host.status, 9);
  }
  EXPECT_TRUE(f.hub.cached(kScope, 100, milliseconds(1000))->finished);
}

TEST(WatchHubOfferTest, WithNoReadUnderWayTheOfferIsTheRead) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  const std::size_t reads = f.source.reads(100);
  f.hub.offer_finished(kScope, 100, job_state(2, {7}));  // not finished: ignored
  EXPECT_FALSE(c.ended());
  f.hub.offer_finished(kScope, 100, job_state(3, {9}, true));
  ASSERT_TRUE(c.ended());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(f.source.reads(100), reads) << "no JOB read of its own";
}

}  // namespace
}  // namespace jobgw::core
