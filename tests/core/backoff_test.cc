#include "core/base/backoff.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

TEST(BackoffTest, GrowsExponentiallyUpToMaxWithoutJitter) {
  Backoff backoff({milliseconds(100), milliseconds(1000), 2.0, 0.0}, [] { return 0.7; });
  EXPECT_EQ(backoff.delay(1), milliseconds(100));
  EXPECT_EQ(backoff.delay(2), milliseconds(200));
  EXPECT_EQ(backoff.delay(3), milliseconds(400));
  EXPECT_EQ(backoff.delay(4), milliseconds(800));
  EXPECT_EQ(backoff.delay(5), milliseconds(1000));
  EXPECT_EQ(backoff.delay(6), milliseconds(1000));
}

TEST(BackoffTest, JitterOnlyShortensTheDelay) {
  const BackoffPolicy policy{milliseconds(100), milliseconds(1000), 2.0, 0.5};
  EXPECT_EQ(Backoff(policy, [] { return 0.0; }).delay(1), milliseconds(100));
  EXPECT_EQ(Backoff(policy, [] { return 1.0; }).delay(1), milliseconds(50));
  EXPECT_EQ(Backoff(policy, [] { return 0.5; }).delay(2), milliseconds(150));
  EXPECT_EQ(Backoff(policy, [] { return 1.0; }).delay(10), milliseconds(500));
}

TEST(BackoffTest, UsesTheInjectedSequence) {
  std::vector<double> values{0.0, 1.0, 0.25};
  std::size_t next = 0;
  Backoff backoff({milliseconds(200), milliseconds(200), 1.0, 1.0},
                  [&] { return values[next++ % values.size()]; });
  EXPECT_EQ(backoff.delay(1), milliseconds(200));
  EXPECT_EQ(backoff.delay(1), milliseconds(0));
  EXPECT_EQ(backoff.delay(1), milliseconds(150));
  EXPECT_EQ(next, 3u);
}

TEST(BackoffTest, HugeAttemptNumbersDoNotOverflow) {
  Backoff backoff({milliseconds(100), milliseconds(30000), 10.0, 0.0}, [] { return 0.0; });
  EXPECT_EQ(backoff.delay(1'000'000), milliseconds(30000));
}

TEST(BackoffTest, AttemptBelowOneCountsAsFirst) {
  Backoff backoff({milliseconds(100), milliseconds(1000), 2.0, 0.0}, [] { return 0.0; });
  EXPECT_EQ(backoff.delay(0), milliseconds(100));
  EXPECT_EQ(backoff.delay(-5), milliseconds(100));
}

TEST(BackoffTest, NonsensePoliciesAreClamped) {
  // Multiplier below 1 would shrink delays; jitter above 1 would make them negative.
  Backoff shrinking({milliseconds(100), milliseconds(1000), 0.5, 0.0}, [] { return 0.0; });
  EXPECT_EQ(shrinking.delay(3), milliseconds(100));
  EXPECT_EQ(shrinking.policy().multiplier, 1.0);
  Backoff wild_jitter({milliseconds(100), milliseconds(1000), 2.0, 5.0}, [] { return 1.0; });
  EXPECT_EQ(wild_jitter.delay(1), milliseconds(0));
  Backoff max_below_initial({milliseconds(500), milliseconds(100), 2.0, 0.0}, [] { return 0.0; });
  EXPECT_EQ(max_below_initial.delay(4), milliseconds(500));
  Backoff bad_random({milliseconds(100), milliseconds(1000), 2.0, 0.5}, [] { return 7.0; });
  EXPECT_EQ(bad_random.delay(1), milliseconds(50));
}

TEST(BackoffTest, DefaultRandomnessStaysWithinBounds) {
  Backoff backoff({milliseconds(1000), milliseconds(1000), 2.0, 0.3});
  bool varied = false;
  const auto first = backoff.delay(1);
  for (int i = 0; i < 1000; ++i) {
    const auto d = backoff.delay(1);
    ASSERT_GE(d, milliseconds(700));
    ASSERT_LE(d, milliseconds(1000));
    varied = varied || d != first;
  }
  EXPECT_TRUE(varied);
}

}  // namespace
}  // namespace jobgw::core
