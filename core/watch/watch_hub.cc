#include "core/watch/watch_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <list>
#include <random>
#include <unordered_map>
#include <vector>

#include "core/watch/job_watch.h"
#include "core/watch/list_sweep.h"
#include "core/watch/poll_policy.h"
#include "core/watch/snapshot_diff.h"
#include "core/watch/subscriber_queue.h"
#include "core/watch/token_bucket.h"

namespace jobgw::core {
namespace {

using std::chrono::milliseconds;

// How long a reopened job's reads may still show its old end before that end is taken as the
// answer: JOB applies a step operation asynchronously, and one that JOB accepted but never
// acted on must not keep a watch open forever.
constexpr milliseconds kReopenSettle{30000};

std::string describe_job(const JobSnapshot& s) {
  return "'" + s.name + "' created at " + std::to_string(s.create_time_ms);
}

// Ends the streams of a job whose id JOB now gives to another job: the job they watched is gone.
Error id_reused_error(std::int64_t job, const JobSnapshot& watched, const JobSnapshot& now) {
  Error e;
  e.kind = ErrorKind::kNotFound;
  e.message = "job " + std::to_string(job) +
              " is gone: JOB now reports another job under that id (" + describe_job(now) +
              ", the watched one was " + describe_job(watched) +
              "), as after JOB was restored or replaced; watch the id again for the new job";
  return e;
}

// JOB's answer for an id it has no job under.
bool is_not_found(const Error& e) {
  return e.kind == ErrorKind::kJob && (e.job_code == 1244006 || e.job_code == 1244007);
}

}  // namespace

class WatchHub::Impl : public std::enable_shared_from_this<WatchHub::Impl> {
 public:
  Impl(Scheduler& scheduler, StatusSource& source, WatchHubConfig config, WatchObserver* observer,
       std::function<double()> uniform01, ReadBudget* budget);

  std::shared_ptr<Subscription> subscribe(const Scope& scope, std::int64_t job,
                                          std::optional<std::uint64_t> after_seq,
                                          WatchDetail detail);
  void watch(const Scope& scope, std::int64_t job, bool callback_wired);
  void reopen(const Scope& scope, std::int64_t job, bool callback_wired,
              std::optional<JobSnapshot> read = std::nullopt, std::function<void()> shared = {});
  // A callback for a job the hub saw end unsuccessfully: one read (under the budget) tells
  // whether it ran again (a step retried in JOB itself); if so, the watch reopens with it.
  void check_rerun(const std::shared_ptr<JobWatch>& w);
  bool poke(std::int64_t job);
  bool callback_arrived(std::int64_t job);
  void offer_finished(const Scope& scope, std::int64_t job, const JobSnapshot& snapshot);
  std::optional<JobSnapshot> cached(const Scope& scope, std::int64_t job, milliseconds max_age);
  std::vector<WatchedJob> list() const;
  void shutdown(Error reason);
  WatchHubStats stats() const;
  void set_job_reachability(const Reachability& state);

  void subscriber_left(const std::shared_ptr<JobWatch>& watch, const SubscriberQueue* sub,
                       bool counted);
  void subscriber_ended();

  std::shared_ptr<Subscription> subscribe_from(const Scope& scope, std::int64_t job,
                                               const WatchSeed& seed);
  void feed_state(const Scope& scope, std::int64_t job, FeedState state);
  bool feed_events(const Scope& scope, std::int64_t job, std::vector<WatchEvent> events,
                   std::shared_ptr<const JobSnapshot> latest);
  void feed_reopened(const Scope& scope, std::int64_t job, std::uint64_t seq);

  std::shared_ptr<JobWatch> find(const Scope& scope, std::int64_t job) const;
  // Builds what needs the hub's own weak pointer; once, right after construction.
  void start();

  EndListener end_listener_;      // set before use, then only read
  RerunListener rerun_listener_;  // set before use, then only read
  WatchFeed* feed_ = nullptr;     // set before use, then only read

 private:
  // `replace_only`: create only in place of that watch (nothing when the table holds another
  // or none any more).
  std::shared_ptr<JobWatch> find_or_create(const Scope& scope, std::int64_t job, bool* created,
                                           bool new_job_id = false, const WatchSeed* seed = nullptr,
                                           const JobWatch* replace_only = nullptr);
  // A new subscriber's first items (SNAPSHOT or the replay after after_seq, FINISHED and the
  // end when the job finished); it joins the watch's subscribers unless the job finished.
  void attach_locked(JobWatch& w, const std::shared_ptr<SubscriberQueue>& sub,
                     std::optional<std::uint64_t> after_seq);
  // A fed watch's first state: waiting subscribers are attached.
  // `reopened`: the snapshot's end is one the job has left (FeedState::reopened).
  void initialize_locked(JobWatch& w, std::shared_ptr<const JobSnapshot> snapshot,
                         std::uint64_t seq, std::vector<WatchEvent> history, bool reopened = false);
  // Ends a fed watch's streams after FINISHED or an error, outside w's lock.
  void finish_fed(const std::shared_ptr<JobWatch>& w, const std::optional<Error>& error,
                  bool finished);
  void start_read(const std::shared_ptr<JobWatch>& w, ReadRank::Kind kind);
  // The subscribers a delivery goes to, each with whether it takes host changes.
  static std::vector<DeliveryTarget> targets_locked(const JobWatch& w);
  // Whether a job is read on the slow safety schedule now.
  bool slow_locked(const JobWatch& w) const;
  // A callback-wired job finished: its callback must come within callback_grace.
  void expect_callback(const std::shared_ptr<JobWatch>& w);
  void callback_missed(const std::shared_ptr<JobWatch>& w);
  std::vector<std::shared_ptr<JobWatch>> watches_of(std::int64_t job) const;
  void read_now(const std::shared_ptr<JobWatch>& w);
  // The subscribed jobs a sweep checks; false when no read has waited a sweep interval for a
  // budget token.
  bool sweep_jobs(std::vector<SweepJob>& jobs) const;
  void on_read(const std::shared_ptr<JobWatch>& w, Result<JobSnapshot> result);
  void after_delivery(const std::shared_ptr<JobWatch>& w, milliseconds next_delay);
  void schedule_read(const std::shared_ptr<JobWatch>& w, milliseconds delay);
  // A poll delay moved later to the next multiple of WatchHubConfig::poll_grid when it is a
  // second or more (error backoff and short intervals keep their own).
  milliseconds on_grid(Clock::time_point now, milliseconds delay) const;
  // keep_seq: the next watch of this key numbers its events above this one's (its job is gone,
  // and an after_seq from it must never replay another job's events).
  void remove(const std::shared_ptr<JobWatch>& w, bool keep_seq = false);
  void retain_finished(const std::shared_ptr<JobWatch>& w);
  std::shared_ptr<SubscriberQueue> new_subscriber(const std::shared_ptr<JobWatch>& w);
  double random01();
  void report_tables();

  WatchObserver& observer() { return *observer_; }

  Scheduler& scheduler_;
  StatusSource& source_;
  const WatchHubConfig config_;
  WatchObserver default_observer_;
  WatchObserver* observer_;
  std::function<double()> uniform01_;
  Backoff backoff_;
  PollPolicy poll_;
  std::shared_ptr<TokenBucket> own_bucket_;  // when no budget was given
  ReadBudget* budget_;
  std::shared_ptr<ListSweep> sweep_;  // set by start()

  mutable std::mutex table_mu_;
  std::unordered_map<Key, std::shared_ptr<JobWatch>, KeyHash> table_;
  std::list<std::weak_ptr<JobWatch>> finished_order_;
  std::size_t retained_ = 0;  // finished watches in table_
  // The last seq of watches whose job id JOB gave to another job, until that id is watched again.
  std::unordered_map<Key, std::uint64_t, KeyHash> seq_floors_;
  bool shut_ = false;
  Error shutdown_reason_;

