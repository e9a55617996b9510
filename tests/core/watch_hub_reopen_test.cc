// A finished job JOB sets going again (a plan step retried): its watch goes on, seqs continuing,
// and a stream resuming from the first FINISHED gets the changes and a second FINISHED.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/watch/watch_hub.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};

struct Fixture {
  Fixture() : source(scheduler), hub(scheduler, source, config(), nullptr, [] { return 0.5; }) {}
  static WatchHubConfig config() {
    WatchHubConfig c;
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    c.poll_floor = milliseconds(200);
    c.poll_ceiling = milliseconds(1000);
    return c;
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  WatchHub hub;
};

TEST(WatchHubReopenTest, ARetriedJobFinishesAgainWithAHigherSeq) {
  Fixture f;
  f.source.set(100, job_state(2, {7, 7}));
  f.hub.watch(kScope, 100);
  Collector first(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  f.source.set(100, job_state(4, {9, 104}, true));
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(first.ended());
  const WatchEvent failed = first.events().back();
  ASSERT_EQ(failed.kind, WatchEventKind::kFinished);
  EXPECT_EQ(failed.snapshot->status, 4);

  // Retried: running again, then success.
  f.source.set(100, job_state(2, {9, 7}));
  f.hub.reopen(kScope, 100);
  Collector resumed(f.hub.subscribe(kScope, 100, failed.seq));
  f.scheduler.run_due();
  ASSERT_FALSE(resumed.ended());
  f.source.set(100, job_state(3, {9, 9}, true));
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(resumed.ended());
  EXPECT_FALSE(resumed.end_error().has_value());
  const auto events = resumed.events();
  ASSERT_GE(events.size(), 3u);
  EXPECT_NE(events.front().kind, WatchEventKind::kSnapshot) << "resumed, not started afresh";
  auto back_to_running = std::find_if(events.begin(), events.end(), [](const WatchEvent& e) {
    return e.kind == WatchEventKind::kJobChanged && e.old_status == 4 && e.new_status == 2;
  });
  EXPECT_NE(back_to_running, events.end()) << "the job going back to running is an event";
  std::uint64_t last = failed.seq;
  for (const auto& e : events) {
    EXPECT_GT(e.seq, last) << "seqs keep growing past the first FINISHED";
    last = e.seq;
  }
  EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(events.back().snapshot->status, 3);
  EXPECT_TRUE(f.hub.cached(kScope, 100, milliseconds(0))->status == 3);
}

// JOB applies a step operation later than it answers it: reads that still show the old end
// are not a second end.
TEST(WatchHubReopenTest, ReadsStillShowingTheOldEndAreNotASecondEnd) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100);
  Collector first(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  f.source.set(100, job_state(4, {104}, true));
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(first.ended());
  const std::uint64_t failed_seq = first.events().back().seq;

  f.hub.reopen(kScope, 100);  // JOB still reports the failed end for a while
  Collector resumed(f.hub.subscribe(kScope, 100, failed_seq));
  f.scheduler.run_due();
  f.scheduler.advance(milliseconds(1000));
  EXPECT_FALSE(resumed.ended()) << "the old end again is not a second FINISHED";
  EXPECT_TRUE(resumed.events().empty());
  f.source.set(100, job_state(2, {7}));
  f.scheduler.advance(milliseconds(2000));
  f.source.set(100, job_state(3, {9}, true));
  f.scheduler.advance(milliseconds(2000));
  ASSERT_TRUE(resumed.ended());
  EXPECT_EQ(resumed.events().back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(resumed.events().back().snapshot->status, 3);
  int finished = 0;
  for (const auto& e : resumed.events()) finished += e.kind == WatchEventKind::kFinished;
  EXPECT_EQ(finished, 1);
}

TEST(WatchHubReopenTest, AnOperationJobNeverActsOnEndsTheWatchAtTheOldEnd) {
  Fixture f;
  f.source.set(100, job_state(4, {104}, true));
  f.hub.watch(kScope, 100);
  f.scheduler.run_due();
  f.hub.reopen(kScope, 100);
  Collector c(f.hub.subscribe(kScope, 100));
  f.scheduler.advance(milliseconds(29000));
  EXPECT_FALSE(c.ended());
  f.scheduler.advance(milliseconds(7000));
  ASSERT_TRUE(c.ended()) << "given up waiting for the job to run again";
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
}

// A step retried in JOB itself, not through jobgw: JOB's callback at the new end shows the job
// ran again, and a stream resuming from the first end gets the second.
TEST(WatchHubReopenTest, ACallbackAfterAFailedEndShowsARerunInJobItself) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100, /*callback_wired=*/true);
  Collector first(f.hub.subscribe(kScope, 100));
  f.scheduler.run_due();
  JobSnapshot failed = job_state(4, {104}, true);
  failed.end_time_ms = 1000;
  f.source.set(100, failed);
  f.scheduler.advance(milliseconds(300));
  ASSERT_TRUE(first.ended());
  const std::uint64_t failed_seq = first.events().back().seq;

  // JOB calls back again for the same end (its form-encoded retry): nothing ran again.
  const std::size_t reads = f.source.reads(100);
  ASSERT_TRUE(f.hub.callback_arrived(100));
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(100), reads + 1) << "one read to tell";
  EXPECT_TRUE(f.hub.cached(kScope, 100, milliseconds(0))->finished);

  JobSnapshot succeeded = job_state(3, {9}, true);
  succeeded.end_time_ms = 9000;
  f.source.set(100, succeeded);
  ASSERT_TRUE(f.hub.callback_arrived(100));
  f.scheduler.run_due();
  Collector resumed(f.hub.subscribe(kScope, 100, failed_seq));
  f.scheduler.run_due();
  ASSERT_TRUE(resumed.ended());
  EXPECT_EQ(resumed.events().back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(resumed.events().back().snapshot->status, 3);
  EXPECT_GT(resumed.events().back().seq, failed_seq);
}

TEST(WatchHubReopenTest, ACallbackAfterASuccessReadsNothing) {
  Fixture f;
  f.source.set(100, job_state(3, {9}, true));
  f.hub.watch(kScope, 100, /*callback_wired=*/true);
  f.scheduler.run_due();
  const std::size_t reads = f.source.reads(100);
  f.hub.callback_arrived(100);
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(100), reads);
}

TEST(WatchHubReopenTest, AJobStillRunningIsReadNowAndAnUnknownOneIsWatched) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100);
  f.scheduler.run_due();
  const std::size_t reads = f.source.reads(100);
  f.hub.reopen(kScope, 100);
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(100), reads + 1) << "read at once, no new watch";

  f.source.set(200, job_state(2, {7}));
  f.hub.reopen(kScope, 200);
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(200), 1u);
  Collector c(f.hub.subscribe(kScope, 200));
  ASSERT_FALSE(c.events().empty());
  EXPECT_EQ(c.events().front().kind, WatchEventKind::kSnapshot);
}

}  // namespace
}  // namespace jobgw::core
