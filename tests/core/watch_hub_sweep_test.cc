// The hub's sweeps (WatchHubConfig::sweep_interval): while reads wait for budget tokens, one job
// list read per scope finds the subscribed jobs whose status changed, and those are read first.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <vector>

#include "core/watch/watch_hub.h"
#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;
using testing::Collector;
using testing::job_state;
using testing::ScriptedSource;

const Scope kScope{"biz", "1"};
constexpr std::int64_t kFirstJob = 1000;

// A ScriptedSource that also lists: every job it has a state for, newest first, as JOB's job
// list would, with the list requests it was asked recorded.
class ListingSource : public ScriptedSource {
 public:
  explicit ListingSource(Scheduler& scheduler) : ScriptedSource(scheduler), clock_(scheduler) {}

  bool can_list() const override { return true; }
  void list_jobs(const JobListRequest& request,
                 std::function<void(Result<JobInstancePage>)> done) override {
    requests.push_back(request);
    if (list_error) {
      done(*list_error);
      return;
    }
    std::vector<JobInstanceSummary> all;
    for (const auto& [job, state] : listed) {
      if (state.create_time_ms < request.create_time_start ||
          state.create_time_ms > request.create_time_end) {
        continue;
      }
      JobInstanceSummary s;
      s.job_instance_id = job;
      s.status = state.status;
      s.create_time = state.create_time_ms;
      all.insert(all.begin(), s);
    }
    JobInstancePage page;
    page.start = request.start;
    page.length = request.length;
    page.total = static_cast<std::int64_t>(all.size());
    for (std::int64_t i = request.start; i < page.total && i < request.start + request.length;
         ++i) {
      page.jobs.push_back(all[static_cast<std::size_t>(i)]);
    }
    done(page);
  }

  // Sets what reads and lists both return; a new job was created by JOB's clock just now.
  void put(std::int64_t job, JobSnapshot state) {
    state.job_instance_id = job;
    auto it = listed.find(job);
    state.create_time_ms = it != listed.end() ? it->second.create_time_ms : clock_.wall_ms();
    if (first_created == 0) first_created = state.create_time_ms;
    listed[job] = state;
    set(job, state);
  }

  Scheduler& clock_;
  std::int64_t first_created = 0;
  std::map<std::int64_t, JobSnapshot> listed;
  std::vector<JobListRequest> requests;
  std::optional<Error> list_error;
};

class SweepCounter : public WatchObserver {
 public:
  void on_token_wait(milliseconds waited) override {
    longest_wait_ = std::max(longest_wait_, waited);
  }
  milliseconds longest_wait_{0};
  void on_sweep(bool ok, std::size_t changed) override {
    (ok ? ok_ : failed_)++;
    changed_ += changed;
  }
  int ok_ = 0;
  int failed_ = 0;
  std::size_t changed_ = 0;
};

// 2 reads a second for 40 subscribed jobs: each is read about every 20 s.
WatchHubConfig spent_config() {
  WatchHubConfig c;
  c.poll_floor = milliseconds(200);
  c.poll_ceiling = milliseconds(5000);
  c.poll_young_for = milliseconds(0);
  c.reads_per_second = 2;
  c.read_burst = 1;
  c.sweep_interval = milliseconds(1000);
  c.sweep_min_jobs = 8;
  c.sweep_page = 1000;
  return c;
}

struct Fixture {
  // uniform01 0.5 makes jitter neutral.
  explicit Fixture(
      WatchHubConfig config = spent_config(),
      std::function<double()> uniform01 = [] { return 0.5; })
      : source(scheduler), hub(scheduler, source, config, &counter, std::move(uniform01)) {}
  ManualScheduler scheduler;
  ListingSource source;
  SweepCounter counter;
  WatchHub hub;
  std::vector<std::unique_ptr<Collector>> streams;

  void subscribe_running(int jobs) {
    for (int i = 0; i < jobs; ++i) {
      const std::int64_t job = kFirstJob + i;
      source.put(job, job_state(2, {7}));
      streams.push_back(std::make_unique<Collector>(hub.subscribe(kScope, job)));
    }
  }
  // Until every job had its first read.
  void settle(int jobs) {
    for (int s = 0; s < 4 * jobs; ++s) {
      scheduler.advance(milliseconds(250));
      bool all = true;
      for (int i = 0; i < jobs; ++i) all = all && source.reads(kFirstJob + i) > 0;
      if (all) return;
    }
    FAIL() << "not every job was read";
  }
  // `jobs` subscribed running jobs, each read once, then at or near the ceiling with reads
  // queuing for tokens.
  void backlog(int jobs) {
    subscribe_running(jobs);
    settle(jobs);
    scheduler.advance(milliseconds(5000));
  }
  // The index of the job read last: the one whose turn is furthest.
  int read_last(int jobs) {
    int last = 0;
    Scheduler::Clock::time_point last_at{};
    for (int i = 0; i < jobs; ++i) {
      const auto& times = source.read_times(kFirstJob + i);
      if (!times.empty() && times.back() >= last_at) {
        last_at = times.back();
        last = i;
      }
    }
    return last;
  }
  // Ends the job at `index` and advances until its stream has FINISHED, at most `limit`:
  // how long that took.
  milliseconds end_and_wait(int index, milliseconds limit) {
    source.put(kFirstJob + index, job_state(3, {9}, /*finished=*/true));
    const auto ended = scheduler.now();
    while (!finished(index) && scheduler.now() - ended < limit) {
      scheduler.advance(milliseconds(50));
    }
    return std::chrono::duration_cast<milliseconds>(scheduler.now() - ended);
  }
  bool finished(int index) const {
    for (const auto& e : streams[static_cast<std::size_t>(index)]->events()) {
      if (e.kind == WatchEventKind::kFinished) return true;
    }
    return false;
  }
};