  std::mutex random_mu_;
  std::mt19937_64 rng_{std::random_device{}()};

  // The JOB_UNREACHABLE notice open streams were sent, while JOB is unreachable; when the last
  // outage ended.
  mutable std::mutex reach_mu_;
  std::optional<WatchEvent> unreachable_;
  std::optional<Clock::time_point> outage_ended_;
  // Whether a "no such job" read of a job known before may be an outage's aftermath.
  bool after_outage(const JobWatch& w, Clock::time_point now) const;
  void push_notice(const std::shared_ptr<SubscriberQueue>& sub, const JobWatch& w);

  // A callback arrived and none was missed since: callback-wired jobs may be read slowly.
  std::atomic<bool> callbacks_arriving_{false};

  std::atomic<std::size_t> subscribers_{0};
  std::atomic<std::uint64_t> reads_{0};
  std::atomic<std::uint64_t> read_errors_{0};
};

WatchHub::Impl::Impl(Scheduler& scheduler, StatusSource& source, WatchHubConfig config,
                     WatchObserver* observer, std::function<double()> uniform01, ReadBudget* budget)
    : scheduler_(scheduler),
      source_(source),
      config_(std::move(config)),
      observer_(observer != nullptr ? observer : &default_observer_),
      uniform01_(std::move(uniform01)),
      backoff_(config_.error_backoff, [this] { return random01(); }),
      poll_(config_, [this] { return random01(); }),
      own_bucket_(budget != nullptr ? nullptr
                                    : TokenBucket::create(scheduler, config_.reads_per_second,
                                                          config_.read_burst, config_.read_order)),
      budget_(budget != nullptr ? budget : own_bucket_.get()) {}

void WatchHub::Impl::start() {
  std::weak_ptr<Impl> weak = weak_from_this();
  sweep_ = ListSweep::create(
      scheduler_, source_, *budget_, config_, *observer_,
      [weak](std::vector<SweepJob>& jobs) {
        auto self = weak.lock();
        return self != nullptr && self->sweep_jobs(jobs);
      },
      [weak](const Scope& scope, std::int64_t job) {
        auto self = weak.lock();
        if (!self) return;
        if (auto w = self->find(scope, job)) self->read_now(w);
      });
}

bool WatchHub::Impl::sweep_jobs(std::vector<SweepJob>& jobs) const {
  std::vector<std::shared_ptr<JobWatch>> all;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    if (shut_ || feed_ != nullptr) return false;
    all.reserve(table_.size());
    for (const auto& [key, w] : table_) all.push_back(w);
  }
  bool waiting = false;
  const auto now = scheduler_.now();
  for (const auto& w : all) {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->queued != 0 && now - w->queued_at >= config_.sweep_interval) waiting = true;
    if (w->fed || w->stopped || w->finished) continue;
    if (w->subscribers.empty() && w->awaiting.empty()) continue;
    if (w->snapshot != nullptr && w->snapshot->create_time_ms > 0) {
      jobs.push_back(
          {w->scope, w->key.job, w->snapshot->create_time_ms, false, w->snapshot->status});
    } else if (w->snapshot == nullptr) {
      jobs.push_back({w->scope, w->key.job, w->created_wall_ms, true, 0});
    }
  }
  return waiting;
}

double WatchHub::Impl::random01() {
  if (uniform01_) return uniform01_();
  std::lock_guard<std::mutex> lock(random_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

std::shared_ptr<SubscriberQueue> WatchHub::Impl::new_subscriber(
    const std::shared_ptr<JobWatch>& w) {
  std::weak_ptr<Impl> hub = weak_from_this();
  std::weak_ptr<JobWatch> watch = w;
  return std::make_shared<SubscriberQueue>(
      config_.subscriber_queue_limit, observer_,
      [hub, watch](const SubscriberQueue* sub, bool counted) {
        auto self = hub.lock();
        auto job = watch.lock();
        if (self && job) {
          self->subscriber_left(job, sub, counted);
        } else if (self && counted) {
          self->subscriber_ended();
        }
      },
      [hub] {
        if (auto self = hub.lock()) self->subscriber_ended();
      });
}

std::shared_ptr<JobWatch> WatchHub::Impl::find_or_create(const Scope& scope, std::int64_t job,
                                                         bool* created, bool new_job_id,
                                                         const WatchSeed* seed,
                                                         const JobWatch* replace_only) {
  Key key = key_of(scope, job);
  std::shared_ptr<JobWatch> w;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    if (shut_) return nullptr;
    std::uint64_t seq_base = config_.seq_base;
    auto it = table_.find(key);
    if (replace_only != nullptr && (it == table_.end() || it->second.get() != replace_only)) {
      *created = false;
      return it == table_.end() ? nullptr : it->second;
    }
    if (it != table_.end()) {
      JobWatch& old = *it->second;
      std::lock_guard<std::mutex> wlock(old.mu);
      // JOB handed this id out for a new job just now, so a finished job kept under it is an
      // older one (JOB restored or replaced): it makes way, seqs continuing above its own.
      const bool older_job = (new_job_id || (seed != nullptr && seed->reopen)) && old.finished;
      if (!old.stopped && !older_job) {
        *created = false;
        return it->second;
      }
      old.stopped = true;
      if (old.finished) retained_--;
      seq_base = std::max(seq_base, old.seq);
    }
    if (auto floor = seq_floors_.find(key); floor != seq_floors_.end()) {
      seq_base = std::max(seq_base, floor->second);
      seq_floors_.erase(floor);
    }
    w = std::make_shared<JobWatch>();
    w->key = key;
    w->scope = Scope{key.type, key.id};
    w->created = scheduler_.now();
    w->created_wall_ms = scheduler_.wall_ms();
    w->interval = poll_.floor();
    w->seq_base = seq_base;
    w->fed = feed_ != nullptr;
    if (seed != nullptr && seed->snapshot != nullptr) {
      // Reads diff against what the log already holds, so they add only what is new.
      w->snapshot = seed->snapshot;
      w->seq = std::max(seed->seq, seq_base);
      w->seq_base = w->seq;
      if (seed->reopen) w->reopened_at = w->created;
    }
    table_[key] = w;
  }
  *created = true;
  report_tables();
  return w;
}

std::shared_ptr<Subscription> WatchHub::Impl::subscribe(const Scope& scope, std::int64_t job,
                                                        std::optional<std::uint64_t> after_seq,
                                                        WatchDetail detail) {
  bool created = false;
  bool restore_detail = false;
  bool reload = false;
  ReadBudget::Ticket promote = 0;
  ReadRank promote_rank;
  std::shared_ptr<JobWatch> w;
  std::shared_ptr<SubscriberQueue> sub;
  for (;;) {
    w = find_or_create(scope, job, &created);
    if (w == nullptr) {
      sub = new_subscriber(w);
      subscribers_++;
      observer().on_subscribers(subscribers_.load());
      std::lock_guard<std::mutex> lock(table_mu_);
      sub->push(WatchItem::end(shutdown_reason_), nullptr, 0);
      return sub;
    }
    std::lock_guard<std::mutex> lock(w->mu);
    // The last subscriber of an unregistered job may have left (and stopped its watch) since
    // find_or_create returned it: joining a stopped watch would leave this stream waiting for
    // reads that never come. Look again; the stopped watch is out of the table by now.
    if (w->stopped) continue;
    sub = new_subscriber(w);
    subscribers_++;
    observer().on_subscribers(subscribers_.load());
    if (detail == WatchDetail::kProgress) w->progress_only.push_back(sub.get());
    // A job read on the slow schedule has no host detail to give: read it now, and the
    // detailed schedule follows from that read.
    restore_detail = detail == WatchDetail::kHosts && w->slow && !w->finished;
    // A read waiting as an unwatched job's moves up: someone waits for it now.
    if (w->queued != 0 && !w->queued_rank.watched) {
      w->queued_rank.watched = true;
      promote = w->queued;
      promote_rank = w->queued_rank;
    }
    if (w->fed && w->finished && after_seq && *after_seq >= w->seq) {
      // Asking what follows the end: another replica may have set the job going again (a step
      // retried) and its message not be here yet. The shared log answers (feed_state or
      // feed_reopened), so the stream never gets an end the job has left.
      w->awaiting.emplace_back(sub, after_seq);
      reload = true;
    } else if (w->snapshot != nullptr) {
      attach_locked(*w, sub, after_seq);
    } else if (w->fed) {
      // The feed's state decides between a SNAPSHOT and a replay after after_seq.
      w->awaiting.emplace_back(sub, after_seq);
    } else {
      // Nothing read yet: the first read sends this subscriber its SNAPSHOT.
      w->subscribers.push_back(sub);
    }
    push_notice(sub, *w);
    break;
  }
  if (created) {
    if (feed_ != nullptr) {
      feed_->follow(w->scope, job);
    } else {
      start_read(w, ReadRank::Kind::kFirst);
    }
  } else if (restore_detail) {
    read_now(w);
  } else if (reload) {
    feed_->reload(w->scope, job);
  }
  if (promote != 0) budget_->rerank(promote, promote_rank);
  return sub;
}

std::shared_ptr<Subscription> WatchHub::Impl::subscribe_from(const Scope& scope, std::int64_t job,
                                                             const WatchSeed& seed) {
  if (seed.snapshot == nullptr) return subscribe(scope, job, std::nullopt, WatchDetail::kHosts);
  bool created = false;
  std::shared_ptr<JobWatch> w = find_or_create(scope, job, &created, false, &seed);
  std::uint64_t after = seed.seq;
  if (w != nullptr) {
    std::lock_guard<std::mutex> lock(w->mu);
    after = w->seq;
  }
  // after_seq at the watch's own seq: nothing to replay, only what reads add from now on.
  auto sub = subscribe(scope, job, after, WatchDetail::kHosts);
  // subscribe() found the watch made above, so the first read is started here.
  if (created && w != nullptr) start_read(w, ReadRank::Kind::kFirst);
  return sub;
}

void WatchHub::Impl::attach_locked(JobWatch& w, const std::shared_ptr<SubscriberQueue>& sub,
                                   std::optional<std::uint64_t> after_seq) {
  std::vector<WatchEvent> initial;
  const bool can_replay =
      after_seq && *after_seq > 0 && *after_seq <= w.seq &&
      (*after_seq == w.seq || (!w.history.empty() && w.history.front().seq <= *after_seq + 1));
  if (can_replay) {
    sub->set_resumed(true);
    const bool hosts = !w.progress_only_has(sub.get());
    for (const auto& e : w.history) {
      if (e.seq > *after_seq && (hosts || e.kind != WatchEventKind::kHostChanged)) {
        initial.push_back(e);
      }
    }
  } else {
    WatchEvent snap;
    snap.kind = WatchEventKind::kSnapshot;
    snap.seq = w.finished ? w.finished_event->seq - 1 : w.seq;
    snap.snapshot = w.snapshot;
    snap.observed_at_ms = scheduler_.wall_ms();
    initial.push_back(std::move(snap));
  }
  // FINISHED ends every stream, even one whose after_seq already covered it.
  if (w.finished && (initial.empty() || initial.back().kind != WatchEventKind::kFinished)) {
    initial.push_back(*w.finished_event);
  }
  for (auto& e : initial) sub->push(WatchItem::of(std::move(e)), w.snapshot, w.seq);
  if (w.finished) {
    sub->push(WatchItem::end(std::nullopt), w.snapshot, w.seq);
  } else {
    w.subscribers.push_back(sub);
  }
}

void WatchHub::Impl::watch(const Scope& scope, std::int64_t job, bool callback_wired) {
  if (feed_ != nullptr) {
    feed_->submitted(scope, job);
    return;
  }
  bool created = false;
  for (;;) {
    std::shared_ptr<JobWatch> w = find_or_create(scope, job, &created, /*new_job_id=*/true);
    if (w == nullptr) return;
    bool verify = false;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      // Stopped since found (its last subscriber left): a job registered there is never read.
      if (w->stopped) continue;
      w->registered = true;
      w->callback_wired = callback_wired;
      // Someone watched the id before the submit returned (then it is this job), or an older
      // job held it: read now and let on_read tell which.
      if (!created && w->snapshot != nullptr) {
        w->resubmitted = true;
        verify = true;
      }
    }
    if (created) start_read(w, ReadRank::Kind::kFirst);
    if (verify) read_now(w);
    return;
  }
}

