// A hub fed by a WatchFeed (replicas on Redis) never reads JOB: its watches are filled from the
// shared log, and a poller hub seeded with the log's state adds only what is new.
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
constexpr std::int64_t kJob = 10001;

// Records what the hub asks of its feed.
class RecordingFeed : public WatchFeed {
 public:
  void follow(const Scope&, std::int64_t job) override { followed.push_back(job); }
  void unfollow(const Scope&, std::int64_t job) override { unfollowed.push_back(job); }
  void submitted(const Scope&, std::int64_t job) override { submits.push_back(job); }
  bool poke(std::int64_t job) override {
    pokes.push_back(job);
    return true;
  }
  void reload(const Scope&, std::int64_t job) override { reloads.push_back(job); }
  std::vector<std::int64_t> followed, unfollowed, submits, pokes, reloads;
};

struct Fixture {
  Fixture() : source(scheduler), hub(scheduler, source, config(), nullptr, [] { return 0.5; }) {
    hub.set_feed(&feed);
  }
  static WatchHubConfig config() {
    WatchHubConfig c;
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    c.finished_retention = milliseconds(1000);
    return c;
  }
  static std::shared_ptr<const JobSnapshot> snap(int job_status, std::vector<int> hosts,
                                                 bool finished = false) {
    return std::make_shared<const JobSnapshot>(job_state(job_status, std::move(hosts), finished));
  }
  static WatchEvent host_changed(std::uint64_t seq, int from, int to) {
    WatchEvent e;
    e.seq = seq;
    e.kind = WatchEventKind::kHostChanged;
    e.step_instance_id = 75;
    e.old_status = from;
    e.new_status = to;
    e.host.host.host_id = 101;
    e.host.status = to;
    return e;
  }
  static WatchEvent finished(std::uint64_t seq, std::shared_ptr<const JobSnapshot> s) {
    WatchEvent e;
    e.seq = seq;
    e.kind = WatchEventKind::kFinished;
    e.snapshot = std::move(s);
    return e;
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  RecordingFeed feed;
  WatchHub hub;
};

TEST(WatchHubFeed, AFedHubNeverReadsJobAndServesTheLoadedStateAsASnapshot) {
  Fixture f;
  f.source.set(kJob, job_state(2, {7}));
  Collector early(f.hub.subscribe(kScope, kJob));
  ASSERT_EQ(f.feed.followed, std::vector<std::int64_t>{kJob});
  f.scheduler.advance(milliseconds(5000));
  EXPECT_EQ(f.source.reads(kJob), 0u);
  EXPECT_TRUE(early.items().empty());  // waits for the feed

  FeedState state;
  state.snapshot = Fixture::snap(2, {7});
  state.seq = 500;
  f.hub.feed_state(kScope, kJob, state);
  ASSERT_EQ(early.events().size(), 1u);
  EXPECT_EQ(early.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(early.events()[0].seq, 500u);

  ASSERT_TRUE(
      f.hub.feed_events(kScope, kJob, {Fixture::host_changed(501, 7, 9)}, Fixture::snap(2, {9})));
  ASSERT_EQ(early.events().size(), 2u);
  EXPECT_EQ(early.events()[1].seq, 501u);
  // A late subscriber's SNAPSHOT is the feed's latest state.
  Collector late(f.hub.subscribe(kScope, kJob));
  ASSERT_EQ(late.events().size(), 1u);
  EXPECT_EQ(late.events()[0].seq, 501u);
  EXPECT_EQ(late.events()[0].snapshot->steps[0].hosts[0].status, 9);
  EXPECT_EQ(f.source.reads(kJob), 0u);
}

TEST(WatchHubFeed, AfterSeqResumesFromTheLoadedHistory) {
  Fixture f;
  Collector resumed(f.hub.subscribe(kScope, kJob, 501));
  FeedState state;
  state.snapshot = Fixture::snap(2, {9});
  state.seq = 503;
  state.history = {Fixture::host_changed(501, 5, 7), Fixture::host_changed(502, 7, 9),
                   Fixture::host_changed(503, 9, 9)};
  f.hub.feed_state(kScope, kJob, state);
  ASSERT_EQ(resumed.events().size(), 2u);
  EXPECT_EQ(resumed.events()[0].seq, 502u);
  EXPECT_TRUE(resumed.events()[0].resumed);
  EXPECT_EQ(resumed.events()[1].seq, 503u);
}

TEST(WatchHubFeed, ChangesArrivingBeforeTheStateAreKeptAndAGapAsksForAReload) {
  Fixture f;
  Collector c(f.hub.subscribe(kScope, kJob));
  // Published while the state was loading: the load already holds 501, 502 is new.
  EXPECT_TRUE(f.hub.feed_events(
      kScope, kJob, {Fixture::host_changed(501, 5, 7), Fixture::host_changed(502, 7, 9)}, nullptr));
  FeedState state;
  state.snapshot = Fixture::snap(2, {7});
  state.seq = 501;
  f.hub.feed_state(kScope, kJob, state);
  ASSERT_EQ(c.events().size(), 2u);
  EXPECT_EQ(c.events()[0].seq, 501u);  // SNAPSHOT
  EXPECT_EQ(c.events()[1].seq, 502u);

  // 504 without 503: a message was missed.
  EXPECT_FALSE(f.hub.feed_events(kScope, kJob, {Fixture::host_changed(504, 9, 9)}, nullptr));
  // The reload brings the stream to the log's state with one SNAPSHOT.
  FeedState reloaded;
  reloaded.snapshot = Fixture::snap(2, {9});
  reloaded.seq = 504;
  f.hub.feed_state(kScope, kJob, reloaded);
  ASSERT_EQ(c.events().size(), 3u);
  EXPECT_EQ(c.events()[2].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(c.events()[2].seq, 504u);
}

TEST(WatchHubFeed, FinishedEndsTheStreamsAndTheLastSubscriberLeavingUnfollows) {
  Fixture f;
  Collector c(f.hub.subscribe(kScope, kJob));
  FeedState state;
  state.snapshot = Fixture::snap(2, {7});
  state.seq = 10;
  f.hub.feed_state(kScope, kJob, state);
  auto done = Fixture::snap(3, {9}, /*finished=*/true);
  ASSERT_TRUE(f.hub.feed_events(kScope, kJob, {Fixture::finished(11, done)}, done));
  ASSERT_TRUE(c.ended());
  EXPECT_FALSE(c.end_error().has_value());
  EXPECT_EQ(c.events().back().kind, WatchEventKind::kFinished);
  // Finished jobs stay for late readers, then the hub lets the feed go.
  f.scheduler.advance(milliseconds(1100));
  EXPECT_EQ(f.feed.unfollowed, std::vector<std::int64_t>{kJob});

  Collector other(f.hub.subscribe(kScope, 10002));
  other.subscription().cancel();
  EXPECT_EQ(f.feed.unfollowed.back(), 10002);
}

// A finished fed watch: a stream asking what follows its end waits for the shared log, which
// either still ends there (the stream gets the end) or runs on (the stream continues).
std::uint64_t finish_fed_job(Fixture& f) {
  Collector c(f.hub.subscribe(kScope, kJob));
  FeedState state;
  state.snapshot = Fixture::snap(4, {4});
  state.seq = 10;
  f.hub.feed_state(kScope, kJob, state);
  auto failed = Fixture::snap(4, {4}, /*finished=*/true);
  EXPECT_TRUE(f.hub.feed_events(kScope, kJob, {Fixture::finished(11, failed)}, failed));
  EXPECT_TRUE(c.ended());
  return 11;
}

TEST(WatchHubFeed, AStreamAskingPastAKeptEndWaitsForTheLogAndGetsTheEndWhenItStands) {
  Fixture f;
  const std::uint64_t end = finish_fed_job(f);
  Collector late(f.hub.subscribe(kScope, kJob, end));
  EXPECT_TRUE(late.items().empty()) << "another replica may have reopened it";
  EXPECT_EQ(f.feed.reloads, std::vector<std::int64_t>{kJob});
  FeedState still;
  still.snapshot = Fixture::snap(4, {4}, /*finished=*/true);
  still.seq = end;
  f.hub.feed_state(kScope, kJob, still);
  ASSERT_TRUE(late.ended());
  EXPECT_EQ(late.events().back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(late.events().back().seq, end);

  // A stream from before the end replays from the history at once, no reload.
  Collector replay(f.hub.subscribe(kScope, kJob, end - 1));
  EXPECT_TRUE(replay.ended());
  EXPECT_EQ(f.feed.reloads.size(), 1u);
}

TEST(WatchHubFeed, AStreamAskingPastAKeptEndContinuesWhenTheJobRanAgain) {
  Fixture f;
  const std::uint64_t end = finish_fed_job(f);
  Collector late(f.hub.subscribe(kScope, kJob, end));
  FeedState reopened;
  reopened.snapshot = Fixture::snap(4, {4}, /*finished=*/true);
  reopened.seq = end;
  reopened.reopened = true;
  f.hub.feed_reopened(kScope, kJob, end);
  f.hub.feed_state(kScope, kJob, reopened);
  EXPECT_FALSE(late.ended()) << "the job runs again";
  auto done = Fixture::snap(3, {9}, /*finished=*/true);
  ASSERT_TRUE(f.hub.feed_events(
      kScope, kJob, {Fixture::host_changed(end + 1, 4, 9), Fixture::finished(end + 2, done)},
      done));
  ASSERT_TRUE(late.ended());
  const auto events = late.events();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events.front().seq, end + 1);
  EXPECT_EQ(events.back().kind, WatchEventKind::kFinished);
  EXPECT_EQ(events.back().snapshot->status, 3);
}

TEST(WatchHubFeed, AStreamAskingPastAKeptEndGetsItWhenTheWatchGoesFirst) {
  Fixture f;
  const std::uint64_t end = finish_fed_job(f);
  Collector late(f.hub.subscribe(kScope, kJob, end));
  EXPECT_TRUE(late.items().empty());
  f.scheduler.advance(milliseconds(1100));  // the finished watch is no longer kept
  ASSERT_TRUE(late.ended()) << "never left waiting on a watch that is gone";
  EXPECT_EQ(late.events().back().kind, WatchEventKind::kFinished);
}

TEST(WatchHubFeed, AnEndedPollerEndsTheStreamsWithItsError) {
  Fixture f;
  Collector c(f.hub.subscribe(kScope, kJob));
  FeedState ended;
  ended.end = Error::internal("gave up");
  ended.end->kind = ErrorKind::kTimeout;
  f.hub.feed_state(kScope, kJob, ended);
  ASSERT_TRUE(c.ended());
  ASSERT_TRUE(c.end_error().has_value());
  EXPECT_EQ(c.end_error()->kind, ErrorKind::kTimeout);
}

TEST(WatchHubFeed, SubmitsAndPokesGoToTheFeed) {
  Fixture f;
  f.hub.watch(kScope, kJob);
  EXPECT_TRUE(f.hub.poke(kJob));
  EXPECT_EQ(f.feed.submits, std::vector<std::int64_t>{kJob});
  EXPECT_EQ(f.feed.pokes, std::vector<std::int64_t>{kJob});
  EXPECT_EQ(f.hub.stats().watched_jobs, 0u);
}

TEST(WatchHubSeed, APollerSeededWithTheLogsStateReadsAtOnceAndSendsOnlyWhatIsNew) {
  ManualScheduler scheduler;
  ScriptedSource source(scheduler);
  WatchHub poller(scheduler, source, Fixture::config(), nullptr, [] { return 0.5; });
  source.set(kJob, job_state(2, {9}));
  WatchSeed seed;
  seed.snapshot = Fixture::snap(2, {7});
  seed.seq = 700;
  Collector c(poller.subscribe_from(kScope, kJob, seed));
  scheduler.run_due();
  EXPECT_EQ(source.reads(kJob), 1u);
  // The host went from 7 to 9 since the log's state: one change, no SNAPSHOT.
  ASSERT_EQ(c.events().size(), 1u);
  EXPECT_EQ(c.events()[0].kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(c.events()[0].new_status, 9);
  auto at = poller.position(kScope, kJob);
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->seq, 701u);

  // Without a seed snapshot, the first read is a SNAPSHOT.
  source.set(10002, job_state(2, {7}));
  Collector fresh(poller.subscribe_from(kScope, 10002, WatchSeed{}));
  scheduler.run_due();
  ASSERT_EQ(fresh.events().size(), 1u);
  EXPECT_EQ(fresh.events()[0].kind, WatchEventKind::kSnapshot);
}

}  // namespace
}  // namespace jobgw::core
