#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "core/base/backoff.h"
#include "core/base/result.h"
#include "core/base/scheduler.h"
#include "core/job/job_reachability.h"
#include "core/job/job_snapshot.h"
#include "core/job/plan_requests.h"
#include "core/watch/read_budget.h"
#include "core/watch/watch_event.h"
#include "core/watch/watch_feed.h"

namespace jobgw::core {

struct WatchHubConfig {
  // Adaptive poll interval: starts at the floor, grows by `growth` per unchanged read up to the
  // ceiling, snaps back to the floor on any change.
  std::chrono::milliseconds poll_floor{200};
  std::chrono::milliseconds poll_ceiling{5000};
  double poll_growth = 1.5;
  // A job younger than this (by JOB's start_time, else since jobgw first saw it) is read at the
  // floor whether or not it changes: short jobs are the common case and their callers wait on
  // them, so their start, host changes and end are noticed within a floor. 0 turns it off.
  std::chrono::milliseconds poll_young_for{5000};
  // +-fraction applied to every interval so jobs submitted together do not poll in lockstep.
  double poll_jitter = 0.1;
  // A read due a second or more ahead is moved later to the next multiple of this on the
  // scheduler's clock, so jobs polled at the ceiling are read in batches: one timer wake-up and
  // one burst of JOB exchanges serve several jobs instead of one each (on these VMs a wake-up
  // costs more CPU than the read's own work). 0: every read at its own time.
  std::chrono::milliseconds poll_grid{250};
  // Failed reads back off exponentially; they never end a stream by themselves.
  BackoffPolicy error_backoff{std::chrono::milliseconds(500), std::chrono::milliseconds(15000), 2.0,
                              0.2};
  // No successful read for this long ends the job's streams with kTimeout.
  std::chrono::milliseconds give_up_after{std::chrono::minutes(10)};
  // JOB answers "no such job" for a job it reported before an outage (its database came back
  // behind its API, or it was restored from an older backup): the job is read again for this
  // long before its streams end with kNotFound, saying its outcome is unknown. Without an
  // outage "no such job" ends the streams at once.
  std::chrono::milliseconds lost_grace{std::chrono::seconds(60)};
  // Global cap on JOB status reads, shared by all pollers. Any wall-clock second sees at most
  // rate + burst reads, so a burst of 5 % of the rate keeps every second within 5 % of JOB's
  // budget.
  double reads_per_second = 50;
  double read_burst = 2.5;
  // Demand-aware polling: a job no subscriber wants host detail of (WatchDetail::kProgress or
  // none), that jobgw submitted with its callback, while JOB's callbacks are reaching jobgw
  // (one arrived and none was missed since), is read this often (jittered) and at once on its
  // callback, instead of on the floor/ceiling schedule. A minute: a job of up to a minute then
  // costs at most three reads (learn it, perhaps one safety read, the callback's); at 30 s,
  // 60 s jobs took 3.5 on average.
  std::chrono::milliseconds callback_safety{60000};
  // A job submitted with its callback whose callback has not arrived this long after a read saw
  // it finished counts as a missed callback (WatchObserver::on_callback_missed); until the next
  // callback arrives, every job is read on the detailed schedule again.
  std::chrono::milliseconds callback_grace{10000};
  // The order reads wait in while the budget is spent (read_budget.h, read_queue.h).
  ReadOrder read_order;
  // While reads wait for budget tokens, a job whose turn is 20 s away may have ended 19 s ago.
  // So while they wait, the hub asks JOB's job list (get_job_instance_list: every job of a
  // scope created in a time window, its status included, up to sweep_page jobs a read) this
  // often for each scope with at least sweep_min_jobs subscribed jobs, under the same budget,
  // and reads at once, ahead of the queue, the subscribed jobs whose listed status differs from
  // their last read. One read then notices the ends among a thousand jobs: at 50 reads/s for
  // 1000 jobs the median notice lag fell from 7.8 s to under a second. Jobs no one subscribes
  // to keep their place in the queue. 0: never.
  std::chrono::milliseconds sweep_interval{1000};
  std::size_t sweep_min_jobs = 8;
  // JOB's largest page. A sweep reads at most one page more than its jobs need, so a scope
  // where others create many jobs leaves its oldest watched ones to their own reads.
  std::int64_t sweep_page = 1000;
  // Events kept per job for after_seq resumption.
  std::size_t history_limit = 1024;
  // Events queued per subscriber before intermediate ones collapse into one SNAPSHOT.
  std::size_t subscriber_queue_limit = 256;
  // How long a finished job stays in the hub for late subscribers and GetJobStatus.
  std::chrono::milliseconds finished_retention{std::chrono::minutes(5)};
  std::size_t finished_retention_max = 10000;
  // Added to every job's sequence numbers. A restarted jobgw starts above every seq the last
  // run gave out, so an after_seq from before the restart can never be mistaken for one of
  // this run's: it gets a fresh SNAPSHOT.
  std::uint64_t seq_base = 0;
};

// Reads a job's status; the production one is JobClient's get_job_instance_status.
class StatusSource {
 public:
  virtual ~StatusSource() = default;
  virtual void read_status(const Scope& scope, std::int64_t job_instance_id,
                           std::function<void(Result<JobSnapshot>)> done) = 0;
  // Whether list_jobs works (WatchHubConfig::sweep_interval); sources that cannot list leave
  // both as they are.
  virtual bool can_list() const { return false; }
  // One page of JOB's job list (get_job_instance_list).
  virtual void list_jobs(const JobListRequest& request,
                         std::function<void(Result<JobInstancePage>)> done) {
    done(Error::internal("this status source cannot list jobs"));
  }
};

// Metrics hooks; the default does nothing. Called without hub locks held.
class WatchObserver {
 public:
  virtual ~WatchObserver() = default;
  virtual void on_event(WatchEventKind kind) {}
  virtual void on_watched_jobs(std::size_t count) {}
  virtual void on_subscribers(std::size_t count) {}
  virtual void on_poll(std::chrono::milliseconds next_interval) {}
  virtual void on_read(bool ok) {}
  // A job list read of a sweep (WatchHubConfig::sweep_interval) answered (ok) or failed;
  // `changed`: the subscribed jobs it found changed, read at once.
  virtual void on_sweep(bool ok, std::size_t changed) {}
  virtual void on_token_wait(std::chrono::milliseconds waited) {}
  virtual void on_job_finished(int job_status) {}
  virtual void on_subscriber_overflow() {}
  // A job's watch ended without FINISHED: "give_up" (no good read for watch.give_up_after),
  // "job_error" (JOB refused the read), "id_reused" (the id names another job now) or
  // "job_lost" (JOB no longer knows a job it reported before an outage).
  virtual void on_watch_ended(const char* reason) {}
  // A job jobgw submitted with its callback finished and its callback did not come within
  // callback_grace.
  virtual void on_callback_missed() {}
};

// One subscriber's stream. Pull-based so a slow consumer never blocks the poller: events queue
// (bounded) until the consumer asks for the next one.
class Subscription {
 public:
  virtual ~Subscription() = default;
  // Asks for the next item; `ready` runs exactly once: inline when an item is already queued,
  // otherwise later on a hub thread. One request at a time. After an end item no more requests.
  virtual void next(std::function<void(WatchItem)> ready) = 0;
  // Frees the subscriber's queue now. A pending `ready` is dropped without being called, though
  // one already running on another thread may still finish.
  virtual void cancel() = 0;
};

struct WatchHubStats {
  std::size_t watched_jobs = 0;   // jobs with a live poller
  std::size_t retained_jobs = 0;  // finished jobs kept for late readers
  std::size_t subscribers = 0;
  std::uint64_t reads = 0;
  std::uint64_t read_errors = 0;
};

// One job the hub watches or keeps (finished), as list() reports it.
struct WatchedJob {
  Scope scope;
  std::int64_t job_instance_id = 0;
  std::shared_ptr<const JobSnapshot> snapshot;  // null until the first read (or feed state)
  std::size_t subscribers = 0;
  std::int64_t first_seen_ms = 0;  // when the hub started watching it (Unix ms)
};

// One poller per (scope, job), however many subscribers (docs/ARCHITECTURE.md "WatchHub").
// Thread-safe; the job table has one mutex held only for lookups, each job its own.
class WatchHub {
 public:
  // `budget` null: a TokenBucket of config.reads_per_second and read_burst, this hub's own.
  WatchHub(Scheduler& scheduler, StatusSource& source, WatchHubConfig config,
           WatchObserver* observer = nullptr, std::function<double()> uniform01 = {},
           ReadBudget* budget = nullptr);
  ~WatchHub();

