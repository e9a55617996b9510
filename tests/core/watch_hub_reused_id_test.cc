// JOB gives a job id out again after it is restored from a backup or replaced behind the same
// URL. Whatever the hub kept under the id belongs to the older job and must never be served as
// the new one.
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

struct Ended {
  std::int64_t job;
  std::optional<Error> error;
};

struct Fixture {
  Fixture() : source(scheduler), hub(scheduler, source, config(), nullptr, [] { return 0.5; }) {
    hub.set_end_listener([this](const Scope&, std::int64_t job, const std::optional<Error>& e) {
      ended.push_back({job, e});
    });
  }
  static WatchHubConfig config() {
    WatchHubConfig c;
    c.reads_per_second = 1000;
    c.read_burst = 1000;
    return c;
  }
  ManualScheduler scheduler;
  ScriptedSource source;
  WatchHub hub;
  std::vector<Ended> ended;
};

// The job JOB ran under kJob before it restarted: 3 hosts.
JobSnapshot old_job(int status, bool finished) {
  JobSnapshot s = job_state(status, std::vector<int>(3, finished ? 9 : 7), finished);
  s.name = "deploy-a";
  s.create_time_ms = 1'000'000;
  return s;
}

// The job JOB now runs under the same id: 5 hosts, another name and create time.
JobSnapshot new_job(int status = 2) {
  JobSnapshot s = job_state(status, std::vector<int>(5, 7));
  s.name = "deploy-b";
  s.create_time_ms = 2'000'000;
  return s;
}

std::size_t host_count(const WatchEvent& e) { return e.snapshot->steps.front().hosts.size(); }

