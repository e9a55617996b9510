#include "core/watch/watch_hub.h"

#include <gtest/gtest.h>

#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};
constexpr std::int64_t kJob = 100;

WatchHubConfig quiet_config() {
  WatchHubConfig c;
  c.poll_floor = milliseconds(200);
  c.poll_ceiling = milliseconds(5000);
  c.poll_growth = 1.5;
  c.poll_jitter = 0.1;
  c.poll_young_for = milliseconds(0);  // tests of the growth see it from the first read
  c.reads_per_second = 1000;
  c.read_burst = 1000;
  return c;
}

// uniform01 = 0.5 makes jitter exactly neutral, so intervals are predictable.
double half() { return 0.5; }

struct Fixture {
  explicit Fixture(WatchHubConfig config = quiet_config(), WatchObserver* observer = nullptr)
      : source(scheduler), hub(scheduler, source, config, observer, half) {}
  ManualScheduler scheduler;
  ScriptedSource source;
  WatchHub hub;
};

std::vector<milliseconds> gaps(const std::vector<Scheduler::Clock::time_point>& times) {
  std::vector<milliseconds> out;
  for (std::size_t i = 1; i < times.size(); ++i) {
    out.push_back(std::chrono::duration_cast<milliseconds>(times[i] - times[i - 1]));
  }
  return out;
}

