#include "core/watch/poll_policy.h"

#include <gtest/gtest.h>

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

WatchHubConfig config() {
  WatchHubConfig c;
  c.poll_floor = milliseconds(200);
  c.poll_ceiling = milliseconds(1000);
  c.poll_growth = 2.0;
  c.poll_young_for = milliseconds(5000);
  c.poll_jitter = 0.1;
  return c;
}

TEST(PollPolicy, FloorOnChangeOrYouthElseGrowsToTheCeiling) {
  PollPolicy policy(config(), [] { return 0.5; });
  EXPECT_EQ(policy.next_interval(milliseconds(800), /*changed=*/true, false), milliseconds(200));
  EXPECT_EQ(policy.next_interval(milliseconds(800), false, /*young=*/true), milliseconds(200));
  EXPECT_EQ(policy.next_interval(milliseconds(200), false, false), milliseconds(400));
  EXPECT_EQ(policy.next_interval(milliseconds(800), false, false), milliseconds(1000));
}

TEST(PollPolicy, JitterStaysWithinItsFraction) {
  double next = 0.0;
  PollPolicy policy(config(), [&next] { return next; });
  EXPECT_EQ(policy.jittered(milliseconds(1000)), milliseconds(900));
  next = 0.5;
  EXPECT_EQ(policy.jittered(milliseconds(1000)), milliseconds(1000));
  next = 1.0;
  EXPECT_EQ(policy.jittered(milliseconds(1000)), milliseconds(1100));
}

TEST(PollPolicy, YoungByJobsStartTimeElseByTheWatchsAge) {
  PollPolicy policy(config(), [] { return 0.5; });
  const auto now = Scheduler::Clock::time_point(std::chrono::hours(1));
  JobSnapshot started_long_ago;
  started_long_ago.start_time_ms = 1'000'000;
  // Watched only just now, but JOB says it started 60 s ago: not young.
  EXPECT_FALSE(policy.is_young(now, started_long_ago, now, 1'060'000));
  EXPECT_TRUE(policy.is_young(now, started_long_ago, now, 1'004'000));
  JobSnapshot no_times;
  EXPECT_TRUE(policy.is_young(now - milliseconds(4000), no_times, now, 0));
  EXPECT_FALSE(policy.is_young(now - milliseconds(6000), no_times, now, 0));
  WatchHubConfig off = config();
  off.poll_young_for = milliseconds(0);
  EXPECT_FALSE(PollPolicy(off, [] { return 0.5; }).is_young(now, no_times, now, 0));
}

}  // namespace
}  // namespace jobgw::core
