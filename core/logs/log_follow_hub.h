#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/backoff.h"
#include "core/base/error.h"
#include "core/base/scheduler.h"
#include "core/base/targets.h"
#include "core/logs/log_event.h"
#include "core/logs/log_source.h"
#include "core/watch/read_budget.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

struct LogFollowConfig {
  // One log read per step per interval while a followed host runs.
  std::chrono::milliseconds interval{1000};
  // Hosts one follower may follow (a follower naming none follows every host of the step).
  std::size_t max_hosts = 100;
  // Hosts of one step whose logs are read together (JOB's batch limit): a follower that would
  // take the step's followed hosts past it is refused with kResourceExhausted.
  std::size_t max_step_hosts = 500;
  // A host's log held for followers; past it the host gets one truncated TEXT event and no more
  // text, but still its HOST_END.
  std::size_t max_host_log_bytes = 8 << 20;
  // Text of one event at most (below gRPC's default 4 MiB message limit).
  std::size_t max_event_bytes = 1 << 20;
  // Bytes held for followers in all, over every step (0: no such cap): a host whose log would
  // take the total past it is capped like one past max_host_log_bytes, so memory stays bounded
  // however many steps are followed.
  std::size_t max_held_bytes = 256 << 20;
  // A step's logs stay held this long after its last follower left, for followers that resume.
  std::chrono::milliseconds retention{std::chrono::seconds(60)};
  // Failed reads back off exponentially; they never end followers by themselves...
  BackoffPolicy error_backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(15000), 2.0,
                              0.2};
  // ...unless none succeeded for this long (kTimeout).
  std::chrono::milliseconds give_up_after{std::chrono::minutes(10)};
};

// One follower's stream, pull-based like Subscription: nothing queues for a slow follower.
class LogFollower {
 public:
  virtual ~LogFollower() = default;
  // Asks for the next item; `ready` runs exactly once: inline when an item can be had now,
  // otherwise later on a hub thread, without the hub's locks held. One request at a time; after
  // an end item no more requests.
  virtual void next(std::function<void(LogItem)> ready) = 0;
  // Frees the follower now. A pending `ready` is dropped without being called, though one
  // already running on another thread may still finish.
  virtual void cancel() = 0;
};

// Live log following shared per (scope, job, step): however many follow a step, JOB is asked
// for its logs once per interval (one batch read of the hosts any follower follows), through
// the same read budget as status polls. Hosts' statuses come from the WatchHub. Thread-safe.
class LogFollowHub {
 public:
  // `logs`, `status` and `budget` must outlive the hub. `uniform01` jitters the error backoff
  // (empty: a PRNG).
  LogFollowHub(Scheduler& scheduler, LogSource& logs, WatchHub& status, ReadBudget& budget,
               LogFollowConfig config, std::function<double()> uniform01 = {});
  ~LogFollowHub();

  // Follows `hosts` of the step (empty: every host of the step, kInvalidArgument naming
  // host_ids when it has more than max_hosts; step_instance_id 0: the job's first step). The
  // first item may wait for the job's status; an unknown step or host ends the stream with
  // kNotFound naming it. after_seq: the last seq received before; events after it when the
  // step still knows it (resumed), else everything from the start.
  std::shared_ptr<LogFollower> follow(const Scope& scope, std::int64_t job_instance_id,
                                      std::int64_t step_instance_id, std::vector<Host> hosts,
                                      std::optional<std::uint64_t> after_seq);

  // Ends every follower with `reason` and stops reading. Idempotent.
  void shutdown(Error reason);

  struct Stats {
    std::size_t steps = 0;      // step states held (followed or retained)
    std::size_t followers = 0;  // followers whose end has not been delivered nor cancelled
    std::uint64_t reads = 0;
    std::uint64_t read_errors = 0;
    std::size_t held_bytes = 0;  // log bytes held for followers, every step together
  };
  Stats stats() const;

  // Followers of the job now (all its steps), for ListJobs.
  std::size_t followers_of(const Scope& scope, std::int64_t job_instance_id) const;

  class Impl;  // opaque; public only so the follower type can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
