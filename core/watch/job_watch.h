#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/scheduler.h"
#include "core/base/targets.h"
#include "core/job/job_snapshot.h"
#include "core/watch/read_budget.h"
#include "core/watch/subscriber_queue.h"
#include "core/watch/watch_event.h"

// The hub's record of one watched job, and the key it is filed under (watch_hub.cc).
namespace jobgw::core {

using Clock = Scheduler::Clock;

struct Key {
  std::string type;
  std::string id;
  std::int64_t job = 0;
  bool operator==(const Key& o) const { return job == o.job && id == o.id && type == o.type; }
};

struct KeyHash {
  std::size_t operator()(const Key& k) const {
    return std::hash<std::int64_t>()(k.job) ^ (std::hash<std::string>()(k.id) << 1) ^
           (std::hash<std::string>()(k.type) << 2);
  }
};

inline Key key_of(const Scope& scope, std::int64_t job) {
  return Key{scope.type.empty() ? "biz" : scope.type, scope.id, job};
}

// The state of one watched job. `mu` guards everything but `deliver_mu`, which keeps the
// deliveries of successive reads in order without holding `mu` while subscribers run.
struct JobWatch {
  Key key;
  Scope scope;
  Clock::time_point created;
  std::int64_t created_wall_ms = 0;

  std::mutex mu;
  std::shared_ptr<const JobSnapshot> snapshot;
  // The first read is seq_base + 1.
  std::uint64_t seq_base = 0;
  std::uint64_t seq = 0;
  std::deque<WatchEvent> history;
  std::optional<WatchEvent> finished_event;
  std::vector<std::shared_ptr<SubscriberQueue>> subscribers;
  // The subscribers (of `subscribers` and `awaiting`) that asked for WatchDetail::kProgress.
  std::vector<const SubscriberQueue*> progress_only;
  // jobgw submitted it with its callback URL; whether the callback came.
  bool callback_wired = false;
  bool callback_seen = false;
  // The next read is on the slow safety schedule (WatchHubConfig::callback_safety).
  bool slow = false;
  // When the pending poll timer fires: the read's due time under a spent budget.
  Clock::time_point due{};
  // The read waiting for a budget token (0: none or already served) and its rank, so a
  // subscriber arriving meanwhile can move an unwatched job's read up.
  std::uint64_t queued = 0;
  ReadRank queued_rank;
  Clock::time_point queued_at{};  // when that read asked for its token
  // From asking the budget until its token came: a ticket handed back after the token came on
  // another thread names nothing, and is not kept in `queued`.
  bool token_pending = false;
  // A read made elsewhere (GetJobStatus asking JOB) found the job finished while this watch's
  // own read was under way: that read's answer, if older, gives way to it, and cached() serves
  // it meanwhile, so no answer goes back to running.
  std::shared_ptr<const JobSnapshot> offered;
  bool registered = false;
  // A submit through jobgw just returned this id while the watch held an earlier read: until
  // the next read shows whether that read was of the same job, nothing is served from it.
  bool resubmitted = false;
  bool finished = false;
  bool stopped = false;
  bool reading = false;
  bool read_again = false;
  std::optional<Clock::time_point> last_ok_read;
  std::chrono::milliseconds interval{0};
  int consecutive_errors = 0;
  // Since when JOB has answered "no such job" after an outage (see WatchHubConfig::lost_grace).
  std::optional<Clock::time_point> lost_since;
  // Reopened after its end (WatchHub::reopen): until a read shows a change, JOB may not have
  // set the job going yet, so a read that still shows the old end is not a second end.
  std::optional<Clock::time_point> reopened_at;
  std::shared_ptr<Timer> timer;

  // Fed by a WatchFeed instead of reads. Until the feed's first state arrives, subscribers wait
  // in `awaiting` (with their after_seq) and changes that arrive first in `early`.
  bool fed = false;
  bool loaded = false;
  std::vector<std::pair<std::shared_ptr<SubscriberQueue>, std::optional<std::uint64_t>>> awaiting;
  std::vector<WatchEvent> early;

  std::mutex deliver_mu;

  bool progress_only_has(const SubscriberQueue* sub) const {
    return std::find(progress_only.begin(), progress_only.end(), sub) != progress_only.end();
  }
  // Some subscriber wants every host change.
  bool wants_hosts() const { return subscribers.size() + awaiting.size() > progress_only.size(); }
};

// A subscriber a delivery goes to, and whether it takes host changes.
struct DeliveryTarget {
  std::shared_ptr<SubscriberQueue> sub;
  bool hosts = true;
  bool wants(const WatchEvent& e) const { return hosts || e.kind != WatchEventKind::kHostChanged; }
};

}  // namespace jobgw::core