void WatchHub::Impl::reopen(const Scope& scope, std::int64_t job, bool callback_wired,
                            std::optional<JobSnapshot> read, std::function<void()> shared) {
  if (feed_ != nullptr) {
    // This replica's streams continue at once; the others' when the shared log tells them.
    feed_reopened(scope, job, std::numeric_limits<std::uint64_t>::max());
    feed_->reopened(scope, job, std::move(shared));
    return;
  }
  if (shared) shared();
  WatchSeed seed;
  seed.reopen = true;
  if (std::shared_ptr<JobWatch> old = find(scope, job)) {
    bool live = false;
    {
      std::lock_guard<std::mutex> lock(old->mu);
      if (old->finished && !old->stopped) {
        seed.snapshot = old->snapshot;
        seed.seq = old->seq;
      } else {
        live = !old->stopped;
      }
    }
    if (live) {
      read_now(old);
      return;
    }
  }
  if (seed.snapshot == nullptr) {
    // Nothing kept of the job (evicted, or never watched here): seqs start afresh, as for a
    // submit; a watcher resuming from an old seq gets a SNAPSHOT.
    watch(scope, job, callback_wired);
    return;
  }
  bool created = false;
  std::shared_ptr<JobWatch> w = find_or_create(scope, job, &created, /*new_job_id=*/true, &seed);
  if (w == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->stopped) return;
    w->registered = true;
    w->callback_wired = callback_wired;
    // A read that already shows the job ran again is the new watch's first read.
    if (created && read && !w->reading) {
      w->reading = true;
    } else {
      read.reset();
    }
  }
  if (read) {
    on_read(w, std::move(*read));
  } else if (created) {
    start_read(w, ReadRank::Kind::kSignal);
  } else {
    read_now(w);
  }
}

void WatchHub::Impl::check_rerun(const std::shared_ptr<JobWatch>& w) {
  std::shared_ptr<const JobSnapshot> ended;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (!w->finished || w->stopped || w->fed || w->snapshot == nullptr) return;
    // Only an unsuccessful end can be followed by more (a retry, an ignored error, a refused
    // confirmation asked again): a callback after a success is JOB's own, late or repeated.
    if (w->snapshot->status == job_status::kSuccess) return;
    ended = w->snapshot;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  ReadRank rank;
  rank.kind = ReadRank::Kind::kSignal;
  rank.watched = true;
  budget_->acquire(
      [weak, w, ended] {
        auto self = weak.lock();
        if (!self) return;
        self->source_.read_status(
            w->scope, w->key.job, [weak, w, ended](Result<JobSnapshot> result) {
              auto hub = weak.lock();
              if (!hub || !result) return;
              const JobSnapshot& now = result.value();
              if (!same_job_instance(*ended, now)) return;
              if (diff_snapshots(*ended, now).empty() && now.end_time_ms == ended->end_time_ms) {
                return;  // the same end: a repeated callback
              }
              if (hub->rerun_listener_) return hub->rerun_listener_(w->scope, w->key.job);
              bool wired;
              {
                std::lock_guard<std::mutex> lock(w->mu);
                wired = w->callback_wired;
              }
              hub->reopen(w->scope, w->key.job, wired, std::move(result.value()));
            });
      },
      rank);
}

