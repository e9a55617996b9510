#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace jobgw::client {

// Calls `tick` every `interval` on a thread of its own until stopped, so a live table moves
// (elapsed times, a redraw the rate limit held) while no event arrives. `tick` takes whatever
// lock the caller's other output takes.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> tick);
  // Stops.
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

  // No tick starts after this returns.
  void stop();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace jobgw::client