TEST(WatchHubSweepTest, UnderASpentBudgetAJobsEndIsNoticedWithinASweepNotItsTurn) {
  Fixture f;
  constexpr int kJobs = 40;
  f.backlog(kJobs);

  constexpr int kEnding = 17;
  const milliseconds took = f.end_and_wait(kEnding, milliseconds(30000));
  ASSERT_TRUE(f.finished(kEnding));
  // A sweep within a second, its changed job next in line for the following token (2/s).
  EXPECT_LE(took, milliseconds(2100));
  EXPECT_GE(f.counter.changed_, 1u);
  ASSERT_FALSE(f.source.requests.empty());
  const JobListRequest& asked = f.source.requests.back();
  EXPECT_EQ(asked.scope.id, "1");
  EXPECT_LE(asked.create_time_start, f.source.first_created);
  EXPECT_GE(asked.create_time_end, f.source.first_created);
  EXPECT_EQ(asked.length, 1000);

  // The others are still running and no sweep read another one early.
  for (int i = 0; i < kJobs; ++i) {
    if (i != kEnding) {
      EXPECT_FALSE(f.finished(i)) << i;
    }
  }
  EXPECT_EQ(f.counter.changed_, 1u);
}

// 60 jobs at 2 reads a second: the last first read comes 30 s after the subscribe. A job that
// ends before its first read is found by the list (its create time estimated from when jobgw
// began watching it) and read at once.
TEST(WatchHubSweepTest, AJobEndingBeforeItsFirstReadIsFoundByTheList) {
  Fixture f;
  constexpr int kJobs = 60;
  f.subscribe_running(kJobs);
  f.scheduler.advance(milliseconds(3000));
  constexpr int kEnding = kJobs - 2;
  ASSERT_EQ(f.source.reads(kFirstJob + kEnding), 0u);
  const milliseconds took = f.end_and_wait(kEnding, milliseconds(40000));
  ASSERT_TRUE(f.finished(kEnding));
  EXPECT_LE(took, milliseconds(2100));
  ASSERT_FALSE(f.source.requests.empty());
  EXPECT_LE(f.source.requests.front().create_time_start, f.source.first_created - 60000);
  // Jobs listed running before their first read are not read early: one read each so far at
  // most, in the order they were subscribed.
  EXPECT_EQ(f.source.reads(kFirstJob + kJobs - 1), 0u);
}

TEST(WatchHubSweepTest, TheSameBudgetWithoutSweepsTakesAboutATurnOfTheQueue) {
  WatchHubConfig c = spent_config();
  c.sweep_interval = milliseconds(0);
  Fixture f(c);
  constexpr int kJobs = 40;
  f.backlog(kJobs);
  const int last = f.read_last(kJobs);
  const milliseconds took = f.end_and_wait(last, milliseconds(60000));
  ASSERT_TRUE(f.finished(last));
  EXPECT_GT(took, milliseconds(5000));
  EXPECT_TRUE(f.source.requests.empty());
}

TEST(WatchHubSweepTest, NoListReadWhileReadsGetTheirTokens) {
  WatchHubConfig c = spent_config();
  c.reads_per_second = 1000;
  c.read_burst = 1000;
  Fixture f(c);
  f.subscribe_running(40);
  f.scheduler.advance(milliseconds(30000));
  EXPECT_TRUE(f.source.requests.empty());
  EXPECT_EQ(f.counter.ok_, 0);
}