std::vector<std::shared_ptr<JobWatch>> WatchHub::Impl::watches_of(std::int64_t job) const {
  std::vector<std::shared_ptr<JobWatch>> found;
  std::lock_guard<std::mutex> lock(table_mu_);
  for (const auto& [key, w] : table_) {
    if (key.job == job) found.push_back(w);
  }
  return found;
}

bool WatchHub::Impl::poke(std::int64_t job) {
  if (feed_ != nullptr) return feed_->poke(job);
  auto found = watches_of(job);
  for (const auto& w : found) read_now(w);
  return !found.empty();
}

bool WatchHub::Impl::callback_arrived(std::int64_t job) {
  if (feed_ != nullptr) return feed_->callback(job);
  auto found = watches_of(job);
  for (const auto& w : found) {
    std::lock_guard<std::mutex> lock(w->mu);
    w->callback_seen = true;
  }
  if (!found.empty()) callbacks_arriving_ = true;
  for (const auto& w : found) {
    read_now(w);
    check_rerun(w);
  }
  return !found.empty();
}

void WatchHub::Impl::read_now(const std::shared_ptr<JobWatch>& w) {
  std::shared_ptr<Timer> timer;
  ReadBudget::Ticket promote = 0;
  ReadRank promote_rank;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->stopped || w->finished) return;
    if (w->reading && w->queued != 0) {
      // The read still waits for a token, so it will see the change: it only has to go first.
      w->queued_rank.kind = ReadRank::Kind::kSignal;
      w->queued_rank.watched = true;
      promote = w->queued;
      promote_rank = w->queued_rank;
    } else if (w->reading) {
      w->read_again = true;
      return;
    } else {
      timer = std::move(w->timer);
    }
  }
  if (promote != 0) {
    budget_->rerank(promote, promote_rank);
    return;
  }
  if (timer) timer->cancel();
  start_read(w, ReadRank::Kind::kSignal);
}

std::optional<JobSnapshot> WatchHub::Impl::cached(const Scope& scope, std::int64_t job,
                                                  milliseconds max_age) {
  std::shared_ptr<JobWatch> w;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    auto it = table_.find(key_of(scope, job));
    if (it == table_.end()) return std::nullopt;
    w = it->second;
  }
  std::lock_guard<std::mutex> lock(w->mu);
  if (w->offered != nullptr && !w->finished) return *w->offered;
  if (w->snapshot == nullptr || w->resubmitted) return std::nullopt;
  if (w->finished) return *w->snapshot;
  if (!w->last_ok_read || max_age.count() <= 0) return std::nullopt;
  const auto age = scheduler_.now() - *w->last_ok_read;
  if (age <= max_age) return *w->snapshot;
  // A job the hub polls is read again within its interval (plus jitter): until that read is
  // overdue, a caller asking in between gets exactly what every subscriber has, and a JOB read
  // would tell it nothing newer than the poller will. A failing or overdue watch is not trusted.
  const auto due =
      std::chrono::duration_cast<milliseconds>(w->interval * (1.0 + config_.poll_jitter));
  // A job on the slow schedule is read rarely and not for host detail: only max_age counts.
  if (!w->fed && !w->stopped && !w->slow && w->consecutive_errors == 0 && w->interval.count() > 0 &&
      age <= due + max_age) {
    return *w->snapshot;
  }
  return std::nullopt;
}

void WatchHub::Impl::start_read(const std::shared_ptr<JobWatch>& w, ReadRank::Kind kind) {
  ReadRank rank;
  rank.kind = kind;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->stopped || w->finished) return;
    if (w->reading) {
      w->read_again = true;
      return;
    }
    w->reading = true;
    w->token_pending = true;
    rank.watched = !w->subscribers.empty() || !w->awaiting.empty();
    if (kind == ReadRank::Kind::kScheduled) rank.due = w->due;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  auto asked = scheduler_.now();
  const ReadBudget::Ticket ticket = budget_->acquire(
      [weak, w, asked] {
        auto self = weak.lock();
        if (!self) return;
        const auto waited =
            std::chrono::duration_cast<milliseconds>(self->scheduler_.now() - asked);
        self->observer().on_token_wait(waited);
        // Reads waiting a sweep interval or more: a sweep would notice changes sooner. Shorter
        // waits (a burst of reads on the poll grid) are not worth a list read.
        if (waited >= self->config_.sweep_interval) self->sweep_->arm();
        {
          std::lock_guard<std::mutex> lock(w->mu);
          w->queued = 0;
          w->token_pending = false;
          if (w->stopped) {
            w->reading = false;
            return;
          }
        }
        self->source_.read_status(w->scope, w->key.job, [weak, w](Result<JobSnapshot> result) {
          if (auto hub = weak.lock()) hub->on_read(w, std::move(result));
        });
      },
      rank);
  if (ticket != 0) {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->token_pending) {
      w->queued = ticket;
      w->queued_rank = rank;
      w->queued_at = asked;
    }
  }
}

void WatchHub::Impl::offer_finished(const Scope& scope, std::int64_t job,
                                    const JobSnapshot& snapshot) {
  if (!snapshot.finished) return;
  std::shared_ptr<JobWatch> w = find(scope, job);
  if (w == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->fed || w->stopped || w->finished || w->resubmitted) return;
    if (w->reading) {
      // That read's answer may have been asked for before the end: on_read prefers this one.
      w->offered = std::make_shared<JobSnapshot>(snapshot);
      return;
    }
    // Takes the read slot, so no poll of the job runs beside it.
    w->reading = true;
  }
  on_read(w, snapshot);
}

