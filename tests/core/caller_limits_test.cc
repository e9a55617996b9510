#include "core/security/caller_limits.h"

#include <gtest/gtest.h>

#include "tests/support/manual_scheduler.h"

namespace jobgw::core {
namespace {

using namespace std::chrono_literals;

TEST(CallerLimits, BurstThenOnePerIntervalWithARetryHint) {
  ManualScheduler clock;
  CallerLimits limits(clock, CallerLimitsConfig{2, 3, 10});
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(limits.take_submit("ci")) << i;
  auto wait = limits.take_submit("ci");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 500ms);  // 2/s: a token every 500 ms
  clock.advance(499ms);
  ASSERT_TRUE(limits.take_submit("ci"));
  clock.advance(1ms);
  EXPECT_FALSE(limits.take_submit("ci"));
  EXPECT_TRUE(limits.take_submit("ci"));
}

TEST(CallerLimits, CallersHaveBucketsOfTheirOwn) {
  ManualScheduler clock;
  CallerLimits limits(clock, CallerLimitsConfig{1, 0, 10});  // burst 0: the rate (1)
  EXPECT_FALSE(limits.take_submit("a"));
  EXPECT_TRUE(limits.take_submit("a"));
  EXPECT_FALSE(limits.take_submit("b"));
}

TEST(CallerLimits, IdleTimeRefillsOnlyUpToTheBurst) {
  ManualScheduler clock;
  CallerLimits limits(clock, CallerLimitsConfig{10, 2, 10});
  EXPECT_FALSE(limits.take_submit("ci"));
  clock.advance(std::chrono::hours(1));
  EXPECT_FALSE(limits.take_submit("ci"));
  EXPECT_FALSE(limits.take_submit("ci"));
  auto wait = limits.take_submit("ci");
  ASSERT_TRUE(wait);
  EXPECT_EQ(*wait, 100ms);
}

TEST(CallerLimits, ZeroRateMeansUnlimited) {
  ManualScheduler clock;
  CallerLimits limits(clock, CallerLimitsConfig{0, 0, 0});
  for (int i = 0; i < 10000; ++i) ASSERT_FALSE(limits.take_submit("ci"));
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limits.open_stream("ci"));
}

TEST(CallerLimits, StreamsCountPerCallerAndFreeOnClose) {
  ManualScheduler clock;
  CallerLimits limits(clock, CallerLimitsConfig{1, 1, 2});
  EXPECT_TRUE(limits.open_stream("a"));
  EXPECT_TRUE(limits.open_stream("a"));
  EXPECT_FALSE(limits.open_stream("a"));
  EXPECT_TRUE(limits.open_stream("b"));
  EXPECT_EQ(limits.open_streams("a"), 2u);
  limits.close_stream("a");
  EXPECT_TRUE(limits.open_stream("a"));
  // A stray close never goes below zero (and never grants extra slots).
  limits.close_stream("nobody");
  EXPECT_EQ(limits.open_streams("nobody"), 0u);
}

}  // namespace
}  // namespace jobgw::core