TEST(WatchHubReusedId, SubmitOfAnIdWhoseJobFinishedStartsAfresh) {
  Fixture f;
  f.source.set(kJob, old_job(3, /*finished=*/true));
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  Collector before(f.hub.subscribe(kScope, kJob));
  ASSERT_TRUE(before.ended());
  const std::uint64_t old_finished_seq = before.events().back().seq;

  // JOB restarted and gave the id to a new job; jobgw submitted it.
  f.source.set(kJob, new_job());
  f.source.hold(true);
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(60000)).has_value())
      << "the finished job's snapshot must not answer for the new job";
  f.source.hold(false);
  f.source.release();
  f.scheduler.run_due();

  auto cached = f.hub.cached(kScope, kJob, milliseconds(60000));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->name, "deploy-b");
  EXPECT_EQ(cached->steps.front().hosts.size(), 5u);

  Collector after(f.hub.subscribe(kScope, kJob));
  ASSERT_EQ(after.events().size(), 1u);
  EXPECT_FALSE(after.ended());
  EXPECT_EQ(after.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_EQ(host_count(after.events()[0]), 5u);
  EXPECT_GT(after.events()[0].seq, old_finished_seq);

  // An after_seq from the old job's stream replays nothing of it: a fresh SNAPSHOT.
  Collector resumed(f.hub.subscribe(kScope, kJob, old_finished_seq - 1));
  ASSERT_EQ(resumed.events().size(), 1u);
  EXPECT_EQ(resumed.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_FALSE(resumed.events()[0].resumed);
  EXPECT_EQ(host_count(resumed.events()[0]), 5u);

  EXPECT_EQ(f.hub.stats().watched_jobs, 1u);
  EXPECT_EQ(f.hub.stats().retained_jobs, 0u);
}

TEST(WatchHubReusedId, ReadShowingAnotherJobEndsTheWatchedJobsStreams) {
  Fixture f;
  f.source.set(kJob, old_job(2, /*finished=*/false));
  Collector old_stream(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  ASSERT_EQ(old_stream.events().size(), 1u);
  const std::uint64_t old_seq = old_stream.events()[0].seq;

  // Submitted elsewhere after JOB restarted: the poller's next read sees the other job.
  f.source.set(kJob, new_job());
  f.scheduler.advance(milliseconds(1000));
  ASSERT_TRUE(old_stream.ended());
  ASSERT_TRUE(old_stream.end_error().has_value());
  EXPECT_EQ(old_stream.end_error()->kind, ErrorKind::kNotFound);
  EXPECT_NE(old_stream.end_error()->message.find("deploy-b"), std::string::npos)
      << old_stream.end_error()->message;
  ASSERT_EQ(old_stream.events().size(), 1u) << "no event of the new job reaches the old stream";
  ASSERT_EQ(f.ended.size(), 1u);
  EXPECT_EQ(f.ended[0].error->kind, ErrorKind::kNotFound);

  Collector fresh(f.hub.subscribe(kScope, kJob, old_seq));
  f.scheduler.run_due();
  ASSERT_GE(fresh.events().size(), 1u);
  EXPECT_EQ(fresh.events()[0].kind, WatchEventKind::kSnapshot);
  EXPECT_FALSE(fresh.events()[0].resumed);
  EXPECT_EQ(host_count(fresh.events()[0]), 5u);
  EXPECT_GT(fresh.events()[0].seq, old_seq);
}

TEST(WatchHubReusedId, SubmitOfALiveWatchedIdIsReadAtOnceAndReplaced) {
  Fixture f;
  f.source.set(kJob, old_job(2, /*finished=*/false));
  f.hub.watch(kScope, kJob);
  Collector old_stream(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  const std::size_t reads = f.source.reads(kJob);

  f.source.set(kJob, new_job());
  f.source.hold(true);
  f.hub.watch(kScope, kJob);
  EXPECT_FALSE(f.hub.cached(kScope, kJob, milliseconds(60000)).has_value())
      << "not served until a read says which job the id names";
  f.scheduler.run_due();
  EXPECT_EQ(f.source.reads(kJob), reads + 1) << "read at once, not at the next poll";
  f.source.hold(false);
  f.source.release();
  f.scheduler.run_due();

  ASSERT_TRUE(old_stream.ended());
  EXPECT_EQ(old_stream.end_error()->kind, ErrorKind::kNotFound);
  // The record of the id belongs to the new job: the old job's end is not reported.
  EXPECT_TRUE(f.ended.empty());
  auto cached = f.hub.cached(kScope, kJob, milliseconds(60000));
  ASSERT_TRUE(cached.has_value());
  EXPECT_EQ(cached->name, "deploy-b");

  // The new job is registered: polled to its end with nobody watching, then reported.
  JobSnapshot done = new_job(3);
  done.finished = true;
  f.source.set(kJob, done);
  f.scheduler.advance(milliseconds(10000));
  ASSERT_EQ(f.ended.size(), 1u);
  EXPECT_FALSE(f.ended[0].error.has_value());
}

TEST(WatchHubReusedId, SubmitOfAnIdAlreadyWatchedAsTheSameJobKeepsItsStreams) {
  Fixture f;
  f.source.set(kJob, new_job());
  Collector early(f.hub.subscribe(kScope, kJob));
  f.scheduler.run_due();
  f.hub.watch(kScope, kJob);
  f.scheduler.run_due();
  EXPECT_FALSE(early.ended());
  auto cached = f.hub.cached(kScope, kJob, milliseconds(60000));
  ASSERT_TRUE(cached.has_value());
  JobSnapshot done = new_job(3);
  done.finished = true;
  f.source.set(kJob, done);
  f.scheduler.advance(milliseconds(1000));
  ASSERT_TRUE(early.ended());
  EXPECT_FALSE(early.end_error().has_value());
  EXPECT_EQ(early.events().back().kind, WatchEventKind::kFinished);
}

TEST(WatchHubReusedId, SameJobIsDecidedByNameAndCreateTimeWhenBothReadsHaveThem) {
  JobSnapshot a = old_job(2, false);
  JobSnapshot b = a;
  b.status = 3;
  EXPECT_TRUE(same_job_instance(a, b));
  b.create_time_ms = a.create_time_ms + 1;
  EXPECT_FALSE(same_job_instance(a, b));
  b = a;
  b.name = "other";
  EXPECT_FALSE(same_job_instance(a, b));
  b = a;
  b.name.clear();
  b.create_time_ms = 0;
  EXPECT_TRUE(same_job_instance(a, b)) << "an answer without them cannot tell";
}

}  // namespace
}  // namespace jobgw::core