void WatchHub::Impl::on_read(const std::shared_ptr<JobWatch>& w, Result<JobSnapshot> result) {
  reads_++;
  observer().on_read(result.ok());
  if (!result.ok()) read_errors_++;

  std::vector<WatchEvent> events;
  std::vector<DeliveryTarget> targets;
  std::optional<std::optional<Error>> end;  // set: end the streams (inner: with this error)
  std::shared_ptr<const JobSnapshot> latest;
  std::uint64_t latest_seq = 0;
  milliseconds next_delay{0};
  bool finished_now = false;
  int final_status = 0;
  bool id_reused = false;
  bool resubmitted = false;
  const char* ended_reason = nullptr;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->stopped) {
      w->reading = false;
      return;
    }
    const auto now = scheduler_.now();
    const std::int64_t wall = scheduler_.wall_ms();
    if (w->offered != nullptr) {
      if (!result.ok() || !result.value().finished) result = *w->offered;
      w->offered.reset();
    }
    if (result.ok() && w->snapshot != nullptr && !same_job_instance(*w->snapshot, result.value())) {
      // The id now names another job. Nothing from the watched one is carried over: its streams
      // end, and a resubmitted id starts a watch of its own below.
      id_reused = true;
      resubmitted = w->resubmitted;
      end.emplace(id_reused_error(w->key.job, *w->snapshot, result.value()));
      spdlog::warn("watch_end scope={}:{} job_instance_id={} reason=job_id_reused {}", w->key.type,
                   w->key.id, w->key.job, end->value().message);
      ended_reason = "id_reused";
      w->stopped = true;
    } else if (result.ok()) {
      w->resubmitted = false;
      w->lost_since.reset();
      auto fresh = std::make_shared<JobSnapshot>(std::move(result.value()));
      fresh->scope = w->scope;
      if (fresh->job_instance_id == 0) fresh->job_instance_id = w->key.job;
      w->last_ok_read = now;
      w->consecutive_errors = 0;
      bool changed;
      if (w->snapshot == nullptr) {
        // The first read is seq_base + 1: the state every stream's SNAPSHOT starts from.
        w->seq = w->seq_base + 1;
        WatchEvent snap;
        snap.kind = WatchEventKind::kSnapshot;
        snap.seq = w->seq;
        snap.snapshot = fresh;
        snap.observed_at_ms = wall;
        events.push_back(std::move(snap));
        changed = true;
      } else {
        std::vector<WatchEvent> changes = diff_snapshots(*w->snapshot, *fresh);
        changed = !changes.empty();
        for (auto& e : changes) {
          e.seq = ++w->seq;
          e.observed_at_ms = wall;
          w->history.push_back(e);
          events.push_back(std::move(e));
        }
      }
      w->snapshot = fresh;
      bool settling = false;
      if (w->reopened_at) {
        settling = !changed && fresh->finished && now - *w->reopened_at < kReopenSettle;
        if (!settling) w->reopened_at.reset();
      }
      if (fresh->finished && !settling) {
        WatchEvent fin;
        fin.kind = WatchEventKind::kFinished;
        fin.seq = ++w->seq;
        fin.snapshot = fresh;
        fin.observed_at_ms = wall;
        w->history.push_back(fin);
        w->finished_event = fin;
        events.push_back(std::move(fin));
        w->finished = true;
        finished_now = true;
        final_status = fresh->status;
        end.emplace(std::nullopt);
      }
      while (w->history.size() > config_.history_limit) w->history.pop_front();
      w->interval =
          poll_.next_interval(w->interval, changed, poll_.is_young(w->created, *fresh, now, wall));
      w->slow = slow_locked(*w);
      next_delay = on_grid(now, poll_.jittered(w->slow ? config_.callback_safety : w->interval));
    } else {
      const Error& error = result.error();
      const auto since = now - (w->last_ok_read ? *w->last_ok_read : w->created);
      const bool lost = is_not_found(error) && w->snapshot != nullptr &&
                        (w->lost_since.has_value() || after_outage(*w, now));
      if (lost && !w->lost_since) w->lost_since = now;
      if (lost && now - *w->lost_since >= config_.lost_grace) {
        Error gone;
        gone.kind = ErrorKind::kNotFound;
        gone.message = "JOB no longer knows job " + std::to_string(w->key.job) +
                       ", which it reported unfinished (status " +
                       std::to_string(w->snapshot->status) +
                       ") before it was unreachable; the job's outcome is unknown (JOB may have "
                       "lost its state): check it in JOB before running it again";
        gone.job_code = error.job_code;
        gone.request_id = error.request_id;
        spdlog::warn("watch_end scope={}:{} job_instance_id={} reason=job_lost {}", w->key.type,
                     w->key.id, w->key.job, error.describe());
        end.emplace(std::move(gone));
        ended_reason = "job_lost";
        w->stopped = true;
      } else if (lost) {
        w->consecutive_errors++;
        next_delay = backoff_.delay(w->consecutive_errors);
        spdlog::info(
            "watch_job_unknown_after_outage scope={}:{} job_instance_id={} retry_in_ms={} {}",
            w->key.type, w->key.id, w->key.job, next_delay.count(), error.describe());
      } else if (!is_transient(error)) {
        spdlog::warn("watch_end scope={}:{} job_instance_id={} reason=job_error {}", w->key.type,
                     w->key.id, w->key.job, error.describe());
        end.emplace(error);
        ended_reason = "job_error";
        w->stopped = true;
      } else if (since >= config_.give_up_after) {
        Error give_up;
        give_up.kind = ErrorKind::kTimeout;
        give_up.message =
            "gave up on job " + std::to_string(w->key.job) + " after " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(since).count()) +
            " s without a successful status read; last error: " + error.message;
        give_up.job_code = error.job_code;
        give_up.request_id = error.request_id;
        spdlog::warn("watch_end scope={}:{} job_instance_id={} reason=give_up {}", w->key.type,
                     w->key.id, w->key.job, error.describe());
        end.emplace(std::move(give_up));
        ended_reason = "give_up";
        w->stopped = true;
      } else {
        w->consecutive_errors++;
        next_delay = backoff_.delay(w->consecutive_errors);
        spdlog::info(
            "watch_read_failed scope={}:{} job_instance_id={} attempt={} retry_in_ms={} {}",
            w->key.type, w->key.id, w->key.job, w->consecutive_errors, next_delay.count(),
            error.describe());
      }
    }
    // A read that changed nothing touches no subscriber: idle streams cost nothing per read.
    if (!events.empty() || end) targets = targets_locked(*w);
    if (end) {
      w->subscribers.clear();
      w->progress_only.clear();
    }
    latest = w->snapshot;
    latest_seq = w->seq;
  }

  if (!targets.empty()) {
    std::lock_guard<std::mutex> order(w->deliver_mu);
    for (const auto& t : targets) {
      // Only the first read yields a SNAPSHOT here, and only subscribers that came before it
      // are in `targets` then; later ones got their own SNAPSHOT in subscribe().
      for (const auto& e : events) {
        if (t.wants(e)) t.sub->push(WatchItem::of(e), latest, latest_seq);
      }
      if (end) t.sub->push(WatchItem::end(*end), latest, latest_seq);
    }
  }
  for (const auto& e : events) observer().on_event(e.kind);
  if (finished_now) observer().on_job_finished(final_status);
  if (ended_reason != nullptr) observer().on_watch_ended(ended_reason);
  // A resubmitted id's record is the new job's now: the old job's end must not forget it.
  if (end && end_listener_ && !resubmitted) end_listener_(w->scope, w->key.job, *end);
  if (end && !finished_now) remove(w, /*keep_seq=*/id_reused);
  if (finished_now) {
    retain_finished(w);
    expect_callback(w);
  }
  if (resubmitted) watch(w->scope, w->key.job, w->callback_wired);
  after_delivery(w, next_delay);
}

std::vector<DeliveryTarget> WatchHub::Impl::targets_locked(const JobWatch& w) {
  std::vector<DeliveryTarget> out;
  out.reserve(w.subscribers.size());
  // Sorted once per delivery, so thousands of progress-only subscribers of one job cost
  // n log n, not n squared.
  std::vector<const SubscriberQueue*> progress(w.progress_only);
  std::sort(progress.begin(), progress.end());
  for (const auto& sub : w.subscribers) {
    const bool hosts =
        progress.empty() || !std::binary_search(progress.begin(), progress.end(), sub.get());
    out.push_back(DeliveryTarget{sub, hosts});
  }
  return out;
}

bool WatchHub::Impl::slow_locked(const JobWatch& w) const {
  return w.callback_wired && !w.fed && !w.wants_hosts() && config_.callback_safety.count() > 0 &&
         callbacks_arriving_.load();
}

void WatchHub::Impl::expect_callback(const std::shared_ptr<JobWatch>& w) {
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (!w->callback_wired || w->callback_seen) return;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  std::weak_ptr<JobWatch> weak_watch = w;
  scheduler_.after(config_.callback_grace, [weak, weak_watch] {
    auto self = weak.lock();
    auto watch = weak_watch.lock();
    if (self && watch) self->callback_missed(watch);
  });
}

void WatchHub::Impl::callback_missed(const std::shared_ptr<JobWatch>& w) {
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->callback_seen) return;
    // Counted once per job, however often it is looked at.
    w->callback_seen = true;
  }
  observer().on_callback_missed();
  const bool was_arriving = callbacks_arriving_.exchange(false);
  spdlog::warn(
      "event=callback_missed job_instance_id={} grace_ms={} detail=\"JOB's callback for a "
      "finished job did not arrive; jobs are read on the detailed schedule until one does\"",
      w->key.job, config_.callback_grace.count());
  if (!was_arriving) return;
  // Jobs waiting on the slow schedule relied on callbacks: they go back to the detailed one now.
  std::vector<std::shared_ptr<JobWatch>> slow;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (const auto& [key, watch] : table_) slow.push_back(watch);
  }
  for (const auto& watch : slow) {
    bool was_slow;
    {
      std::lock_guard<std::mutex> lock(watch->mu);
      was_slow = watch->slow && !watch->finished && !watch->stopped;
    }
    if (was_slow) read_now(watch);
  }
}

