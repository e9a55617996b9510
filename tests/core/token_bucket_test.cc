#include "core/watch/token_bucket.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/support/manual_scheduler.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

TEST(TokenBucket, BurstThenRate) {
  ManualScheduler s;
  auto bucket = TokenBucket::create(s, /*rate=*/10, /*burst=*/3);
  int ran = 0;
  for (int i = 0; i < 13; ++i) bucket->acquire([&] { ran++; });
  EXPECT_EQ(ran, 3);  // the burst, inline
  EXPECT_EQ(bucket->waiting(), 10u);
  s.advance(milliseconds(500));
  EXPECT_EQ(ran, 8);
  s.advance(milliseconds(500));
  EXPECT_EQ(ran, 13);
  EXPECT_EQ(bucket->waiting(), 0u);
}

TEST(TokenBucket, InOrderWithSignalsFirst) {
  ManualScheduler s;
  auto bucket = TokenBucket::create(s, 1, 1);
  std::vector<std::string> order;
  bucket->acquire([&] { order.push_back("first"); });
  bucket->acquire([&] { order.push_back("a"); });
  bucket->acquire([&] { order.push_back("b"); });
  ReadRank signal;
  signal.kind = ReadRank::Kind::kSignal;
  bucket->acquire([&] { order.push_back("urgent"); }, signal);
  s.advance(milliseconds(5000));
  EXPECT_EQ(order, (std::vector<std::string>{"first", "urgent", "a", "b"}));
}

TEST(TokenBucket, ZeroRateIsUnlimited) {
  ManualScheduler s;
  auto bucket = TokenBucket::create(s, 0, 1);
  int ran = 0;
  for (int i = 0; i < 1000; ++i) bucket->acquire([&] { ran++; });
  EXPECT_EQ(ran, 1000);
}

TEST(TokenBucket, IdleTimeRefillsOnlyUpToBurst) {
  ManualScheduler s;
  auto bucket = TokenBucket::create(s, 100, 2);
  s.advance(milliseconds(60000));
  int ran = 0;
  for (int i = 0; i < 5; ++i) bucket->acquire([&] { ran++; });
  EXPECT_EQ(ran, 2);
}

}  // namespace
}  // namespace jobgw::core