TEST(WatchHub, StreamIsSnapshotChangesFinishedThenEnd) {
  Fixture f;
  f.source.set(kJob, job_state(1, {5, 5}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.source.set(kJob, job_state(2, {7, 5}));
  f.scheduler.advance(milliseconds(200));
  f.source.set(kJob, job_state(2, {9, 7}));
  f.scheduler.advance(milliseconds(200));
  f.source.set(kJob, job_state(3, {9, 9}, /*finished=*/true));
  f.scheduler.advance(milliseconds(200));

  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  std::vector<WatchEvent> ev = c.events();
  ASSERT_GE(ev.size(), 3u);
  EXPECT_EQ(ev.front().kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(ev.front().seq, 1u);
  ASSERT_NE(ev.front().snapshot, nullptr);
  EXPECT_EQ(ev.front().snapshot->status, 1);
  EXPECT_EQ(ev.back().kind, WatchEventKind::kFinished);
  ASSERT_NE(ev.back().snapshot, nullptr);
  EXPECT_EQ(ev.back().snapshot->status, 3);
  for (std::size_t i = 1; i < ev.size(); ++i) EXPECT_EQ(ev[i].seq, ev[i - 1].seq + 1);

  // Second read: host 101 5->7, step 1->2, job 1->2, bottom-up.
  EXPECT_EQ(ev[1].kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(ev[1].host.host.host_id, 101);
  EXPECT_EQ(ev[1].old_status, 5);
  EXPECT_EQ(ev[1].new_status, 7);
  EXPECT_EQ(ev[1].step_instance_id, 75);
  EXPECT_EQ(ev[2].kind, WatchEventKind::kStepChanged);
  EXPECT_EQ(ev[2].old_status, 1);
  EXPECT_EQ(ev[2].new_status, 2);
  EXPECT_EQ(ev[3].kind, WatchEventKind::kJobChanged);
  EXPECT_EQ(ev[3].new_status, 2);
  // Only minimal events: hosts that did not change produce none.
  int host_events = 0;
  for (const auto& e : ev) host_events += e.kind == WatchEventKind::kHostChanged;
  EXPECT_EQ(host_events, 4);  // 101: 5->7->9, 102: 5->7->9
  // Polling stopped with the job.
  std::size_t reads = f.source.reads(kJob);
  f.scheduler.advance(milliseconds(60000));
  EXPECT_EQ(f.source.reads(kJob), reads);
}

TEST(WatchHub, OnePollerHoweverManySubscribers) {
  auto run = [](int subscribers) {
    Fixture f;
    f.source.set(kJob, job_state(2, {7}));
    std::vector<std::unique_ptr<Collector>> cs;
    for (int i = 0; i < subscribers; ++i) {
      cs.push_back(std::make_unique<Collector>(f.hub.subscribe(kScope, kJob)));
    }
    f.scheduler.advance(milliseconds(30000));
    f.source.set(kJob, job_state(3, {9}, true));
    f.scheduler.advance(milliseconds(10000));
    for (auto& c : cs) {
      EXPECT_TRUE(c->ended());
      EXPECT_EQ(c->events().size(), cs[0]->events().size());
      EXPECT_EQ(c->events().back().seq, cs[0]->events().back().seq);
    }
    EXPECT_EQ(f.hub.stats().subscribers, 0u);
    return f.source.reads(kJob);
  };
  std::size_t one = run(1);
  std::size_t many = run(50);
  EXPECT_GT(one, 3u);
  EXPECT_EQ(many, one);
}

TEST(WatchHub, IntervalGrowsWhileUnchangedAndSnapsBackOnChange) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(20000));
  auto g = gaps(f.source.read_times(kJob));
  ASSERT_GE(g.size(), 8u);
  // The first read establishes the state (a change), so the floor follows it, then x1.5 each.
  EXPECT_EQ(g[0], milliseconds(200));
  EXPECT_EQ(g[1], milliseconds(300));
  EXPECT_EQ(g[2], milliseconds(450));
  EXPECT_EQ(g[3], milliseconds(675));
  for (const auto& gap : g) EXPECT_LE(gap, milliseconds(5000));
  EXPECT_EQ(g.back(), milliseconds(5000));

  std::size_t before = f.source.reads(kJob);
  f.source.set(kJob, job_state(2, {9}));
  f.scheduler.advance(milliseconds(5250));  // the change is seen at the next read (on the grid)...
  f.scheduler.advance(milliseconds(200));   // ...and the one after follows at the floor
  ASSERT_GE(f.source.reads(kJob), before + 2);
  EXPECT_EQ(gaps(f.source.read_times(kJob))[before], milliseconds(200));
}

TEST(WatchHub, YoungJobStaysAtTheFloorThenGrows) {
  WatchHubConfig config = quiet_config();
  config.poll_young_for = milliseconds(2000);
  Fixture f(config);
  f.source.set(kJob, job_state(2, {7}));  // no start time from JOB: aged from the first watch
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(4000));
  auto g = gaps(f.source.read_times(kJob));
  ASSERT_GE(g.size(), 12u);
  // Reads at 0, 200, ..., 2000 all see a job younger than 2 s: each is followed by the floor.
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(g[i], milliseconds(200)) << "gap " << i;
  EXPECT_EQ(g[10], milliseconds(300));  // the read at 2000 ms is the first of an old job
  EXPECT_EQ(g[11], milliseconds(450));
}

TEST(WatchHub, AgeComesFromJobsStartTimeWhenJobHasOne) {
  WatchHubConfig config = quiet_config();
  config.poll_young_for = milliseconds(5000);
  Fixture f(config);
  JobSnapshot old_job = job_state(2, {7});
  old_job.start_time_ms = f.scheduler.wall_ms() - 60000;  // started a minute before the watch
  f.source.set(kJob, old_job);
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(1500));
  auto g = gaps(f.source.read_times(kJob));
  ASSERT_GE(g.size(), 3u);
  EXPECT_EQ(g[0], milliseconds(200));  // after the first read, a change
  EXPECT_EQ(g[1], milliseconds(300));  // then it grows: JOB says the job is old
  EXPECT_EQ(g[2], milliseconds(450));
}