  // A stream for the job: SNAPSHOT (or the events after after_seq), changes, FINISHED, end. A
  // read that shows another job under the id (name or create time changed) ends the stream
  // with kNotFound: the watched job is gone.
  // `detail` kProgress: no kHostChanged events, and the job may be read on the slow schedule
  // (WatchHubConfig::callback_safety); a kHosts subscriber joining such a job has it read at once
  // and on the detailed schedule from then on.
  std::shared_ptr<Subscription> subscribe(const Scope& scope, std::int64_t job_instance_id,
                                          std::optional<std::uint64_t> after_seq = {},
                                          WatchDetail detail = WatchDetail::kHosts);
  // Starts polling a job jobgw submitted, so its status is known before anyone watches. JOB
  // just gave out this id, so a finished job the hub keeps under it is an older one (JOB was
  // restored or replaced) and is dropped; a live watch is read at once and replaced if the
  // read shows another job (see same_job_instance).
  // `callback_wired`: JOB was given jobgw's callback URL for it, so its end will be told.
  void watch(const Scope& scope, std::int64_t job_instance_id, bool callback_wired = false);
  // JOB set the job going again after it had finished (a plan step retried, its error ignored,
  // a refused confirmation asked again): the finished watch the hub keeps makes way for one
  // that starts from its snapshot and continues its seqs, so a stream resuming from the first
  // FINISHED gets the changes and a second FINISHED with a higher seq. A job still running is
  // read now; one the hub no longer keeps is watched as after a submit. `shared` runs once a
  // stream opened anywhere continues past the old end: at once on one jobgw; on replicas once
  // Redis took the reopen and told every replica (or could not be asked).
  void reopen(const Scope& scope, std::int64_t job_instance_id, bool callback_wired = false,
              std::function<void()> shared = {});
  // A hint that the job changed: read it now. False when no watch knows it.
  bool poke(std::int64_t job_instance_id);
  // JOB's callback for the job arrived: read it now, and callbacks are reaching jobgw. For a job
  // the hub saw end unsuccessfully, one read tells whether it ran again (a step retried in JOB
  // itself, which calls back at its new end), and then the watch reopens as for reopen(). False
  // when no watch knows it.
  bool callback_arrived(std::int64_t job_instance_id);
  // The latest snapshot when read no longer than max_age ago, or while the job is polled and its
  // next read is not overdue (its interval and jitter, plus max_age), or when it finished.
  // max_age 0: only a finished job's.
  std::optional<JobSnapshot> cached(const Scope& scope, std::int64_t job_instance_id,
                                    std::chrono::milliseconds max_age) const;
  // A read made elsewhere (GetJobStatus asking JOB) found the job finished: a watch that has not
  // seen the end takes it as its read, so the hub's answers and streams never lag behind an
  // answer jobgw already gave. Ignored for unfinished snapshots and jobs the hub does not poll.
  void offer_finished(const Scope& scope, std::int64_t job_instance_id,
                      const JobSnapshot& snapshot);
  // Ends every stream with `reason` and stops all polling. Idempotent.
  void shutdown(Error reason);
  // JOB's reachability changed (a JobReachability listener): every open stream gets a
  // JOB_UNREACHABLE notice, and JOB_REACHABLE after one; a stream that opens during an outage
  // gets the notice too. On recovery, jobs whose reads were failing are read at once.
  void set_job_reachability(const Reachability& state);