bool WatchHub::Impl::after_outage(const JobWatch& w, Clock::time_point now) const {
  if (w.consecutive_errors > 0) return true;
  std::lock_guard<std::mutex> lock(reach_mu_);
  if (unreachable_) return true;
  return outage_ended_ && now - *outage_ended_ < config_.lost_grace;
}

void WatchHub::Impl::push_notice(const std::shared_ptr<SubscriberQueue>& sub, const JobWatch& w) {
  std::optional<WatchEvent> notice;
  {
    std::lock_guard<std::mutex> lock(reach_mu_);
    notice = unreachable_;
  }
  if (!notice) return;
  notice->seq = w.seq;
  sub->push(WatchItem::of(std::move(*notice)), w.snapshot, w.seq);
}

void WatchHub::Impl::set_job_reachability(const Reachability& state) {
  WatchEvent notice;
  {
    std::lock_guard<std::mutex> lock(reach_mu_);
    if (!state.up) {
      if (unreachable_ || !state.known) return;
      notice.kind = WatchEventKind::kJobUnreachable;
      notice.unreachable_since_ms = state.unreachable_since_ms;
      notice.last_error = state.last_error;
      notice.observed_at_ms = scheduler_.wall_ms();
      unreachable_ = notice;
    } else {
      if (!unreachable_) return;
      notice.kind = WatchEventKind::kJobReachable;
      notice.unreachable_since_ms = unreachable_->unreachable_since_ms;
      notice.reachable_since_ms = state.reachable_since_ms;
      notice.last_error = unreachable_->last_error;
      notice.observed_at_ms = scheduler_.wall_ms();
      unreachable_.reset();
      outage_ended_ = scheduler_.now();
    }
  }
  std::vector<std::shared_ptr<JobWatch>> watches;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (const auto& [key, w] : table_) watches.push_back(w);
  }
  std::vector<std::shared_ptr<JobWatch>> failing;
  for (const auto& w : watches) {
    // Under deliver_mu, so the notice's seq never runs ahead of a change still being delivered.
    std::lock_guard<std::mutex> order(w->deliver_mu);
    std::vector<std::shared_ptr<SubscriberQueue>> targets;
    std::shared_ptr<const JobSnapshot> latest;
    std::uint64_t seq = 0;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      if (w->stopped || w->finished) continue;
      targets = w->subscribers;
      for (const auto& [sub, after] : w->awaiting) targets.push_back(sub);
      latest = w->snapshot;
      seq = w->seq;
      if (w->consecutive_errors > 0 && !w->fed) failing.push_back(w);
    }
    WatchEvent e = notice;
    e.seq = seq;
    for (const auto& sub : targets) sub->push(WatchItem::of(e), latest, seq);
  }
  if (state.up) {
    for (const auto& w : failing) read_now(w);
  }
}

void WatchHub::Impl::after_delivery(const std::shared_ptr<JobWatch>& w, milliseconds next_delay) {
  bool again = false;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->reading = false;
    if (w->stopped || w->finished) return;
    if (w->read_again) {
      w->read_again = false;
      again = true;
    }
  }
  if (again) {
    start_read(w, ReadRank::Kind::kSignal);
    return;
  }
  observer().on_poll(next_delay);
  schedule_read(w, next_delay);
}

milliseconds WatchHub::Impl::on_grid(Clock::time_point now, milliseconds delay) const {
  const milliseconds grid = config_.poll_grid;
  if (grid.count() <= 0 || delay < std::chrono::seconds(1)) return delay;
  const auto at = std::chrono::duration_cast<milliseconds>((now + delay).time_since_epoch());
  return delay + (grid - at % grid) % grid;
}

void WatchHub::Impl::schedule_read(const std::shared_ptr<JobWatch>& w, milliseconds delay) {
  std::weak_ptr<Impl> weak = weak_from_this();
  std::weak_ptr<JobWatch> weak_watch = w;
  const auto due = scheduler_.now() + delay;
  auto timer = scheduler_.after(delay, [weak, weak_watch] {
    auto self = weak.lock();
    auto watch = weak_watch.lock();
    if (self && watch) self->start_read(watch, ReadRank::Kind::kScheduled);
  });
  std::lock_guard<std::mutex> lock(w->mu);
  if (w->stopped) {
    timer->cancel();
    return;
  }
  w->due = due;
  w->timer = std::move(timer);
}

void WatchHub::Impl::remove(const std::shared_ptr<JobWatch>& w, bool keep_seq) {
  std::shared_ptr<Timer> timer;
  bool finished;
  std::uint64_t seq;
  bool unfollow = false;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    w->stopped = true;
    finished = w->finished;
    seq = w->seq;
    timer = std::move(w->timer);
    if (finished) {
      // Streams that asked past a kept end (subscribe on a fed hub) while it goes: they get it.
      auto awaiting = std::move(w->awaiting);
      w->awaiting.clear();
      for (auto& [sub, after] : awaiting) attach_locked(*w, sub, after);
    }
  }
  if (timer) timer->cancel();
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    auto it = table_.find(w->key);
    if (it != table_.end() && it->second == w) {
      unfollow = w->fed;
      table_.erase(it);
      if (finished) retained_--;
      if (keep_seq) {
        // Ids are reused only when JOB is restored or replaced; the bound is a backstop.
        if (seq_floors_.size() >= config_.finished_retention_max) seq_floors_.clear();
        seq_floors_[w->key] = seq;
      }
    }
  }
  if (unfollow && feed_ != nullptr) feed_->unfollow(w->scope, w->key.job);
  report_tables();
}

// Finished jobs stay readable for late subscribers and GetJobStatus, bounded in time and count.
void WatchHub::Impl::retain_finished(const std::shared_ptr<JobWatch>& w) {
  std::vector<std::shared_ptr<JobWatch>> evicted;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    retained_++;
    finished_order_.push_back(w);
    while (finished_order_.size() > config_.finished_retention_max) {
      if (auto old = finished_order_.front().lock()) evicted.push_back(std::move(old));
      finished_order_.pop_front();
    }
  }
  for (const auto& old : evicted) remove(old);
  std::weak_ptr<Impl> weak = weak_from_this();
  std::weak_ptr<JobWatch> weak_watch = w;
  scheduler_.after(config_.finished_retention, [weak, weak_watch] {
    auto self = weak.lock();
    auto watch = weak_watch.lock();
    if (self && watch) self->remove(watch);
  });
  report_tables();
}

void WatchHub::Impl::subscriber_left(const std::shared_ptr<JobWatch>& w, const SubscriberQueue* sub,
                                     bool counted) {
  bool idle = false;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    auto& subs = w->subscribers;
    subs.erase(
        std::remove_if(subs.begin(), subs.end(), [sub](const auto& s) { return s.get() == sub; }),
        subs.end());
    auto& awaiting = w->awaiting;
    awaiting.erase(std::remove_if(awaiting.begin(), awaiting.end(),
                                  [sub](const auto& a) { return a.first.get() == sub; }),
                   awaiting.end());
    auto& progress = w->progress_only;
    progress.erase(std::remove(progress.begin(), progress.end(), sub), progress.end());
    // Nobody listens and jobgw did not submit it: stop reading JOB for it. Stopped here, under
    // the lock that decided it, so a subscriber or registration arriving before remove() runs
    // sees a stopped watch and looks again instead of joining one that is going away.
    idle = subs.empty() && awaiting.empty() && !w->registered && !w->finished && !w->stopped;
    if (idle) w->stopped = true;
  }
  if (counted) subscriber_ended();
  if (idle) remove(w);
}

void WatchHub::Impl::subscriber_ended() {
  subscribers_--;
  observer().on_subscribers(subscribers_.load());
}

