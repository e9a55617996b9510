#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>

#include "core/base/scheduler.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

TEST(AsioScheduler, CancelStopsAPendingTimer) {
  boost::asio::io_context io;
  AsioScheduler scheduler(io);
  int fired = 0;
  auto timer = scheduler.after(milliseconds(60000), [&] { ++fired; });
  timer->cancel();
  io.run();  // returns only once the cancelled wait is gone
  EXPECT_EQ(fired, 0);
}

// WatchHub::shutdown cancels a poller's timer and drops the handle at once; when the timer had
// already fired, the handle was its last owner. The posted cancel must not outlive the timer
// (AddressSanitizer reported a heap-use-after-free here).
TEST(AsioScheduler, CancelThenDropAfterTheTimerFired) {
  boost::asio::io_context io;
  AsioScheduler scheduler(io);
  int fired = 0;
  auto timer = scheduler.after(milliseconds(0), [&] { ++fired; });
  io.run();
  ASSERT_EQ(fired, 1);
  timer->cancel();
  timer.reset();
  io.restart();
  io.run();
  EXPECT_EQ(fired, 1);
}

}  // namespace
}  // namespace jobgw::core
