#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "core/job/job_snapshot.h"
#include "core/watch/watch_event.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// A subscriber's bounded queue. Events wait here until the consumer pulls them, so a slow
// consumer costs its own queue and nothing else.
class SubscriberQueue : public Subscription {
 public:
  // `left(this, counted)` runs once when the consumer cancels (counted: before its end item
  // reached it); `ended()` when the end item reaches the consumer. Both tell the hub, which they
  // hold weakly: a subscriber may outlive it.
  SubscriberQueue(std::size_t limit, WatchObserver* observer,
                  std::function<void(const SubscriberQueue*, bool counted)> left,
                  std::function<void()> ended)
      : limit_(limit), observer_(observer), left_(std::move(left)), ended_(std::move(ended)) {}

  void set_resumed(bool resumed) { resumed_ = resumed; }

  void next(std::function<void(WatchItem)> ready) override;

  void cancel() override;

  // `latest` and `latest_seq` describe the job's state after `item`, for collapsing.
  void push(WatchItem item, const std::shared_ptr<const JobSnapshot>& latest,
            std::uint64_t latest_seq);

 private:
  // Intermediate events become one SNAPSHOT of the latest state; FINISHED and the end stay.
  void collapse_locked(const std::shared_ptr<const JobSnapshot>& latest, std::uint64_t seq);

  void note_end() { ended_(); }

  const std::size_t limit_;
  WatchObserver* observer_;
  const std::function<void(const SubscriberQueue*, bool counted)> left_;
  const std::function<void()> ended_;
  bool resumed_ = false;

  std::mutex mu_;
  std::deque<WatchItem> queue_;
  std::function<void(WatchItem)> waiting_;
  bool cancelled_ = false;
  bool end_queued_ = false;
  bool end_delivered_ = false;
};

}  // namespace jobgw::core
