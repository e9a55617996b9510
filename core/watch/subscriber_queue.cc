#include "core/watch/subscriber_queue.h"

namespace jobgw::core {

void SubscriberQueue::next(std::function<void(WatchItem)> ready) {
  WatchItem item;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || end_delivered_) return;
    if (queue_.empty()) {
      waiting_ = std::move(ready);
      return;
    }
    item = std::move(queue_.front());
    queue_.pop_front();
    if (item.is_end()) end_delivered_ = true;
  }
  if (item.is_end()) note_end();
  ready(std::move(item));
}

void SubscriberQueue::cancel() {
  bool counted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    counted = !end_delivered_;
    queue_.clear();
    waiting_ = nullptr;
  }
  left_(this, counted);
}

void SubscriberQueue::push(WatchItem item, const std::shared_ptr<const JobSnapshot>& latest,
                           std::uint64_t latest_seq) {
  std::function<void(WatchItem)> ready;
  bool overflowed = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (cancelled_ || end_queued_) return;
    if (item.event) item.event->resumed = resumed_;
    if (item.is_end()) end_queued_ = true;
    if (waiting_ && queue_.empty()) {
      ready = std::move(waiting_);
      waiting_ = nullptr;
      if (item.is_end()) end_delivered_ = true;
    } else {
      queue_.push_back(std::move(item));
      if (queue_.size() > limit_) {
        collapse_locked(latest, latest_seq);
        overflowed = true;
      }
    }
  }
  if (overflowed && observer_ != nullptr) observer_->on_subscriber_overflow();
  if (ready) {
    bool end = item.is_end();
    if (end) note_end();
    ready(std::move(item));
  }
}

void SubscriberQueue::collapse_locked(const std::shared_ptr<const JobSnapshot>& latest,
                                      std::uint64_t seq) {
  std::optional<WatchItem> finished;
  std::optional<WatchItem> end;
  // The latest reachability notice survives: it tells what holds now, which a SNAPSHOT cannot.
  std::optional<WatchItem> notice;
  for (auto& it : queue_) {
    if (it.is_end()) {
      end = std::move(it);
    } else if (it.event->kind == WatchEventKind::kFinished) {
      finished = std::move(it);
    } else if (it.event->is_notice()) {
      notice = std::move(it);
    }
  }
  queue_.clear();
  WatchEvent snap;
  snap.kind = WatchEventKind::kSnapshot;
  snap.resumed = resumed_;
  if (finished) {
    snap.seq = finished->event->seq - 1;
    snap.snapshot = finished->event->snapshot;
    snap.observed_at_ms = finished->event->observed_at_ms;
  } else {
    snap.seq = seq;
    snap.snapshot = latest;
  }
  queue_.push_back(WatchItem::of(std::move(snap)));
  if (notice && !finished) {
    notice->event->seq = seq;
    queue_.push_back(std::move(*notice));
  }
  if (finished) queue_.push_back(std::move(*finished));
  if (end) queue_.push_back(std::move(*end));
}

}  // namespace jobgw::core
