#include "client/job_state.h"

#include <gtest/gtest.h>

#include "tests/client/events.h"

namespace jobgw::client {
namespace {

using namespace jobgw::client::testing;

TEST(JobState, AppliesChangesOnTopOfSnapshot) {
  JobState state;
  state.apply(snapshot_event(1, running_job(1000), 1000));
  EXPECT_EQ(state.counts().done, 0);
  state.apply(host_event(2, 101, 5, 7, 0, 1500));
  state.apply(host_event(3, 101, 7, 104, 2, 2500));
  const auto& h = state.snapshot().steps(0).hosts(0);
  EXPECT_EQ(h.status(), v1::HOST_STATUS_NONZERO_EXIT_CODE);
  EXPECT_EQ(h.exit_code(), 2);
  EXPECT_EQ(h.start_time_ms(), 1500);
  EXPECT_EQ(h.end_time_ms(), 2500);
  auto c = state.counts();
  EXPECT_EQ(c.total, 2);
  EXPECT_EQ(c.done, 1);
  EXPECT_EQ(c.by_status["nonzero_exit_code"], 1);
  EXPECT_EQ(c.by_status["waiting"], 1);
  state.apply(job_event(4, 2, 4, 2600));
  EXPECT_EQ(state.snapshot().status(), v1::JOB_STATUS_FAILED);
  EXPECT_EQ(state.last_seq(), 4u);
}

TEST(JobState, SnapshotReplacesEverything) {
  JobState state;
  state.apply(snapshot_event(1, running_job(1000), 1000));
  state.apply(host_event(2, 101, 5, 9, 0, 1500));
  // A fresh (resumed=false) snapshot after a reconnect: what it says is the truth.
  auto fresh = running_job(1000);
  fresh.mutable_steps(0)->mutable_hosts()->RemoveLast();
  state.apply(snapshot_event(7, fresh, 3000));
  EXPECT_EQ(state.counts().total, 1);
  EXPECT_EQ(state.snapshot().steps(0).hosts(0).status(), v1::HOST_STATUS_WAITING);
  EXPECT_FALSE(state.finished());
  state.apply(finished_event(9, fresh, 4000));
  EXPECT_TRUE(state.finished());
}

TEST(JobState, UnknownHostIsAdded) {
  JobState state;
  state.apply(snapshot_event(1, running_job(1000), 1000));
  state.apply(host_event(2, 150, 5, 777, 0, 1100));
  EXPECT_EQ(state.counts().total, 3);
  EXPECT_EQ(state.counts().by_status["777"], 1);
}

TEST(JobState, ReachabilityNoticesChangeNothing) {
  JobState state;
  state.apply(snapshot_event(1, running_job(1000), 1000));
  state.apply(host_event(2, 101, 5, 7, 0, 1500));
  const std::string before = state.snapshot().SerializeAsString();
  for (auto kind : {v1::EVENT_KIND_JOB_UNREACHABLE, v1::EVENT_KIND_JOB_REACHABLE}) {
    v1::StatusEvent notice;
    notice.set_seq(9);  // a notice names the latest change's seq; 9 was never seen
    notice.set_kind(kind);
    notice.set_observed_at_ms(5000);
    notice.mutable_reachability()->set_unreachable_since_ms(4000);
    EXPECT_TRUE(is_notice(notice));
    state.apply(notice);
    EXPECT_EQ(state.snapshot().SerializeAsString(), before);
    EXPECT_EQ(state.last_seq(), 2u);
  }
  EXPECT_FALSE(is_notice(host_event(3, 101, 7, 9, 0, 1600)));
}

TEST(JobState, CountsOutcomes) {
  JobState state;
  auto snap = running_job(1000);
  snap.mutable_steps(0)->mutable_hosts(0)->set_status(v1::HOST_STATUS_LAST_SUCCESS);
  snap.mutable_steps(0)->mutable_hosts(1)->set_status(v1::HOST_STATUS_GSE_TIMEOUT);
  state.replace(snap);
  auto c = state.counts();
  EXPECT_EQ(c.success, 1);
  EXPECT_EQ(c.failed, 1);
  EXPECT_EQ(c.running + c.waiting, 0);
  EXPECT_EQ(host_outcome(v1::HOST_STATUS_RUNNING), Outcome::kRunning);
  EXPECT_EQ(host_outcome(v1::HOST_STATUS_WAITING), Outcome::kWaiting);
  EXPECT_EQ(host_outcome(777), Outcome::kFailed);  // an unknown final status is not a success
}

}  // namespace
}  // namespace jobgw::client
