// What a restart relies on: the end listener (how the state store learns a submitted job is
// done) and seq_base (after_seq from an earlier run).
#include <gtest/gtest.h>

#include <vector>

#include "core/watch/watch_hub.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};

struct Ended {
  std::int64_t job;
  std::optional<Error> error;
};

struct Fixture {
  Fixture() : source(scheduler), hub(scheduler, source, config(), nullptr, [] { return 0.5; }) {
    hub.set_end_listener(
        [this](const Scope& scope, std::int64_t job, const std::optional<Error>& e) {
          EXPECT_EQ(scope.id, "1");
          ended.push_back({job, e});
        });
  }
  static WatchHubConfig config() {
    WatchHubConfig c;
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    c.give_up_after = milliseconds(5000);
    return c;
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  WatchHub hub;
  std::vector<Ended> ended;
};

TEST(WatchHubEndListener, ToldOnceWhenAJobFinishes) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100);
  f.scheduler.run_due();
  EXPECT_TRUE(f.ended.empty());
  f.source.set(100, job_state(3, {9}, /*finished=*/true));
  f.scheduler.advance(milliseconds(10000));
  ASSERT_EQ(f.ended.size(), 1u);
  EXPECT_EQ(f.ended[0].job, 100);
  EXPECT_FALSE(f.ended[0].error.has_value());
  // A late subscriber of the retained job does not end it again.
  auto sub = f.hub.subscribe(kScope, 100);
  f.scheduler.advance(milliseconds(10000));
  EXPECT_EQ(f.ended.size(), 1u);
}

TEST(WatchHubEndListener, ToldWithTheErrorForUnknownJobsAndGiveUps) {
  Fixture f;
  f.hub.watch(kScope, 200);  // ScriptedSource knows no job 200: JOB's "does not exist"
  f.scheduler.run_due();
  Error down;
  down.kind = ErrorKind::kTransport;
  down.message = "connection refused";
  f.source.fail(300, down);
  f.hub.watch(kScope, 300);
  f.scheduler.advance(milliseconds(60000));
  ASSERT_EQ(f.ended.size(), 2u);
  EXPECT_EQ(f.ended[0].job, 200);
  ASSERT_TRUE(f.ended[0].error.has_value());
  EXPECT_EQ(f.ended[0].error->job_code, 1244006);
  EXPECT_EQ(f.ended[1].job, 300);
  ASSERT_TRUE(f.ended[1].error.has_value());
  EXPECT_EQ(f.ended[1].error->kind, ErrorKind::kTimeout);
}

TEST(WatchHubEndListener, NotToldOnShutdown) {
  Fixture f;
  f.source.set(100, job_state(2, {7}));
  f.hub.watch(kScope, 100);
  f.scheduler.run_due();
  Error reason;
  reason.kind = ErrorKind::kCancelled;
  f.hub.shutdown(reason);
  EXPECT_TRUE(f.ended.empty());
}

TEST(WatchHubSeqBase, SequencesStartAboveTheBaseAndAnEarlierRunsAfterSeqGetsASnapshot) {
  WatchHubConfig config = Fixture::config();
  config.seq_base = std::uint64_t{2} << 32;
  ManualScheduler scheduler;
  ScriptedSource source(scheduler);
  WatchHub hub(scheduler, source, config, nullptr, [] { return 0.5; });
  source.set(100, job_state(2, {7, 5}));
  hub.watch(kScope, 100);
  scheduler.run_due();
  source.set(100, job_state(2, {9, 5}));
  scheduler.advance(milliseconds(1000));
  source.set(100, job_state(2, {9, 7}));
  scheduler.advance(milliseconds(1000));

  // after_seq 2 and 3 were seqs of the previous run (base 1 << 32 there, or none at all).
  for (std::uint64_t earlier : {std::uint64_t{2}, std::uint64_t{3}, (std::uint64_t{1} << 32) + 3}) {
    testing::Collector c(hub.subscribe(kScope, 100, earlier));
    auto events = c.events();
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.front().kind, WatchEventKind::kSnapshot) << "after_seq " << earlier;
    EXPECT_GT(events.front().seq, config.seq_base);
    c.subscription().cancel();
  }
  // This run's own after_seq still replays.
  testing::Collector c(hub.subscribe(kScope, 100, config.seq_base + 1));
  auto events = c.events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(events.front().seq, config.seq_base + 2);
  c.subscription().cancel();
}

}  // namespace
}  // namespace jobgw::core
