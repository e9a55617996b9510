#include "core/watch/snapshot_diff.h"

#include <gtest/gtest.h>

#include "tests/core/watch_test_support.h"

namespace jobgw::core {
namespace {

using testing::job_state;

TEST(SnapshotDiff, NoChangeNoEvents) {
  EXPECT_TRUE(diff_snapshots(job_state(2, {7, 9}), job_state(2, {7, 9})).empty());
}

TEST(SnapshotDiff, TimesAloneAreNotChanges) {
  JobSnapshot a = job_state(2, {7});
  JobSnapshot b = a;
  b.total_time_ms = 500;
  b.steps[0].hosts[0].total_time_ms = 400;
  EXPECT_TRUE(diff_snapshots(a, b).empty());
}

TEST(SnapshotDiff, HostExitCodeTagAndErrorCodeAreChanges) {
  JobSnapshot a = job_state(2, {7, 7, 7});
  JobSnapshot b = a;
  b.steps[0].hosts[0].exit_code = 3;
  b.steps[0].hosts[1].tag = "phase2";
  b.steps[0].hosts[2].error_code = 9;
  auto ev = diff_snapshots(a, b);
  ASSERT_EQ(ev.size(), 3u);
  for (const auto& e : ev) {
    EXPECT_EQ(e.kind, WatchEventKind::kHostChanged);
    EXPECT_EQ(e.old_status, 7);
    EXPECT_EQ(e.new_status, 7);
  }
  EXPECT_EQ(ev[0].host.exit_code, 3);
  EXPECT_EQ(ev[1].host.tag, "phase2");
}

TEST(SnapshotDiff, BottomUpOrderAndUnknownCodesPassThrough) {
  auto ev = diff_snapshots(job_state(2, {7}), job_state(777, {888}, false, 3));
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev[0].kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(ev[0].new_status, 888);
  EXPECT_EQ(ev[1].kind, WatchEventKind::kStepChanged);
  EXPECT_EQ(ev[1].old_status, 2);
  EXPECT_EQ(ev[1].new_status, 3);
  EXPECT_EQ(ev[2].kind, WatchEventKind::kJobChanged);
  EXPECT_EQ(ev[2].new_status, 777);
}

TEST(SnapshotDiff, NewStepsAndHostsAppearWithOldStatusZero) {
  JobSnapshot a = job_state(2, {7});
  JobSnapshot b = a;
  StepSnapshot second;
  second.step_instance_id = 76;
  second.status = 1;
  HostResult h;
  h.host = {0, 0, "192.0.2.9"};  // matched by {cloud, ip} when it has no id
  h.status = 5;
  second.hosts.push_back(h);
  b.steps.push_back(second);
  auto ev = diff_snapshots(a, b);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].kind, WatchEventKind::kHostChanged);
  EXPECT_EQ(ev[0].old_status, 0);
  EXPECT_EQ(ev[0].step_instance_id, 76);
  EXPECT_EQ(ev[1].kind, WatchEventKind::kStepChanged);
  EXPECT_EQ(ev[1].old_status, 0);
  EXPECT_TRUE(diff_snapshots(b, b).empty());
}

}  // namespace
}  // namespace jobgw::core

namespace jobgw::core {
namespace {

TEST(SnapshotDiff, AStepWaitingForAUserIsAnEventOfItsOwnAfterItsStepChange) {
  JobSnapshot before = testing::job_state(2, {9}, false, 3);
  StepSnapshot confirm;
  confirm.step_instance_id = 76;
  confirm.type = 3;
  confirm.status = 1;
  before.steps.push_back(confirm);
  JobSnapshot after = before;
  after.steps[1].status = 7;
  after.status = 7;
  auto events = diff_snapshots(before, after);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].kind, WatchEventKind::kStepChanged);
  EXPECT_EQ(events[1].kind, WatchEventKind::kStepWaitingUser);
  EXPECT_EQ(events[1].step_instance_id, 76);
  EXPECT_EQ(events[1].old_status, 1);
  EXPECT_EQ(events[1].new_status, 7);
  EXPECT_EQ(events[2].kind, WatchEventKind::kJobChanged);
  EXPECT_STREQ(to_string(WatchEventKind::kStepWaitingUser), "step_waiting_user");

  // Confirmed: the step runs on, no second waiting event.
  JobSnapshot later = after;
  later.steps[1].status = 3;
  later.status = 2;
  for (const auto& e : diff_snapshots(after, later)) {
    EXPECT_NE(e.kind, WatchEventKind::kStepWaitingUser);
  }
}

}  // namespace
}  // namespace jobgw::core
