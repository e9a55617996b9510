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
