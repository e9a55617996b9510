#include "client/interrupt.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>

#include "client/ticker.h"
#include "tests/support/wait.h"

namespace jobgw::client {
namespace {

using jobgw::testing::wait_until;

TEST(InterruptWatch, CtrlCRunsTheCallbackInsteadOfEndingTheProcess) {
  std::atomic<int> calls{0};
  struct sigaction before {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &before), 0);
  {
    InterruptWatch watch([&calls] { ++calls; });
    EXPECT_FALSE(watch.interrupted());
    ASSERT_EQ(::raise(SIGINT), 0);
    ASSERT_TRUE(wait_until([&] { return calls.load() == 1; }, std::chrono::seconds(10)));
    EXPECT_TRUE(watch.interrupted());
    ASSERT_EQ(::raise(SIGINT), 0);  // a second Ctrl-C while it ends: once is enough
  }
  EXPECT_EQ(calls.load(), 1);
  // The disposition before it is back.
  struct sigaction now {};
  ASSERT_EQ(::sigaction(SIGINT, nullptr, &now), 0);
  EXPECT_EQ(now.sa_handler, before.sa_handler);
}

CliCommand command(const std::string& address) {
  CliCommand c;
  c.global.address = address;
  c.global.scope.set_type("biz");
  c.global.scope.set_id("2");
  return c;
}

TEST(InterruptedNote, NamesTheCommandsToWatchAgainOrTerminate) {
  EXPECT_EQ(interrupted_note(command(kDefaultAddress), 10001, false, false),
            "jobctl: interrupted; job 10001 is still running on JOB\n"
            "  watch it again:  jobctl watch --scope biz:2 10001\n"
            "  terminate it:    jobctl terminate --scope biz:2 10001\n");
  auto tls = command("jobgw.example:50051");
  tls.global.ca_file = "/etc/my ca.pem";
  tls.global.tls = true;
  EXPECT_EQ(interrupted_note(tls, 7, false, false),
            "jobctl: interrupted; job 7 is still running on JOB\n"
            "  watch it again:  jobctl watch --addr jobgw.example:50051 --ca-file '/etc/my ca.pem'"
            " --scope biz:2 7\n"
            "  terminate it:    jobctl terminate --addr jobgw.example:50051 --ca-file "
            "'/etc/my ca.pem' --scope biz:2 7\n");
}

TEST(InterruptedNote, LogsFollowAndAFinishedJob) {
  auto c = command("127.0.0.1:6000");
  c.step_id = 20001;
  EXPECT_EQ(interrupted_note(c, 5, false, true),
            "jobctl: interrupted; job 5 is still running on JOB\n"
            "  follow it again: jobctl logs -f --addr 127.0.0.1:6000 --scope biz:2 --step 20001 5\n"
            "  terminate it:    jobctl terminate --addr 127.0.0.1:6000 --scope biz:2 5\n");
  EXPECT_EQ(interrupted_note(c, 5, true, false),
            "jobctl: interrupted; job 5 had already finished\n"
            "  see it again: jobctl status --addr 127.0.0.1:6000 --scope biz:2 5\n");
}

TEST(Ticker, TicksUntilStopped) {
  std::atomic<int> ticks{0};
  Ticker ticker(std::chrono::milliseconds(5), [&ticks] { ++ticks; });
  ASSERT_TRUE(wait_until([&] { return ticks.load() >= 3; }, std::chrono::seconds(10)));
  ticker.stop();
  const int after = ticks.load();
  // Stopped: a tick already running may have ended, none starts.
  ASSERT_FALSE(wait_until([&] { return ticks.load() > after; }, std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace jobgw::client
