#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}

namespace jobgw::core {

// A pending timer; cancel() may race with the timer firing, in which case the callback may still
// run once.
class Timer {
 public:
  virtual ~Timer() = default;
  virtual void cancel() = 0;
};

// Time and deferred execution, injectable so pollers and their backoff are tested without
// sleeping (ManualScheduler) and run on the io_context in production (AsioScheduler).
class Scheduler {
 public:
  using Clock = std::chrono::steady_clock;
  virtual ~Scheduler() = default;
  virtual Clock::time_point now() const = 0;
  // Unix milliseconds, for timestamps that leave the process.
  virtual std::int64_t wall_ms() const = 0;
  virtual std::shared_ptr<Timer> after(std::chrono::milliseconds delay,
                                       std::function<void()> fn) = 0;
  // Runs fn soon, never inline.
  virtual void post(std::function<void()> fn) = 0;
};

class AsioScheduler : public Scheduler {
 public:
  explicit AsioScheduler(boost::asio::io_context& io) : io_(io) {}
  Clock::time_point now() const override;
  std::int64_t wall_ms() const override;
  std::shared_ptr<Timer> after(std::chrono::milliseconds delay, std::function<void()> fn) override;
  void post(std::function<void()> fn) override;

 private:
  boost::asio::io_context& io_;
};

}  // namespace jobgw::core