// 20 jobs at the 5 s ceiling, read in bursts on the 250 ms poll grid: 4 reads a second within a
// budget of 10, the bursts waiting a fraction of a second for tokens. A list read would notice
// nothing sooner than the reads themselves.
TEST(WatchHubSweepTest, ShortWaitsInBurstsOnThePollGridMakeNoListReads) {
  WatchHubConfig c = spent_config();
  c.reads_per_second = 10;
  c.read_burst = 1;
  c.poll_grid = milliseconds(250);
  // Jitter as in production, spreading the jobs over the grid (a fixed sequence, so the test
  // repeats exactly).
  double u = 0;
  Fixture f(c, [&u] {
    u += 0.618034;
    u -= static_cast<int>(u);
    return u;
  });
  f.subscribe_running(20);
  // The first reads, at the floor, do overrun the budget for a while.
  f.scheduler.advance(milliseconds(30000));
  f.source.requests.clear();
  f.counter.longest_wait_ = milliseconds(0);
  const std::size_t settled = f.source.total_reads();
  f.scheduler.advance(milliseconds(60000));
  const std::size_t reads = f.source.total_reads() - settled;
  EXPECT_GE(reads, 200u) << "every job still read at its ceiling";
  EXPECT_GT(f.counter.longest_wait_, milliseconds(0)) << "bursts did wait";
  EXPECT_TRUE(f.source.requests.empty()) << f.source.requests.size() << " list reads";
  EXPECT_LT(f.counter.longest_wait_, milliseconds(1000));
}

TEST(WatchHubSweepTest, ScopesWithFewSubscribedJobsAreLeftToTheirReads) {
  WatchHubConfig c = spent_config();
  c.reads_per_second = 0.5;  // 6 jobs still make reads wait
  Fixture f(c);
  f.subscribe_running(6);
  f.scheduler.advance(milliseconds(60000));
  EXPECT_TRUE(f.source.requests.empty());
}

TEST(WatchHubSweepTest, AFailedListReadLeavesTheJobsToTheirScheduleAndIsCounted) {
  Fixture f;
  f.source.list_error = Error::internal("list refused");
  constexpr int kJobs = 20;
  f.subscribe_running(kJobs);
  f.settle(kJobs);
  f.source.put(kFirstJob + 3, job_state(3, {9}, /*finished=*/true));
  for (int s = 0; s < 600 && !f.finished(3); ++s) f.scheduler.advance(milliseconds(100));
  EXPECT_TRUE(f.finished(3)) << "its own read still comes";
  EXPECT_GT(f.counter.failed_, 0);
  EXPECT_EQ(f.counter.ok_, 0);

  // Each failure in a row doubles the wait before the next sweep, up to 64 intervals.
  f.source.requests.clear();
  f.scheduler.advance(milliseconds(600000));
  const std::size_t failing = f.source.requests.size();
  EXPECT_GE(failing, 9u);
  EXPECT_LE(failing, 12u) << "10 minutes at 64 s apart, not 600 sweeps";
  f.source.list_error.reset();
  f.scheduler.advance(milliseconds(70000));
  f.source.requests.clear();
  f.scheduler.advance(milliseconds(10000));
  EXPECT_GE(f.source.requests.size(), 4u) << "one good sweep and they are a second apart again";
}

TEST(WatchHubSweepTest, AListLongerThanAPageIsReadPageByPageWithinItsBound) {
  WatchHubConfig c = spent_config();
  c.sweep_page = 10;
  c.reads_per_second = 10;
  Fixture f(c);
  constexpr int kJobs = 100;
  f.subscribe_running(kJobs);
  // Others' jobs in the same window: more than the one spare page covers.
  for (int i = 0; i < 200; ++i) {
    JobSnapshot other = job_state(3, {9}, true);
    other.create_time_ms = f.source.first_created;
    f.source.listed[50000 + i] = other;
  }
  f.scheduler.advance(milliseconds(60000));
  // Sweep after sweep, each reading its pages in order; once every job had its first read, a
  // sweep of 100 jobs reads 10 pages and one spare of the 30 the list has, never more.
  std::vector<std::vector<std::int64_t>> rounds;
  for (const auto& r : f.source.requests) {
    if (r.start == 0) rounds.emplace_back();
    ASSERT_FALSE(rounds.empty());
    rounds.back().push_back(r.start);
  }
  ASSERT_GE(rounds.size(), 3u);
  std::size_t longest = 0;
  for (const auto& round : rounds) {
    for (std::size_t i = 0; i < round.size(); ++i) EXPECT_EQ(round[i], 10 * static_cast<int>(i));
    EXPECT_LE(round.size(), 11u);
    longest = std::max(longest, round.size());
  }
  EXPECT_EQ(longest, 11u);
}

// A job whose read waits far back in the queue is read next once something says it changed:
// the waiting read moves up instead of a second read queuing behind it.
TEST(WatchHubSweepTest, APokedJobsWaitingReadGoesFirst) {
  WatchHubConfig c = spent_config();
  c.sweep_interval = milliseconds(0);
  Fixture f(c);
  constexpr int kJobs = 40;
  f.backlog(kJobs);
  const std::int64_t last = kFirstJob + f.read_last(kJobs);
  const std::size_t before = f.source.reads(last);
  f.source.put(last, job_state(3, {9}, /*finished=*/true));
  ASSERT_TRUE(f.hub.poke(last));
  f.scheduler.advance(milliseconds(600));
  EXPECT_EQ(f.source.reads(last), before + 1);
  EXPECT_TRUE(f.finished(static_cast<int>(last - kFirstJob)));
}

}  // namespace
}  // namespace jobgw::core