  // Replicas: this hub never reads JOB; its watches are fed by `feed` (WatchFeed). Set before
  // the first subscribe or watch; `feed` must outlive the hub's use.
  void set_feed(WatchFeed* feed);
  // From the feed: the job's log as loaded (first, and again after a gap in feed_events).
  // Subscribers that waited get their SNAPSHOT or replay from it; subscribers already served
  // get one SNAPSHOT of the newer state (they missed changes).
  void feed_state(const Scope& scope, std::int64_t job_instance_id, FeedState state);
  // From the feed: new events of the job's log, in seq order, and the job's state after them.
  // False when they do not continue what the hub has (a gap): the feed reloads the state.
  bool feed_events(const Scope& scope, std::int64_t job_instance_id, std::vector<WatchEvent> events,
                   std::shared_ptr<const JobSnapshot> latest);
  // From the feed: the job's log ended at `seq` and the job runs again (a step retried after
  // its end). A finished watch at or before that seq makes way for one that continues from its
  // snapshot, seq and history, as reopen() does without replicas.
  void feed_reopened(const Scope& scope, std::int64_t job_instance_id, std::uint64_t seq);

  // Where the hub's watch of the job stands (its snapshot and last seq), if it has one.
  std::optional<WatchSeed> position(const Scope& scope, std::int64_t job_instance_id) const;

  // A poller for a job whose numbering continues `seed` (the shared log another replica
  // wrote): the subscription gets the changes after seed.seq, or everything from a first
  // SNAPSHOT when the seed has no snapshot.
  std::shared_ptr<Subscription> subscribe_from(const Scope& scope, std::int64_t job_instance_id,
                                               const WatchSeed& seed);

  // Told once per watch that ends by itself (not by shutdown): error empty when the job
  // finished, else why the hub stopped reading it. Runs without hub locks held, on the thread
  // that read the status. Set before the first subscribe or watch.
  using EndListener = std::function<void(const Scope& scope, std::int64_t job_instance_id,
                                         const std::optional<Error>& error)>;
  void set_end_listener(EndListener listener);

  // Told when a callback showed that a job this hub saw end ran again (callback_arrived), in
  // place of the hub reopening the watch itself: replicas reopen it through the shared log, so
  // every replica follows it. Set before the first subscribe or watch.
  using RerunListener = std::function<void(const Scope& scope, std::int64_t job_instance_id)>;
  void set_rerun_listener(RerunListener listener);

  // Every job the hub watches or keeps, in no particular order.
  std::vector<WatchedJob> list() const;

  WatchHubStats stats() const;

  class Impl;  // opaque; public only so the hub's subscriber type can name it

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace jobgw::core
