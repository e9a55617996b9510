#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/error.h"
#include "core/base/targets.h"
#include "core/job/job_snapshot.h"
#include "core/watch/watch_event.h"

namespace jobgw::core {

// Where a hub's events come from when it does not read JOB itself: replicas on Redis, where one
// replica polls each job and every replica's hub fans the shared log out to its own streams.
// The hub calls these without its locks held; the feed answers through WatchHub::feed_state
// and WatchHub::feed_events, from any thread.
class WatchFeed {
 public:
  virtual ~WatchFeed() = default;
  // The hub has subscribers for the job: deliver its state (feed_state, once loaded) and then
  // its changes (feed_events) until unfollow.
  virtual void follow(const Scope& scope, std::int64_t job_instance_id) = 0;
  virtual void unfollow(const Scope& scope, std::int64_t job_instance_id) = 0;
  // jobgw submitted the job: some replica must poll it to its end, watched or not.
  virtual void submitted(const Scope& scope, std::int64_t job_instance_id) = 0;
  // A hint (JOB's callback) that the job changed: whoever polls it reads now.
  virtual bool poke(std::int64_t job_instance_id) = 0;
};

// A job's shared log as a feed knows it.
struct FeedState {
  // Null while nobody has read the job yet.
  std::shared_ptr<const JobSnapshot> snapshot;
  // The seq of the last event in the log (0: none yet).
  std::uint64_t seq = 0;
  // The newest events of the log, oldest first, for after_seq resumption.
  std::vector<WatchEvent> history;
  // Set when the job's poller stopped with an error (the job is gone, reads gave up).
  std::optional<Error> end;
};

// Where a hub that polls starts a job's numbering from: the shared log's state when another
// replica polled it before (events then continue it), else nothing (the first read is a
// SNAPSHOT).
struct WatchSeed {
  std::shared_ptr<const JobSnapshot> snapshot;
  std::uint64_t seq = 0;
};

}  // namespace jobgw::core
