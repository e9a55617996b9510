#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/base/scheduler.h"
#include "core/http/http_client.h"

namespace jobgw::core {

struct JobReachabilityConfig {
  // JOB counts as unreachable once every attempt for this long has failed: short enough that a
  // watcher hears of an outage before it wonders, long enough that one reset connection or one
  // 503 during a deploy of JOB does not raise an alarm.
  std::chrono::milliseconds unreachable_after{5000};
  // A probe is sent when JOB was not asked anything for this long, so the state stays true on
  // an idle gateway (and on a replica that polls nothing).
  std::chrono::milliseconds probe_interval{10000};
  // How often the state is re-evaluated; while attempts fail, also how long JOB may go unasked
  // before a probe, so recovery is seen within about this long.
  std::chrono::milliseconds probe_interval_failing{1000};
};

// What jobgw knows of its way to JOB.
struct Reachability {
  // False until the first attempt answered or failed for unreachable_after.
  bool known = false;
  bool up = false;
  // Down: the first failed attempt after the last answer (Unix ms). Up after an outage: when
  // that outage began; 0 when there was none.
  std::int64_t unreachable_since_ms = 0;
  // Up: when JOB answered after the last outage (Unix ms); 0 before the first answer.
  std::int64_t reachable_since_ms = 0;
  // Why the last failed attempt failed ("connection refused", "HTTP 503", ...).
  std::string last_error;
};

// Whether JOB answers, learned from every HTTP attempt jobgw makes to it (hook on_attempt into
// HttpClientConfig::on_attempt) and from a probe when nothing else asks. An attempt that got an
// HTTP answer below 500 shows JOB is there (JOB's own errors included); a transport error, a
// timeout or a 5xx (JOB, or the API gateway in front of it, failing) counts against it.
// Listeners hear every change of `up`, outside the lock, in order. Thread-safe.
class JobReachability : public std::enable_shared_from_this<JobReachability> {
 public:
  using Listener = std::function<void(const Reachability&)>;
  // Sends one probe and calls `done` once it completed, whatever the outcome; its attempt comes
  // back through on_attempt like any other.
  using Probe = std::function<void(std::function<void()> done)>;

  static std::shared_ptr<JobReachability> create(Scheduler& scheduler, JobReachabilityConfig config,
                                                 Probe probe);

  void add_listener(Listener listener);
  // Starts the periodic check (and a first probe at once). Call once.
  void start();
  // Stops the check; no listener is called afterwards. Idempotent.
  void stop();

  void on_attempt(const AttemptRecord& record);
  Reachability state() const;

  // Whether an attempt shows JOB answering (true), failing (false), or says nothing of it
  // (nullopt: cancelled by jobgw itself).
  static std::optional<bool> answered(const AttemptRecord& record);

 private:
  JobReachability(Scheduler& scheduler, JobReachabilityConfig config, Probe probe);
  void tick();
  void schedule();
  // Evaluates the failure span; returns the state to announce when `up` changed.
  std::optional<Reachability> evaluate_locked(Scheduler::Clock::time_point now);
  void announce(const std::optional<Reachability>& changed);
  // Sends a probe unless one is still out: a JOB that hangs must not collect one waiting probe
  // per second on the connections the reads need.
  void send_probe();

  Scheduler& scheduler_;
  const JobReachabilityConfig config_;
  const Probe probe_;

  mutable std::mutex mu_;
  Reachability state_;
  std::optional<Scheduler::Clock::time_point> failing_since_;
  std::optional<Scheduler::Clock::time_point> last_attempt_;
  std::shared_ptr<Timer> timer_;
  bool stopped_ = false;
  bool probing_ = false;
  std::vector<Listener> listeners_;
  // Serializes announcements so listeners see changes in order.
  std::mutex announce_mu_;
};

}  // namespace jobgw::core