// Jobs at the ceiling are read on a common grid, so one timer wake-up serves several of them;
// reads due within a second keep their own time (a young job's changes are noticed at once).
TEST(WatchHub, ReadsDueASecondOrMoreAheadAreBatchedOnTheGrid) {
  Fixture f;  // poll_grid at its default, 250 ms
  constexpr std::int64_t kOther = 101;
  f.source.set(kJob, job_state(2, {7}));
  f.source.set(kOther, job_state(2, {7}));
  Collector a(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(130));
  Collector b(f.hub.subscribe(kScope, kOther));
  f.scheduler.advance(milliseconds(30000));
  for (std::int64_t job : {kJob, kOther}) {
    const auto& times = f.source.read_times(job);
    const auto g = gaps(times);
    ASSERT_GE(g.size(), 8u);
    EXPECT_EQ(g[0], milliseconds(200)) << "a short interval is not moved";
    EXPECT_EQ(g[1], milliseconds(300));
    for (std::size_t i = 0; i < g.size(); ++i) {
      if (g[i] < milliseconds(1000)) continue;
      const auto at = std::chrono::duration_cast<milliseconds>(times[i + 1].time_since_epoch());
      EXPECT_EQ(at.count() % 250, 0) << "job " << job << " read " << i + 1;
      EXPECT_LT(g[i], milliseconds(5250)) << "moved by less than one grid step";
    }
  }

  WatchHubConfig off = quiet_config();
  off.poll_grid = milliseconds(0);
  Fixture g(off);
  g.source.set(kJob, job_state(2, {7}));
  Collector c(g.hub.subscribe(kScope, kJob));
  g.scheduler.advance(milliseconds(5000));
  const auto plain = gaps(g.source.read_times(kJob));
  ASSERT_GE(plain.size(), 5u);
  EXPECT_EQ(plain[4], milliseconds(1012)) << "without the grid, 200 x 1.5^4 as it is";
}

TEST(WatchHub, JitterSpreadsIntervals) {
  WatchHubConfig config = quiet_config();
  ManualScheduler scheduler;
  ScriptedSource source(scheduler);
  double u = 0.0;
  WatchHub hub(scheduler, source, config, nullptr, [&u] { return u; });
  source.set(kJob, job_state(2, {7}));
  Collector c(hub.subscribe(kScope, kJob));
  scheduler.advance(milliseconds(180));  // u=0: the floor minus 10%
  EXPECT_EQ(source.reads(kJob), 2u);
}

TEST(WatchHub, TransientErrorsBackOffWithoutEndingTheStream) {
  WatchHubConfig config = quiet_config();
  Fixture f(config);
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  Error down;
  down.kind = ErrorKind::kTransport;
  down.message = "connection refused";
  f.source.fail(kJob, down);
  std::size_t ok_reads = f.source.reads(kJob);
  f.scheduler.advance(milliseconds(60000));
  EXPECT_FALSE(c.ended());

  Backoff expected(config.error_backoff, half);
  auto g = gaps(f.source.read_times(kJob));
  // Gaps after the first failed read follow the backoff policy exactly.
  for (std::size_t i = ok_reads; i < g.size() && i < ok_reads + 4; ++i) {
    EXPECT_EQ(g[i], expected.delay(static_cast<int>(i - ok_reads + 1))) << "gap " << i;
  }
  EXPECT_LT(f.source.reads(kJob), ok_reads + 15);  // backed off, not hammering

  f.source.set(kJob, job_state(3, {9}, true));
  f.scheduler.advance(milliseconds(20000));
  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
}

TEST(WatchHub, GivesUpAfterConfiguredAgeWithoutSuccess) {
  WatchHubConfig config = quiet_config();
  config.give_up_after = milliseconds(30000);
  Fixture f(config);
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  Error bad;
  bad.kind = ErrorKind::kHttp;
  bad.http_status = 502;
  f.source.fail(kJob, bad);
  f.scheduler.advance(milliseconds(25000));
  EXPECT_FALSE(c.ended());
  f.scheduler.advance(milliseconds(30000));
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kTimeout);
  EXPECT_EQ(f.hub.stats().watched_jobs, 0u);
}