void WatchHub::Impl::shutdown(Error reason) {
  std::vector<std::shared_ptr<JobWatch>> all;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    if (shut_) return;
    shut_ = true;
    shutdown_reason_ = reason;
    sweep_->stop();
    for (auto& [key, w] : table_) all.push_back(w);
    table_.clear();
    finished_order_.clear();
    retained_ = 0;
  }
  for (const auto& w : all) {
    std::vector<std::shared_ptr<SubscriberQueue>> subs;
    std::shared_ptr<Timer> timer;
    std::shared_ptr<const JobSnapshot> latest;
    std::uint64_t seq;
    {
      std::lock_guard<std::mutex> lock(w->mu);
      w->stopped = true;
      subs.swap(w->subscribers);
      for (auto& [sub, after] : w->awaiting) subs.push_back(sub);
      w->awaiting.clear();
      timer = std::move(w->timer);
      latest = w->snapshot;
      seq = w->seq;
    }
    if (timer) timer->cancel();
    std::lock_guard<std::mutex> order(w->deliver_mu);
    for (const auto& sub : subs) sub->push(WatchItem::end(reason), latest, seq);
  }
  report_tables();
}

std::shared_ptr<JobWatch> WatchHub::Impl::find(const Scope& scope, std::int64_t job) const {
  std::lock_guard<std::mutex> lock(table_mu_);
  auto it = table_.find(key_of(scope, job));
  return it == table_.end() ? nullptr : it->second;
}

void WatchHub::Impl::initialize_locked(JobWatch& w, std::shared_ptr<const JobSnapshot> snapshot,
                                       std::uint64_t seq, std::vector<WatchEvent> history,
                                       bool reopened) {
  w.snapshot = std::move(snapshot);
  w.seq = seq;
  w.history.assign(std::make_move_iterator(history.begin()),
                   std::make_move_iterator(history.end()));
  while (w.history.size() > config_.history_limit) w.history.pop_front();
  w.last_ok_read = scheduler_.now();
  if (w.snapshot->finished && !reopened) {
    w.finished = true;
    if (!w.history.empty() && w.history.back().kind == WatchEventKind::kFinished &&
        w.history.back().seq == seq) {
      w.finished_event = w.history.back();
    } else {
      WatchEvent fin;
      fin.kind = WatchEventKind::kFinished;
      fin.seq = seq;
      fin.snapshot = w.snapshot;
      fin.observed_at_ms = scheduler_.wall_ms();
      w.finished_event = fin;
    }
  }
  auto awaiting = std::move(w.awaiting);
  w.awaiting.clear();
  for (auto& [sub, after] : awaiting) attach_locked(w, sub, after);
}

void WatchHub::Impl::feed_state(const Scope& scope, std::int64_t job, FeedState state) {
  std::shared_ptr<JobWatch> w = find(scope, job);
  if (w == nullptr) return;
  std::vector<DeliveryTarget> targets;
  std::vector<WatchEvent> events;
  std::vector<WatchEvent> early;
  std::shared_ptr<const JobSnapshot> latest;
  std::uint64_t latest_seq = 0;
  bool finished_now = false;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (!w->fed || w->stopped) return;
    if (w->finished) {
      // The log still ends where this watch did: streams that asked past the end get it.
      auto awaiting = std::move(w->awaiting);
      w->awaiting.clear();
      for (auto& [sub, after] : awaiting) attach_locked(*w, sub, after);
      return;
    }
    const bool first_load = !w->loaded;
    w->loaded = true;
    if (first_load) early.swap(w->early);
    if (state.end) {
      // The job's poller stopped for good: waiting and served subscribers end alike.
      for (auto& [sub, after] : w->awaiting) {
        targets.push_back(DeliveryTarget{sub, !w->progress_only_has(sub.get())});
      }
      w->awaiting.clear();
    } else if (state.snapshot != nullptr && (w->snapshot == nullptr || state.seq > w->seq)) {
      if (w->snapshot == nullptr) {
        initialize_locked(*w, state.snapshot, state.seq, std::move(state.history), state.reopened);
      } else {
        // A gap: these subscribers missed changes; one SNAPSHOT brings them to the log's state.
        w->snapshot = state.snapshot;
        w->seq = state.seq;
        w->history.assign(state.history.begin(), state.history.end());
        w->last_ok_read = scheduler_.now();
        WatchEvent snap;
        snap.kind = WatchEventKind::kSnapshot;
        snap.seq = state.seq;
        snap.snapshot = state.snapshot;
        snap.observed_at_ms = scheduler_.wall_ms();
        events.push_back(std::move(snap));
        if (state.snapshot->finished && !state.reopened) {
          initialize_locked(*w, state.snapshot, state.seq, std::move(state.history));
          events.push_back(*w->finished_event);
        }
      }
      finished_now = w->finished;
    }
    for (const auto& sub : w->subscribers) {
      targets.push_back(DeliveryTarget{sub, !w->progress_only_has(sub.get())});
    }
    if (state.end || finished_now) {
      w->subscribers.clear();
      w->progress_only.clear();
    }
    latest = w->snapshot;
    latest_seq = w->seq;
  }
  {
    std::lock_guard<std::mutex> order(w->deliver_mu);
    for (const auto& t : targets) {
      for (const auto& e : events) {
        if (t.wants(e)) t.sub->push(WatchItem::of(e), latest, latest_seq);
      }
      if (state.end) {
        t.sub->push(WatchItem::end(*state.end), latest, latest_seq);
      } else if (finished_now) {
        t.sub->push(WatchItem::end(std::nullopt), latest, latest_seq);
      }
    }
  }
  if (state.end || finished_now) {
    finish_fed(w, state.end, finished_now);
    return;
  }
  // Changes that arrived while the state loaded continue it (older ones it already holds).
  if (!early.empty() && !feed_events(scope, job, std::move(early), nullptr)) {
    spdlog::debug("event=feed_gap job_instance_id={} after=load", job);
  }
}

bool WatchHub::Impl::feed_events(const Scope& scope, std::int64_t job,
                                 std::vector<WatchEvent> events,
                                 std::shared_ptr<const JobSnapshot> latest) {
  std::shared_ptr<JobWatch> w = find(scope, job);
  if (w == nullptr) return true;
  std::vector<DeliveryTarget> targets;
  std::vector<WatchEvent> fresh;
  bool finished_now = false;
  std::uint64_t latest_seq = 0;
  std::shared_ptr<const JobSnapshot> snapshot;
  {
    std::lock_guard<std::mutex> lock(w->mu);
    if (!w->fed || w->stopped || w->finished) return true;
    if (!w->loaded) {
      for (auto& e : events) w->early.push_back(std::move(e));
      return true;
    }
    for (auto& e : events) {
      if (w->snapshot != nullptr && e.seq <= w->seq) continue;  // already held
      if (w->snapshot == nullptr) {
        // Nothing read before: the log starts with the poller's first SNAPSHOT.
        if (e.kind != WatchEventKind::kSnapshot || e.snapshot == nullptr) return false;
        initialize_locked(*w, e.snapshot, e.seq, {});
        finished_now = w->finished;
        continue;
      }
      if (e.seq != w->seq + 1) return false;
      w->seq = e.seq;
      if (e.snapshot != nullptr) w->snapshot = e.snapshot;
      w->history.push_back(e);
      if (e.kind == WatchEventKind::kFinished) {
        w->finished = true;
        w->finished_event = e;
        finished_now = true;
      }
      fresh.push_back(std::move(e));
    }
    while (w->history.size() > config_.history_limit) w->history.pop_front();
    if (latest != nullptr && !w->finished) w->snapshot = latest;
    w->last_ok_read = scheduler_.now();
    targets = targets_locked(*w);
    if (finished_now) {
      w->subscribers.clear();
      w->progress_only.clear();
    }
    snapshot = w->snapshot;
    latest_seq = w->seq;
  }
  {
    std::lock_guard<std::mutex> order(w->deliver_mu);
    for (const auto& t : targets) {
      for (const auto& e : fresh) {
        if (t.wants(e)) t.sub->push(WatchItem::of(e), snapshot, latest_seq);
      }
      if (finished_now) t.sub->push(WatchItem::end(std::nullopt), snapshot, latest_seq);
    }
  }
  for (const auto& e : fresh) observer().on_event(e.kind);
  if (finished_now) finish_fed(w, std::nullopt, true);
  return true;
}

