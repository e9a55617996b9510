#pragma once

#include <cstdint>
#include <functional>
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
  // A hint that the job changed: whoever polls it reads now.
  virtual bool poke(std::int64_t job_instance_id) = 0;
  // JOB's callback for the job arrived: a poke, and whoever saw the job end unsuccessfully
  // checks whether it ran again (a step retried in JOB itself).
  virtual bool callback(std::int64_t job_instance_id) { return poke(job_instance_id); }
  // A step of the job was retried, confirmed or skipped after its end: it runs again, so some
  // replica polls it to its next end and every replica's streams continue past the old one.
  // A stream asks what follows the end of a job the hub saw finish: load the log again
  // (WatchHub::feed_state, or feed_reopened when the job runs again).
  virtual void reload(const Scope& scope, std::int64_t job_instance_id) {}
  // `shared` runs once every replica can know (or the shared log could not be asked).
  virtual void reopened(const Scope& scope, std::int64_t job_instance_id,
                        std::function<void()> shared) {
    submitted(scope, job_instance_id);
    if (shared) shared();
  }
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
  // The snapshot shows an end the job has since left (a step retried after it): not finished.
  bool reopened = false;
};

// Where a hub that polls starts a job's numbering from: the shared log's state when another
// replica polled it before (events then continue it), else nothing (the first read is a
// SNAPSHOT).
struct WatchSeed {
  std::shared_ptr<const JobSnapshot> snapshot;
  std::uint64_t seq = 0;
  // The job ran again after the end in `snapshot`: a finished watch of it makes way, and reads
  // still showing that end within the settle time are not a new end (WatchHub::reopen).
  bool reopen = false;
};

}  // namespace jobgw::core