TEST(WatchHub, PermanentJobErrorEndsStreamWithThatError) {
  Fixture f;
  Collector c(f.hub.subscribe(kScope, 999));  // the source knows no job 999: 1244006
  f.scheduler.run_due();
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->job_code, 1244006);
  EXPECT_EQ(f.hub.stats().watched_jobs, 0u);
  EXPECT_EQ(f.hub.stats().subscribers, 0u);
  // A later subscriber gets a new attempt, not a cached failure.
  Collector again(f.hub.subscribe(kScope, 999));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(999), 2u);
}

TEST(WatchHub, ResumeReplaysHistoryOrStartsFresh) {
  WatchHubConfig config = quiet_config();
  config.history_limit = 4;
  Fixture f(config);
  f.source.set(kJob, job_state(2, {7, 7, 7}));
  Collector first(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.source.set(kJob, job_state(2, {9, 7, 7}));
  f.scheduler.advance(milliseconds(200));  // seq 2
  f.source.set(kJob, job_state(2, {9, 9, 7}));
  f.scheduler.advance(milliseconds(200));  // seq 3
  std::uint64_t seen = first.events().back().seq;
  ASSERT_EQ(seen, 3u);

  Collector resumed(f.hub.subscribe(kScope, kJob, /*after_seq=*/2));
  ASSERT_EQ(resumed.events().size(), 1u);
  EXPECT_EQ(resumed.events()[0].seq, 3u);
  EXPECT_EQ(resumed.events()[0].kind, WatchEventKind::kHostChanged);
  EXPECT_TRUE(resumed.events()[0].resumed);

  // Push history past its limit (4): seq 4..8.
  for (int i = 0; i < 5; ++i) {
    f.source.set(kJob, job_state(2, {9, 9, i % 2 == 0 ? 9 : 7}));
    f.scheduler.advance(milliseconds(200));
  }
  Collector too_old(f.hub.subscribe(kScope, kJob, /*after_seq=*/2));
  ASSERT_FALSE(too_old.events().empty());
  EXPECT_EQ(too_old.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_FALSE(too_old.events()[0].resumed);
  EXPECT_EQ(too_old.events()[0].seq, first.events().back().seq);

  Collector from_future(f.hub.subscribe(kScope, kJob, /*after_seq=*/999));
  ASSERT_FALSE(from_future.events().empty());
  EXPECT_EQ(from_future.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_FALSE(from_future.events()[0].resumed);

  // Resumed streams keep receiving live events and end like the others.
  f.source.set(kJob, job_state(3, {9, 9, 9}, true));
  f.scheduler.advance(milliseconds(200));
  EXPECT_TRUE(resumed.ended());
  EXPECT_EQ(resumed.events().back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(resumed.events().back().seq, first.events().back().seq);
}

TEST(WatchHub, SlowSubscriberCollapsesAndNeverLosesFinished) {
  class Counting : public WatchObserver {
   public:
    void on_subscriber_overflow() override { overflows++; }
    int overflows = 0;
  } observer;
  WatchHubConfig config = quiet_config();
  config.subscriber_queue_limit = 4;
  Fixture f(config, &observer);
  std::vector<int> hosts(20, 5);
  f.source.set(kJob, job_state(2, hosts));
  Collector fast(f.hub.subscribe(kScope, kJob));
  Collector slow(f.hub.subscribe(kScope, kJob), /*eager=*/false);
  f.scheduler.run_due();
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    hosts[i] = 9;
    f.source.set(kJob, job_state(2, hosts));
    f.scheduler.advance(milliseconds(200));
  }
  f.source.set(kJob, job_state(3, hosts, true));
  f.scheduler.advance(milliseconds(200));

  ASSERT_TRUE(fast.ended());
  EXPECT_GE(fast.events().size(), 22u);  // SNAPSHOT + 20 host changes + ... + FINISHED
  EXPECT_GT(observer.overflows, 0);

  slow.pump();
  ASSERT_TRUE(slow.ended());
  std::vector<WatchEvent> ev = slow.events();
  ASSERT_LE(ev.size(), 4u);
  EXPECT_EQ(ev.back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(ev.back().seq, fast.events().back().seq);
  const WatchEvent& collapsed = ev[ev.size() - 2];
  EXPECT_EQ(collapsed.kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(collapsed.seq, ev.back().seq - 1);
  ASSERT_NE(collapsed.snapshot, nullptr);
  EXPECT_EQ(collapsed.snapshot->steps[0].hosts[19].status, 9);
}

TEST(WatchHub, TokenBucketCapsReadsAcrossJobs) {
  WatchHubConfig config = quiet_config();
  config.reads_per_second = 5;
  config.read_burst = 5;
  Fixture f(config);
  std::vector<std::unique_ptr<Collector>> cs;
  for (int j = 1; j <= 20; ++j) {
    f.source.set(j, job_state(2, {7}));
    cs.push_back(std::make_unique<Collector>(f.hub.subscribe(kScope, j)));
  }
  for (int second = 0; second < 10; ++second) f.scheduler.advance(milliseconds(1000));
  std::size_t total = f.source.total_reads();
  EXPECT_LE(total, 5u * 10 + 5);
  EXPECT_GE(total, 5u * 10 - 5);
  for (int j = 1; j <= 20; ++j) EXPECT_GE(f.source.reads(j), 1u) << "job " << j << " starved";
}

TEST(WatchHub, PokeReadsNowInsteadOfAtTheNextInterval) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(30000));  // interval is at the ceiling now
  std::size_t reads = f.source.reads(kJob);
  f.source.set(kJob, job_state(3, {9}, true));
  EXPECT_TRUE(f.hub.poke(kJob));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(kJob), reads + 1);
  EXPECT_TRUE(c.ended());
  EXPECT_FALSE(f.hub.poke(424242));
}

TEST(WatchHub, PokeDuringAReadReadsAgainRightAfter) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.advance(milliseconds(30000));
  std::size_t reads = f.source.reads(kJob);
  f.source.hold(true);
  f.scheduler.advance(milliseconds(5000));  // a read is now in flight
  ASSERT_EQ(f.source.reads(kJob), reads + 1);
  f.hub.poke(kJob);
  f.source.set(kJob, job_state(3, {9}, true));
  f.source.hold(false);
  f.source.release();  // answers the old read; the poke triggers another at once
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(kJob), reads + 2);
  EXPECT_TRUE(c.ended());
}