void WatchHub::Impl::feed_reopened(const Scope& scope, std::int64_t job, std::uint64_t seq) {
  std::shared_ptr<JobWatch> old = find(scope, job);
  if (old == nullptr) return;
  WatchSeed seed;
  seed.reopen = true;
  std::deque<WatchEvent> history;
  {
    std::lock_guard<std::mutex> lock(old->mu);
    if (!old->fed || old->stopped || !old->finished || old->seq > seq) return;
    seed.snapshot = old->snapshot;
    seed.seq = old->seq;
    history = old->history;
  }
  bool created = false;
  std::shared_ptr<JobWatch> w = find_or_create(scope, job, &created, true, &seed, old.get());
  // Streams that asked past the end (subscribe) wait on: the job's next changes are theirs.
  // Taken once the old watch is stopped (here or by whoever replaced or removed it), so none
  // can join it after this.
  std::vector<std::pair<std::shared_ptr<SubscriberQueue>, std::optional<std::uint64_t>>> awaiting;
  std::vector<const SubscriberQueue*> progress;
  {
    std::lock_guard<std::mutex> lock(old->mu);
    awaiting = std::move(old->awaiting);
    old->awaiting.clear();
    for (const auto& [sub, after] : awaiting) {
      if (old->progress_only_has(sub.get())) progress.push_back(sub.get());
    }
  }
  if (w == nullptr) {
    // Gone meanwhile (kept long enough, or the hub shut down): they get the end it kept.
    std::lock_guard<std::mutex> lock(old->mu);
    for (auto& [sub, after] : awaiting) attach_locked(*old, sub, after);
    return;
  }
  std::lock_guard<std::mutex> lock(w->mu);
  if (created) {
    // Already loaded: the log's next events continue this seq (a gap reloads, as always).
    w->loaded = true;
    w->history = std::move(history);
    w->last_ok_read = scheduler_.now();
  }
  w->progress_only.insert(w->progress_only.end(), progress.begin(), progress.end());
  for (auto& [sub, after] : awaiting) {
    if (w->snapshot != nullptr) {
      attach_locked(*w, sub, after);
    } else {
      w->awaiting.emplace_back(sub, after);
    }
  }
}

void WatchHub::Impl::finish_fed(const std::shared_ptr<JobWatch>& w,
                                const std::optional<Error>& error, bool finished) {
  if (end_listener_) end_listener_(w->scope, w->key.job, error);
  if (finished) {
    retain_finished(w);
  } else {
    remove(w);
  }
}

std::vector<WatchedJob> WatchHub::Impl::list() const {
  std::vector<std::shared_ptr<JobWatch>> watches;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    watches.reserve(table_.size());
    for (const auto& [key, w] : table_) watches.push_back(w);
  }
  std::vector<WatchedJob> out;
  out.reserve(watches.size());
  for (const auto& w : watches) {
    std::lock_guard<std::mutex> lock(w->mu);
    if (w->resubmitted) continue;
    WatchedJob job;
    job.scope = w->scope;
    job.job_instance_id = w->key.job;
    job.snapshot = w->snapshot;
    job.subscribers = w->subscribers.size() + w->awaiting.size();
    job.first_seen_ms = w->created_wall_ms;
    out.push_back(std::move(job));
  }
  return out;
}

WatchHubStats WatchHub::Impl::stats() const {
  WatchHubStats s;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (const auto& [key, w] : table_) {
      std::lock_guard<std::mutex> wlock(w->mu);
      if (w->finished) {
        s.retained_jobs++;
      } else {
        s.watched_jobs++;
      }
    }
  }
  s.subscribers = subscribers_.load();
  s.reads = reads_.load();
  s.read_errors = read_errors_.load();
  return s;
}

void WatchHub::Impl::report_tables() {
  std::size_t watched;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    watched = table_.size() - retained_;
  }
  observer().on_watched_jobs(watched);
}

WatchHub::WatchHub(Scheduler& scheduler, StatusSource& source, WatchHubConfig config,
                   WatchObserver* observer, std::function<double()> uniform01, ReadBudget* budget)
    : impl_(std::make_shared<Impl>(scheduler, source, std::move(config), observer,
                                   std::move(uniform01), budget)) {
  impl_->start();
}

WatchHub::~WatchHub() {
  Error reason;
  reason.kind = ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  impl_->shutdown(std::move(reason));
}

std::shared_ptr<Subscription> WatchHub::subscribe(const Scope& scope, std::int64_t job_instance_id,
                                                  std::optional<std::uint64_t> after_seq,
                                                  WatchDetail detail) {
  return impl_->subscribe(scope, job_instance_id, after_seq, detail);
}

void WatchHub::watch(const Scope& scope, std::int64_t job_instance_id, bool callback_wired) {
  impl_->watch(scope, job_instance_id, callback_wired);
}

void WatchHub::reopen(const Scope& scope, std::int64_t job_instance_id, bool callback_wired,
                      std::function<void()> shared) {
  impl_->reopen(scope, job_instance_id, callback_wired, std::nullopt, std::move(shared));
}

bool WatchHub::poke(std::int64_t job_instance_id) { return impl_->poke(job_instance_id); }

void WatchHub::offer_finished(const Scope& scope, std::int64_t job_instance_id,
                              const JobSnapshot& snapshot) {
  impl_->offer_finished(scope, job_instance_id, snapshot);
}

bool WatchHub::callback_arrived(std::int64_t job_instance_id) {
  return impl_->callback_arrived(job_instance_id);
}

std::vector<WatchedJob> WatchHub::list() const { return impl_->list(); }

std::optional<JobSnapshot> WatchHub::cached(const Scope& scope, std::int64_t job_instance_id,
                                            std::chrono::milliseconds max_age) const {
  return impl_->cached(scope, job_instance_id, max_age);
}

void WatchHub::shutdown(Error reason) { impl_->shutdown(std::move(reason)); }

void WatchHub::set_job_reachability(const Reachability& state) {
  impl_->set_job_reachability(state);
}

void WatchHub::set_feed(WatchFeed* feed) { impl_->feed_ = feed; }

void WatchHub::feed_state(const Scope& scope, std::int64_t job_instance_id, FeedState state) {
  impl_->feed_state(scope, job_instance_id, std::move(state));
}

bool WatchHub::feed_events(const Scope& scope, std::int64_t job_instance_id,
                           std::vector<WatchEvent> events,
                           std::shared_ptr<const JobSnapshot> latest) {
  return impl_->feed_events(scope, job_instance_id, std::move(events), std::move(latest));
}

std::optional<WatchSeed> WatchHub::position(const Scope& scope,
                                            std::int64_t job_instance_id) const {
  auto w = impl_->find(scope, job_instance_id);
  if (w == nullptr) return std::nullopt;
  std::lock_guard<std::mutex> lock(w->mu);
  return WatchSeed{w->snapshot, w->seq};
}

std::shared_ptr<Subscription> WatchHub::subscribe_from(const Scope& scope,
                                                       std::int64_t job_instance_id,
                                                       const WatchSeed& seed) {
  return impl_->subscribe_from(scope, job_instance_id, seed);
}

void WatchHub::feed_reopened(const Scope& scope, std::int64_t job_instance_id, std::uint64_t seq) {
  impl_->feed_reopened(scope, job_instance_id, seq);
}

void WatchHub::set_rerun_listener(RerunListener listener) {
  impl_->rerun_listener_ = std::move(listener);
}

void WatchHub::set_end_listener(EndListener listener) {
  impl_->end_listener_ = std::move(listener);
}

WatchHubStats WatchHub::stats() const { return impl_->stats(); }

}  // namespace jobgw::core
