#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/base/scheduler.h"
#include "core/redis/redis_client.h"
#include "core/watch/watch_feed.h"
#include "core/watch/watch_hub.h"

namespace boost::asio {
class io_context;
}

namespace jobgw::core {

struct RedisWatchFeedConfig {
  std::string prefix = "jobgw";
  std::string replica_id;
  // One replica polls a job while it holds the job's lease. Renewed every renew_every; a
  // replica that stops (killed, paused, cut off) loses it after lease_ttl, and another adopts
  // the job at its next scan.
  std::chrono::milliseconds lease_ttl{6000};
  std::chrono::milliseconds renew_every{2000};
  std::chrono::milliseconds scan_every{1000};
  // Jobs one scan adopts at most, so a replica that comes back does not take every job at once.
  std::size_t adopt_per_scan = 200;
  // Events kept per job in Redis for after_seq resumption anywhere (watch.history_limit).
  std::size_t history_limit = 1024;
  // How long a finished job's log and state stay (watch.finished_retention).
  std::chrono::milliseconds finished_retention{std::chrono::minutes(5)};
  // Registry entries older than this are dropped unpolled (idempotency.window_s).
  std::chrono::milliseconds registry_window{std::chrono::hours(24)};
  // Retries of a load or append Redis did not answer.
  std::chrono::milliseconds retry_every{500};
};

// What replication does, for metrics; called without locks held.
class ReplicaObserver {
 public:
  virtual ~ReplicaObserver() = default;
  virtual void on_owned_jobs(std::size_t count) {}
  virtual void on_followed_jobs(std::size_t count) {}
  // A lease taken: kind is "submit" (this replica submitted or first watched it) or "adopt"
  // (its owner stopped renewing).
  virtual void on_lease_acquired(const char* kind) {}
  // A lease lost to another replica (fenced) or given back at shutdown ("released").
  virtual void on_lease_lost(const char* kind) {}
  // Events this replica wrote to the shared log, and how long a published change took to reach
  // this replica's hub (publish to delivery, by the owner's clock).
  virtual void on_appended(std::size_t events) {}
  virtual void on_fanout_lag(std::chrono::milliseconds lag) {}
};

// Replicas that act as one gateway (README "Replicas"): the WatchFeed of every replica's front
// hub, and the owner side that polls.
//
// Redis keys (all of a job's under one hash tag {type:id:job}, prefix first):
//   PREFIX:jobs                      registry of unfinished jobs (sorted set, score: ms registered)
//   PREFIX:job:{m}:lease             the owner replica and its epoch, with a TTL (fencing token)
//   PREFIX:job:{m}:epoch             counter giving each lease its epoch
//   PREFIX:job:{m}:state             hash: seq, snapshot, finished, end
//   PREFIX:job:{m}:log               stream of the job's events (bounded like history_limit)
//   PREFIX:ev:{m}                    channel a change is published on, once per append
//   PREFIX:poke                      channel for pokes and JOB callbacks ("JOB KIND REPLICA"), so
//                                    the owner reads at once
//
// The owner's appends are one Lua script that checks its lease token and numbers the events
// (Redis, not a replica, gives out seqs), so a replica that lost its lease while paused can
// never write, and every replica's subscribers see the same seqs. Each replica subscribes to
// the channels of the jobs its own streams follow and feeds the front hub; a gap in seqs (a
// missed message, a reconnect) reloads the job's state and log.
class RedisWatchFeed final : public WatchFeed {
 public:
  // `redis` carries commands; a second connection (from `subscriber`, its on_message and
  // on_state set here) receives the changes. `front` is the hub the streams subscribe to;
  // `poller` reads JOB for the jobs this replica owns. All must outlive the feed.
  static Result<std::unique_ptr<RedisWatchFeed>> create(
      boost::asio::io_context& io, RedisClient& redis, RedisClientConfig subscriber,
      Scheduler& scheduler, WatchHub& front, WatchHub& poller, RedisWatchFeedConfig config,
      ReplicaObserver* observer = nullptr);
  ~RedisWatchFeed() override;

  // Starts the lease renewals and scans for jobs to adopt.
  void start();
  // Stops them and gives back every lease, so other replicas adopt at their next scan instead
  // of after the TTL; waits up to `wait` for Redis to confirm (never on an io thread).
  // Idempotent.
  void stop(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  void follow(const Scope& scope, std::int64_t job_instance_id) override;
  void unfollow(const Scope& scope, std::int64_t job_instance_id) override;
  void submitted(const Scope& scope, std::int64_t job_instance_id) override;
  bool poke(std::int64_t job_instance_id) override;
  bool callback(std::int64_t job_instance_id) override;
  void reload(const Scope& scope, std::int64_t job_instance_id) override;
  // The log's end is cleared (kAcquire with reopen), every replica's front hub is told on the
  // job's channel, and the replica that takes the lease polls on from the log's seq.
  void reopened(const Scope& scope, std::int64_t job_instance_id,
                std::function<void()> shared) override;

  std::size_t owned_jobs() const;
  std::size_t followed_jobs() const;

  class Impl;

 private:
  explicit RedisWatchFeed(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