TEST(WatchHub, LastSubscriberLeavingStopsPollingUnlessSubmittedThroughJobgw) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  f.source.set(200, job_state(2, {7}));
  auto sub = f.hub.subscribe(kScope, kJob);
  f.hub.watch(kScope, 200);
  auto sub200 = f.hub.subscribe(kScope, 200);
  f.scheduler.advance(milliseconds(1000));
  sub->cancel();
  sub200->cancel();
  EXPECT_EQ(f.hub.stats().subscribers, 0u);
  std::size_t r100 = f.source.reads(kJob);
  std::size_t r200 = f.source.reads(200);
  f.scheduler.advance(milliseconds(30000));
  EXPECT_EQ(f.source.reads(kJob), r100);
  EXPECT_GT(f.source.reads(200), r200);  // registered: polled to the end for its final status
  f.source.set(200, job_state(3, {9}, true));
  f.scheduler.advance(milliseconds(10000));
  std::size_t final_reads = f.source.reads(200);
  f.scheduler.advance(milliseconds(30000));
  EXPECT_EQ(f.source.reads(200), final_reads);
}

TEST(WatchHub, LateSubscriberToFinishedJobGetsSnapshotAndFinished) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  f.source.set(kJob, job_state(3, {9}, true));
  f.scheduler.advance(milliseconds(200));
  std::size_t reads = f.source.reads(kJob);

  Collector late(f.hub.subscribe(kScope, kJob));
  ASSERT_TRUE(late.ended());
  std::vector<WatchEvent> ev = late.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(ev[1].kind, WatchEventKind::kFinished);
  EXPECT_EQ(ev[0].seq + 1, ev[1].seq);
  EXPECT_EQ(ev[1].snapshot->status, 3);
  EXPECT_EQ(f.source.reads(kJob), reads);  // served from the hub, JOB not asked

  Collector covered(f.hub.subscribe(kScope, kJob, ev[1].seq));
  ASSERT_TRUE(covered.ended());
  ASSERT_EQ(covered.events().size(), 1u);
  EXPECT_EQ(covered.events()[0].kind, WatchEventKind::kFinished);

  // Retention ends: the job is forgotten and a new subscriber reads JOB again.
  f.scheduler.advance(milliseconds(10 * 60 * 1000));
  EXPECT_EQ(f.hub.stats().retained_jobs, 0u);
  Collector after(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(kJob), reads + 1);
  EXPECT_TRUE(after.ended());
}

