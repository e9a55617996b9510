#include "pollers.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

namespace jobgw::bench {

void run_pollers(int port, int callers, int workers, std::chrono::milliseconds interval,
                 std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point give_up, const PollOnce& poll) {
  using Clock = std::chrono::steady_clock;
  // Each caller is an entry in a schedule of due times.
  using Due = std::pair<Clock::time_point, int>;
  std::priority_queue<Due, std::vector<Due>, std::greater<>> due;
  for (int i = 0; i < callers; ++i) due.emplace(start, i);
  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  auto worker = [&] {
    HttpConn conn(port);
    std::unique_lock<std::mutex> lock(mu);
    while (finished < callers && Clock::now() < give_up) {
      if (due.empty()) {
        cv.wait_until(lock, give_up);
        continue;
      }
      Due next = due.top();
      if (next.first > Clock::now()) {
        cv.wait_until(lock, std::min(next.first, give_up));
        continue;
      }
      due.pop();
      lock.unlock();
      const bool done = poll(conn, next.second);
      lock.lock();
      if (done) {
        ++finished;
        cv.notify_all();
      } else {
        due.emplace(Clock::now() + interval, next.second);
        cv.notify_one();
      }
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < std::max(1, std::min(workers, callers)); ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
}

}  // namespace jobgw::bench
