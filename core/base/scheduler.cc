#include "core/base/scheduler.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>

namespace jobgw::core {
namespace {

class AsioTimer : public Timer, public std::enable_shared_from_this<AsioTimer> {
 public:
  explicit AsioTimer(boost::asio::io_context& io) : timer_(io) {}
  void cancel() override {
    // The posted cancel owns the timer: the caller often drops its handle right after cancel()
    // (WatchHub::shutdown does), and a fired timer has no other owner left.
    boost::asio::post(timer_.get_executor(),
                      [self = shared_from_this()] { self->timer_.cancel(); });
  }
  boost::asio::steady_timer& timer() { return timer_; }

 private:
  boost::asio::steady_timer timer_;
};

}  // namespace

Scheduler::Clock::time_point AsioScheduler::now() const { return Clock::now(); }

std::int64_t AsioScheduler::wall_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::shared_ptr<Timer> AsioScheduler::after(std::chrono::milliseconds delay,
                                            std::function<void()> fn) {
  auto timer = std::make_shared<AsioTimer>(io_);
  timer->timer().expires_after(delay);
  // The handler owns the timer, so a dropped handle does not cancel it; cancel() does.
  timer->timer().async_wait([timer, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec) fn();
  });
  return timer;
}

void AsioScheduler::post(std::function<void()> fn) { boost::asio::post(io_, std::move(fn)); }

}  // namespace jobgw::core