TEST(WatchHub, CachedIsFreshOnlyWithinMaxAge) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(1000)).has_value());
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  auto fresh = f.hub.cached(kScope, kJob, milliseconds(1000));
  ASSERT_TRUE(fresh.has_value());
  EXPECT_EQ(fresh->status, 2);
  EXPECT_EQ(fresh->scope.id, "1");
  f.scheduler.advance(milliseconds(30000));
  // Polled on schedule, the job's snapshot is as fresh as its subscribers'; max_age 0 opts out.
  EXPECT_TRUE(f.hub.cached(kScope, kJob, milliseconds(1)).has_value());
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(0)).has_value());
  EXPECT_FALSE(f.hub.cached(Scope{"biz", "2"}, kJob, milliseconds(100000)).has_value());
}

TEST(WatchHub, CachedIsNotServedOnceAReadIsOverdueOrFailing) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  f.scheduler.advance(milliseconds(30000));
  ASSERT_TRUE(f.hub.cached(kScope, kJob, milliseconds(1)).has_value());
  // Reads now fail: the last good one ages past its interval and nothing is served from it.
  Error refused;
  refused.kind = ErrorKind::kTransport;
  refused.message = "connection refused";
  f.source.fail(kJob, refused);
  f.scheduler.advance(milliseconds(6000));
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(1)).has_value());
  // Within max_age it still is, as before.
  EXPECT_TRUE(f.hub.cached(kScope, kJob, milliseconds(60000)).has_value());
}

TEST(WatchHub, CachedOfAPolledJobIsServedOnlyUntilItsNextReadIsDue) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  f.source.hold(true);
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  f.source.release();
  f.scheduler.run_due();
  ASSERT_TRUE(f.hub.cached(kScope, kJob, milliseconds(1)).has_value());
  // The next read is sent but its answer is held: once it is overdue, JOB must be asked.
  f.scheduler.advance(milliseconds(20000));
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(1)).has_value());
}

TEST(WatchHub, ShutdownEndsEveryStreamWithTheReason) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector c(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  Error reason;
  reason.kind = ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  f.hub.shutdown(reason);
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kCancelled);
  Collector later(f.hub.subscribe(kScope, kJob));
  ASSERT_TRUE(later.ended());
  EXPECT_EQ(later.end_error()->kind, ErrorKind::kCancelled);
  std::size_t reads = f.source.reads(kJob);
  f.scheduler.advance(milliseconds(60000));
  EXPECT_EQ(f.source.reads(kJob), reads);
  EXPECT_EQ(f.hub.stats().subscribers, 0u);
}

TEST(WatchHub, SubscribersBeforeTheFirstReadWaitForIt) {
  Fixture f;
  f.source.set(kJob, job_state(1, {5}));
  f.source.hold(true);
  Collector a(f.hub.subscribe(kScope, kJob));
  Collector b(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  EXPECT_TRUE(a.items().empty());
  f.source.hold(false);
  f.source.release();
  ASSERT_EQ(a.events().size(), 1u);
  ASSERT_EQ(b.events().size(), 1u);
  EXPECT_EQ(a.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(f.source.reads(kJob), 1u);
}

}  // namespace
}  // namespace jobgw::core
