#include "core/base/log_throttle.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/manual_scheduler.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

struct Throttled {
  ManualScheduler scheduler;
  std::vector<std::string> summaries;
  std::unique_ptr<LogThrottle> throttle;

  explicit Throttled(LogThrottleConfig config = {}) {
    throttle = std::make_unique<LogThrottle>(
        scheduler, "callback refusals", config,
        [this](const std::string& line) { summaries.push_back(line); });
  }
  int admitted(std::string_view kind, int times) {
    int n = 0;
    for (int i = 0; i < times; ++i) n += throttle->admit(kind) ? 1 : 0;
    return n;
  }
};

TEST(LogThrottle, LogsTheFirstLinesOfEachKindAndSumsUpTheRestWhenTheIntervalEnds) {
  Throttled t;
  EXPECT_EQ(t.admitted("refused", 1200), 5);
  EXPECT_EQ(t.admitted("malformed", 34), 5);
  EXPECT_TRUE(t.summaries.empty());
  t.scheduler.advance(milliseconds(9999));
  EXPECT_TRUE(t.summaries.empty());
  // No further request: the timer writes the summary.
  t.scheduler.advance(milliseconds(1));
  ASSERT_EQ(t.summaries.size(), 1u);
  EXPECT_EQ(t.summaries[0],
            "event=log_suppressed count=1224 detail=\"suppressed 1224 more callback refusals in "
            "the last 10 s (malformed=29 refused=1195)\"");
  EXPECT_EQ(t.throttle->suppressed_total(), 1224u);
  // The next interval starts afresh.
  EXPECT_EQ(t.admitted("refused", 6), 5);
}

TEST(LogThrottle, NothingSuppressedMeansNoSummaryAndNoTimer) {
  Throttled t;
  EXPECT_EQ(t.admitted("refused", 5), 5);
  EXPECT_EQ(t.scheduler.pending(), 0u);
  t.scheduler.advance(milliseconds(60000));
  t.throttle->flush();
  t.throttle.reset();
  EXPECT_TRUE(t.summaries.empty());
}

// A clock whose timers never fire: the io threads are too busy to run one.
class StuckTimers : public Scheduler {
 public:
  Clock::time_point now() const override { return clock.now(); }
  std::int64_t wall_ms() const override { return clock.wall_ms(); }
  std::shared_ptr<Timer> after(milliseconds, std::function<void()>) override {
    ++timers;
    return std::make_shared<Never>();
  }
  void post(std::function<void()>) override {}

  struct Never : Timer {
    void cancel() override {}
  };
  ManualScheduler clock;
  int timers = 0;
};

TEST(LogThrottle, TheFirstCallAfterTheIntervalWritesTheSummaryBeforeItsOwnLine) {
  StuckTimers s;
  std::vector<std::string> lines;
  LogThrottle throttle(s, "refused calls", {}, [&](const std::string& l) { lines.push_back(l); });
  for (int i = 0; i < 7; ++i) {
    if (throttle.admit("UNAUTHENTICATED")) lines.push_back("line");
  }
  EXPECT_EQ(s.timers, 1);  // armed once, at the first suppressed line
  s.clock.advance(milliseconds(9000));
  EXPECT_FALSE(throttle.admit("UNAUTHENTICATED"));
  EXPECT_EQ(lines.size(), 5u);
  s.clock.advance(milliseconds(6000));
  if (throttle.admit("UNAUTHENTICATED")) lines.push_back("line");
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_EQ(
      lines[5],
      "event=log_suppressed count=3 detail=\"suppressed 3 more refused calls in the last 10 s "
      "(UNAUTHENTICATED=3)\"");
  EXPECT_EQ(lines[6], "line");
}

TEST(LogThrottle, FlushWritesWhatWasSuppressedSoFar) {
  Throttled t;
  EXPECT_EQ(t.admitted("scope", 8), 5);
  t.scheduler.advance(milliseconds(2500));
  t.throttle->flush();
  ASSERT_EQ(t.summaries.size(), 1u);
  EXPECT_NE(t.summaries[0].find("suppressed 3 more callback refusals in the last 2.5 s (scope=3)"),
            std::string::npos);
  // The timer of the flushed interval writes nothing more.
  t.scheduler.advance(milliseconds(20000));
  EXPECT_EQ(t.summaries.size(), 1u);
  // Flushing starts a fresh interval.
  EXPECT_EQ(t.admitted("scope", 5), 5);
}

TEST(LogThrottle, DestructionWritesTheOpenIntervalsSummary) {
  Throttled t;
  EXPECT_EQ(t.admitted("refused", 9), 5);
  t.throttle.reset();
  ASSERT_EQ(t.summaries.size(), 1u);
  EXPECT_NE(t.summaries[0].find("count=4 "), std::string::npos);
  // The timer outlives the throttle and finds nothing to do.
  t.scheduler.advance(milliseconds(20000));
  EXPECT_EQ(t.summaries.size(), 1u);
}

TEST(LogThrottle, KindsBeyondTheLimitShareOneCount) {
  LogThrottleConfig config;
  config.lines_per_kind = 1;
  config.max_kinds = 2;
  Throttled t(config);
  EXPECT_TRUE(t.throttle->admit("a"));
  EXPECT_TRUE(t.throttle->admit("b"));
  EXPECT_TRUE(t.throttle->admit("c"));   // the first "other"
  EXPECT_FALSE(t.throttle->admit("d"));  // "other" again
  EXPECT_FALSE(t.throttle->admit("a"));
  t.throttle->flush();
  ASSERT_EQ(t.summaries.size(), 1u);
  EXPECT_NE(t.summaries[0].find("(a=1 other=1)"), std::string::npos);
}

TEST(LogThrottle, IntervalsFollowEachOtherWithTheirOwnSummaries) {
  Throttled t;
  for (int second = 0; second < 30; ++second) {
    EXPECT_EQ(t.admitted("refused", 10), second % 10 == 0 ? 5 : 0) << "second " << second;
    t.scheduler.advance(milliseconds(1000));
  }
  ASSERT_EQ(t.summaries.size(), 3u);
  for (const auto& line : t.summaries) {
    EXPECT_NE(line.find("suppressed 95 more callback refusals in the last 10 s (refused=95)"),
              std::string::npos)
        << line;
  }
  EXPECT_EQ(t.throttle->suppressed_total(), 285u);
}

TEST(LogThrottle, CountsEveryCallFromManyThreads) {
  Throttled t;
  std::vector<std::thread> threads;
  std::vector<int> logged(8, 0);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] { logged[i] = t.admitted(i % 2 == 0 ? "even" : "odd", 1000); });
  }
  for (auto& th : threads) th.join();
  int total = 0;
  for (int n : logged) total += n;
  EXPECT_EQ(total, 10);
  EXPECT_EQ(t.throttle->suppressed_total(), 7990u);
  t.scheduler.advance(milliseconds(10000));
  ASSERT_EQ(t.summaries.size(), 1u);
  EXPECT_NE(t.summaries[0].find("(even=3995 odd=3995)"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
