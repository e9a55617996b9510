#include "core/logs/log_follow_hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

#include "core/job/job_snapshot.h"
#include "core/logs/step_log.h"

namespace jobgw::core {
namespace {

using Clock = Scheduler::Clock;
using std::chrono::milliseconds;

struct JobKey {
  std::string type;
  std::string id;
  std::int64_t job = 0;
  bool operator==(const JobKey& o) const { return job == o.job && id == o.id && type == o.type; }
};

struct JobKeyHash {
  std::size_t operator()(const JobKey& k) const {
    return std::hash<std::int64_t>()(k.job) ^ (std::hash<std::string>()(k.id) << 1) ^
           (std::hash<std::string>()(k.type) << 2);
  }
};

JobKey job_key(const Scope& scope, std::int64_t job) {
  return JobKey{scope.type.empty() ? "biz" : scope.type, scope.id, job};
}

// WAITING and RUNNING are a host's only statuses that are not final.
bool host_final(const JobSnapshot& job, int status) {
  return job.finished || (status != host_status::kWaiting && status != host_status::kRunning);
}

const StepSnapshot* find_step(const JobSnapshot& job, std::int64_t step_instance_id) {
  for (const auto& step : job.steps) {
    if (step.step_instance_id == step_instance_id) return &step;
  }
  return nullptr;
}

const HostResult* find_result(const StepSnapshot& step, const Host& host) {
  for (const auto& result : step.hosts) {
    if (same_host(result.host, host)) return &result;
  }
  return nullptr;
}

bool nameable(const Host& host) { return host.host_id > 0 || ip_family(host.ip) == IpFamily::kV4; }

// JOB says the job or step does not exist: no later read will find it either.
bool is_gone(const Error& error) {
  return error.kind == ErrorKind::kNotFound ||
         (error.kind == ErrorKind::kJob &&
          (error.job_code == 1244006 || error.job_code == 1244007));
}

Error not_found(std::string message) {
  Error e;
  e.kind = ErrorKind::kNotFound;
  e.message = std::move(message);
  return e;
}

std::string host_list(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size(); ++i) text += (i > 0 ? ", " : "") + names[i];
  return text;
}

// "host_ids: host 123 is not a host of step 75 of job 100; hosts: host 0:10.0.0.1 ...".
std::string not_hosts_message(const std::vector<Host>& unknown, std::int64_t step,
                              std::int64_t job) {
  std::vector<std::string> ids;
  std::vector<std::string> addresses;
  for (const Host& h : unknown) {
    if (h.host_id > 0) {
      ids.push_back(std::to_string(h.host_id));
    } else {
      addresses.push_back(std::to_string(h.cloud_id) + ":" + h.ip);
    }
  }
  const std::string where = " of step " + std::to_string(step) + " of job " + std::to_string(job);
  auto field = [&where](const std::string& name, const std::vector<std::string>& hosts) {
    return name + (hosts.size() == 1 ? ": host " : ": hosts ") + host_list(hosts) +
           (hosts.size() == 1 ? " is not a host" : " are not hosts") + where;
  };
  std::string text;
  if (!ids.empty()) text = field("host_ids", ids);
  if (!addresses.empty()) text += (text.empty() ? "" : "; ") + field("hosts", addresses);
  return text;
}

class LogFollowerImpl;

// One followed step: its held logs, its followers and its read cycle. Guarded by its job's mu.
struct StepState {
  StepState(std::int64_t step_instance_id, bool file_step, std::uint64_t seq_base,
            StepLogLimits limits)
      : log(step_instance_id, file_step, seq_base, limits) {}

  StepLog log;
  std::vector<std::shared_ptr<LogFollowerImpl>> followers;
  // A read is waiting for the budget or for JOB's answer.
  bool reading = false;
  // The next read's timer; timer_id tells a stale firing from the current one.
  std::shared_ptr<Timer> timer;
  std::uint64_t timer_id = 0;
  std::optional<Clock::time_point> last_read_at;
  int consecutive_errors = 0;
  std::optional<Clock::time_point> failing_since;
  // Bumped whenever the step gains or loses its last follower: a retention timer armed for an
  // older idle spell does nothing.
  std::uint64_t idle_generation = 0;
  bool dropped = false;
};

// Everything followed of one job: its status (one WatchHub subscription while anyone follows),
// its followed steps and the followers still waiting for the status to resolve their step.
struct JobEntry {
  JobKey key;
  Scope scope;

  std::mutex mu;
  std::shared_ptr<Subscription> status;
  bool subscribing = false;
  // The job finished: `snapshot` is final and the status stream is over.
  bool status_done = false;
  std::shared_ptr<const JobSnapshot> snapshot;
  // Out of the hub's table (ended, dropped or never in it): nobody joins it any more.
  bool stopped = false;
  std::map<std::int64_t, std::shared_ptr<StepState>> steps;
  std::vector<std::shared_ptr<LogFollowerImpl>> pending;
  std::size_t followers = 0;
};

// What a locked section leaves to do once the lock is released: callbacks, timers and
// subscriptions are never touched under a job's mutex.
struct Aftermath {
  std::vector<std::shared_ptr<LogFollowerImpl>> wake;
  std::vector<std::shared_ptr<StepState>> kick;
  std::vector<std::pair<std::shared_ptr<StepState>, std::uint64_t>> retain;
  std::vector<std::shared_ptr<Timer>> cancel_timers;
  std::vector<std::shared_ptr<Subscription>> cancel_status;
  bool maybe_drop_job = false;
};

struct Counters {
  std::atomic<std::size_t> followers{0};
  std::atomic<std::uint64_t> reads{0};
  std::atomic<std::uint64_t> read_errors{0};
};

class LogFollowerImpl : public LogFollower, public std::enable_shared_from_this<LogFollowerImpl> {
 public:
  LogFollowerImpl(std::weak_ptr<LogFollowHub::Impl> hub, std::shared_ptr<JobEntry> entry,
                  std::shared_ptr<Counters> counters, std::int64_t step_instance_id,
                  std::vector<Host> hosts, std::optional<std::uint64_t> after_seq)
      : hub_(std::move(hub)),
        entry_(std::move(entry)),
        counters_(std::move(counters)),
        step_instance_id_(step_instance_id),
        named_(std::move(hosts)),
        after_seq_(after_seq) {}

  void next(std::function<void(LogItem)> ready) override;
  void cancel() override;

  // The end of the stream with `error` once the follower asks (before any further event).
  void end_locked(Error error, Aftermath* after);
  // Serves a waiting request unless one is being served already (new items, or the end).
  void serve();
  // Delivers the waiting request's item, and the next ones' while requests come inline. The
  // caller set delivering_; a `ready` that asks again inline only stores its request for this
  // loop to serve, so a follower catching up on a long log never recurses.
  void deliver();
  void detach_locked(Aftermath* after);
  bool active_locked() const { return !cancelled_ && !finished_ && !end_error_; }

  const std::weak_ptr<LogFollowHub::Impl> hub_;
  const std::shared_ptr<JobEntry> entry_;
  const std::shared_ptr<Counters> counters_;
  const std::int64_t step_instance_id_;
  const std::vector<Host> named_;
  const std::optional<std::uint64_t> after_seq_;

  // Guarded by entry_->mu.
  std::shared_ptr<StepState> step_;
  StepLog::Cursor cursor_;
  std::function<void(LogItem)> ready_;
  bool delivering_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  std::optional<Error> end_error_;

 private:
  std::optional<LogItem> take_locked(Aftermath* after);
  void settle(Aftermath after);
};

}  // namespace

class LogFollowHub::Impl : public std::enable_shared_from_this<LogFollowHub::Impl> {
 public:
  Impl(Scheduler& scheduler, LogSource& logs, WatchHub& status, ReadBudget& budget,
       LogFollowConfig config, std::function<double()> uniform01)
      : scheduler_(scheduler),
        logs_(logs),
        status_(status),
        budget_(budget),
        config_(config),
        uniform01_(std::move(uniform01)),
        backoff_(config_.error_backoff, [this] { return random01(); }),
        counters_(std::make_shared<Counters>()) {}

  std::shared_ptr<LogFollower> follow(const Scope& scope, std::int64_t job, std::int64_t step,
                                      std::vector<Host> hosts,
                                      std::optional<std::uint64_t> after_seq);
  void shutdown(Error reason);
  Stats stats() const;
  std::size_t followers_of(const Scope& scope, std::int64_t job) const;

  // Does what a locked section left: cancels, arms retention, starts reads, serves followers.
  void settle(const std::shared_ptr<JobEntry>& entry, Aftermath after);

 private:
  std::shared_ptr<LogFollower> ended_follower(Error error);
  std::shared_ptr<JobEntry> find_or_create(const Scope& scope, std::int64_t job);
  void subscribe(const std::shared_ptr<JobEntry>& entry);
  void pull_status(const std::shared_ptr<JobEntry>& entry,
                   const std::shared_ptr<Subscription>& sub);
  void on_status(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<Subscription>& sub,
                 WatchItem item);
  void end_job_locked(JobEntry& entry, const Error& error, Aftermath* after);
  void resolve_locked(JobEntry& entry, Aftermath* after);
  // Attaches f to its step, or ends it (unknown step or host, too many hosts); false when the
  // status cannot tell yet.
  bool resolve_one_locked(JobEntry& entry, const std::shared_ptr<LogFollowerImpl>& f,
                          Aftermath* after);
  std::uint64_t new_seq_base();

  struct HostEnd {
    std::size_t host = 0;
    int status = 0;
    int exit_code = 0;
  };
  struct ReadPlan {
    std::vector<std::size_t> read;
    std::vector<HostEnd> end;
    bool empty() const { return read.empty() && end.empty(); }
  };
  ReadPlan plan_locked(const JobEntry& entry, const StepState& step) const;
  void kick(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<StepState>& step);
  void read(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<StepState>& step);
  void on_logs(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<StepState>& step,
               const ReadPlan& plan, Result<IpLogs> result);
  void arm_locked(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<StepState>& step,
                  milliseconds delay);
  void drop_step(const std::shared_ptr<JobEntry>& entry, const std::shared_ptr<StepState>& state,
                 std::uint64_t generation);
  void maybe_drop_job(const std::shared_ptr<JobEntry>& entry);
  double random01();

  Scheduler& scheduler_;
  LogSource& logs_;
  WatchHub& status_;
  ReadBudget& budget_;
  const LogFollowConfig config_;
  // Bytes every step's log holds together (config_.max_held_bytes caps it).
  std::shared_ptr<std::atomic<std::size_t>> held_ = std::make_shared<std::atomic<std::size_t>>(0);
  std::function<double()> uniform01_;
  Backoff backoff_;
  const std::shared_ptr<Counters> counters_;

  mutable std::mutex table_mu_;
  std::unordered_map<JobKey, std::shared_ptr<JobEntry>, JobKeyHash> jobs_;
  bool shut_ = false;
  Error shutdown_reason_;
  // Above every seq a dropped step state gave out: a state made again for the same step (within
  // the second its predecessor's base came from) never takes an old after_seq for its own.
  std::atomic<std::uint64_t> seq_floor_{0};

  std::mutex random_mu_;
  std::mt19937_64 rng_{std::random_device{}()};
};

// ---------------------------------------------------------------------------------------------
// Follower

void LogFollowerImpl::next(std::function<void(LogItem)> ready) {
  {
    std::lock_guard<std::mutex> lock(entry_->mu);
    if (cancelled_ || finished_) return;
    ready_ = std::move(ready);
    if (delivering_) return;
    delivering_ = true;
  }
  deliver();
}

void LogFollowerImpl::cancel() {
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(entry_->mu);
    if (cancelled_) return;
    cancelled_ = true;
    ready_ = nullptr;
    if (!finished_) detach_locked(&after);
  }
  settle(std::move(after));
}

void LogFollowerImpl::end_locked(Error error, Aftermath* after) {
  if (!active_locked()) return;
  end_error_ = std::move(error);
  after->wake.push_back(shared_from_this());
}

void LogFollowerImpl::deliver() {
  for (;;) {
    Aftermath after;
    std::function<void(LogItem)> ready;
    std::optional<LogItem> item;
    {
      std::lock_guard<std::mutex> lock(entry_->mu);
      if (ready_ && !cancelled_) item = take_locked(&after);
      if (item) {
        ready = std::move(ready_);
        ready_ = nullptr;
      } else {
        delivering_ = false;
      }
    }
    settle(std::move(after));
    if (!item) return;
    ready(std::move(*item));
  }
}

std::optional<LogItem> LogFollowerImpl::take_locked(Aftermath* after) {
  if (finished_) return std::nullopt;
  if (end_error_) {
    finished_ = true;
    detach_locked(after);
    return LogItem::end(*end_error_);
  }
  if (step_ == nullptr) return std::nullopt;
  if (auto event = step_->log.next(&cursor_)) return LogItem::of(std::move(*event));
  if (!step_->log.done(cursor_)) return std::nullopt;
  finished_ = true;
  detach_locked(after);
  return LogItem::end(std::nullopt);
}

void LogFollowerImpl::detach_locked(Aftermath* after) {
  JobEntry& job = *entry_;
  auto self = shared_from_this();
  auto remove = [&self](std::vector<std::shared_ptr<LogFollowerImpl>>* list) {
    list->erase(std::remove(list->begin(), list->end(), self), list->end());
  };
  if (step_ != nullptr) {
    remove(&step_->followers);
    if (step_->followers.empty()) after->retain.emplace_back(step_, ++step_->idle_generation);
  } else {
    remove(&job.pending);
  }
  job.followers--;
  counters_->followers--;
  if (job.followers == 0) {
    // Nobody follows the job: its status need not be polled for us until someone does again.
    if (job.status != nullptr) after->cancel_status.push_back(std::move(job.status));
    job.status = nullptr;
    after->maybe_drop_job = true;
  }
}

void LogFollowerImpl::settle(Aftermath after) {
  if (auto hub = hub_.lock()) {
    hub->settle(entry_, std::move(after));
    return;
  }
  // The hub is gone: nothing is read or retained any more, only what holds resources ends.
  for (const auto& timer : after.cancel_timers) timer->cancel();
  for (const auto& sub : after.cancel_status) sub->cancel();
  for (const auto& f : after.wake) f->serve();
}

void LogFollowerImpl::serve() {
  {
    std::lock_guard<std::mutex> lock(entry_->mu);
    if (!ready_ || delivering_ || cancelled_) return;
    delivering_ = true;
  }
  deliver();
}

// ---------------------------------------------------------------------------------------------
// Hub

double LogFollowHub::Impl::random01() {
  if (uniform01_) return uniform01_();
  std::lock_guard<std::mutex> lock(random_mu_);
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
}

std::uint64_t LogFollowHub::Impl::new_seq_base() {
  const auto seconds =
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, scheduler_.wall_ms())) / 1000;
  return std::max(seconds << 20, seq_floor_.load());
}

std::shared_ptr<LogFollower> LogFollowHub::Impl::ended_follower(Error error) {
  // A follower of no job: its own entry, outside the table, just for its lock.
  auto entry = std::make_shared<JobEntry>();
  entry->stopped = true;
  entry->followers = 1;
  counters_->followers++;
  auto f = std::make_shared<LogFollowerImpl>(weak_from_this(), entry, counters_, 0,
                                             std::vector<Host>{}, std::nullopt);
  std::lock_guard<std::mutex> lock(entry->mu);
  entry->pending.push_back(f);
  f->end_error_ = std::move(error);
  return f;
}

std::shared_ptr<JobEntry> LogFollowHub::Impl::find_or_create(const Scope& scope, std::int64_t job) {
  JobKey key = job_key(scope, job);
  std::lock_guard<std::mutex> lock(table_mu_);
  if (shut_) return nullptr;
  auto it = jobs_.find(key);
  if (it != jobs_.end()) return it->second;
  auto entry = std::make_shared<JobEntry>();
  entry->key = key;
  entry->scope = Scope{key.type, key.id};
  jobs_[key] = entry;
  return entry;
}

std::shared_ptr<LogFollower> LogFollowHub::Impl::follow(const Scope& scope, std::int64_t job,
                                                        std::int64_t step, std::vector<Host> hosts,
                                                        std::optional<std::uint64_t> after_seq) {
  if (job <= 0) {
    return ended_follower(
        Error::invalid_argument("job_instance_id: must be positive, got " + std::to_string(job)));
  }
  if (step < 0) {
    return ended_follower(Error::invalid_argument("step_instance_id: must not be negative, got " +
                                                  std::to_string(step)));
  }
  if (hosts.size() > config_.max_hosts) {
    const bool by_id =
        std::any_of(hosts.begin(), hosts.end(), [](const Host& h) { return h.host_id > 0; });
    return ended_follower(Error::invalid_argument(
        std::string(by_id ? "host_ids" : "hosts") + ": " + std::to_string(hosts.size()) +
        " hosts named, more than the " + std::to_string(config_.max_hosts) +
        " one follower may follow (follow.max_hosts)"));
  }
  for (;;) {
    std::shared_ptr<JobEntry> entry = find_or_create(scope, job);
    if (entry == nullptr) {
      std::lock_guard<std::mutex> lock(table_mu_);
      return ended_follower(shutdown_reason_);
    }
    auto f = std::make_shared<LogFollowerImpl>(weak_from_this(), entry, counters_, step, hosts,
                                               after_seq);
    Aftermath after;
    bool subscribe_now = false;
    {
      std::lock_guard<std::mutex> lock(entry->mu);
      // Dropped since found (its last step's retention ran out): look again.
      if (entry->stopped) continue;
      entry->followers++;
      counters_->followers++;
      entry->pending.push_back(f);
      if (entry->status == nullptr && !entry->subscribing && !entry->status_done) {
        entry->subscribing = true;
        subscribe_now = true;
      }
      resolve_locked(*entry, &after);
    }
    settle(entry, std::move(after));
    if (subscribe_now) subscribe(entry);
    return f;
  }
}

void LogFollowHub::Impl::subscribe(const std::shared_ptr<JobEntry>& entry) {
  std::shared_ptr<Subscription> sub = status_.subscribe(entry->scope, entry->key.job);
  bool keep;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    entry->subscribing = false;
    keep = !entry->stopped && entry->followers > 0;
    if (keep) entry->status = sub;
  }
  if (!keep) {
    sub->cancel();
    maybe_drop_job(entry);
    return;
  }
  pull_status(entry, sub);
}

void LogFollowHub::Impl::pull_status(const std::shared_ptr<JobEntry>& entry,
                                     const std::shared_ptr<Subscription>& sub) {
  std::weak_ptr<Impl> weak = weak_from_this();
  // Held weakly: the request waits inside the subscription, which the entry holds.
  std::weak_ptr<JobEntry> weak_entry = entry;
  std::weak_ptr<Subscription> weak_sub = sub;
  sub->next([weak, weak_entry, weak_sub](WatchItem item) {
    auto self = weak.lock();
    if (!self) return;
    // Handled on a fresh stack: the WatchHub delivers under its own delivery lock, and what a
    // status change sets off here reaches JOB and every follower's callback.
    self->scheduler_.post([weak, weak_entry, weak_sub, item = std::move(item)]() mutable {
      auto hub = weak.lock();
      auto job = weak_entry.lock();
      auto status = weak_sub.lock();
      if (hub && job && status) hub->on_status(job, status, std::move(item));
    });
  });
}

void LogFollowHub::Impl::on_status(const std::shared_ptr<JobEntry>& entry,
                                   const std::shared_ptr<Subscription>& sub, WatchItem item) {
  std::shared_ptr<const JobSnapshot> fresh;
  if (item.event && item.event->snapshot != nullptr) {
    fresh = item.event->snapshot;
  } else if (auto cached = status_.cached(entry->scope, entry->key.job, std::chrono::hours(24))) {
    fresh = std::make_shared<const JobSnapshot>(std::move(*cached));
  }
  Aftermath after;
  bool more = false;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    // A subscription cancelled (nobody followed) or replaced since: its items are stale.
    if (entry->stopped || entry->status != sub) return;
    if (fresh != nullptr) entry->snapshot = fresh;
    if (item.is_end()) {
      entry->status = nullptr;
      if (item.error) {
        end_job_locked(*entry, *item.error, &after);
      } else {
        entry->status_done = true;
      }
    } else {
      more = true;
    }
    if (!entry->stopped) {
      resolve_locked(*entry, &after);
      for (const auto& [id, step] : entry->steps) after.kick.push_back(step);
    }
  }
  settle(entry, std::move(after));
  if (more) pull_status(entry, sub);
}

// The job's status stream ended with an error (the job is gone, the hub gave up or shuts down):
// every follower of the job ends with it, and the entry leaves the table.
void LogFollowHub::Impl::end_job_locked(JobEntry& entry, const Error& error, Aftermath* after) {
  entry.stopped = true;
  for (const auto& f : entry.pending) f->end_locked(error, after);
  for (const auto& [id, step] : entry.steps) {
    step->dropped = true;
    if (step->timer) after->cancel_timers.push_back(std::move(step->timer));
    step->timer = nullptr;
    for (const auto& f : step->followers) f->end_locked(error, after);
    // The ended followers hold what they still need (their step); nothing points back at them.
    step->followers.clear();
  }
  entry.steps.clear();
  entry.pending.clear();
  if (entry.status != nullptr) after->cancel_status.push_back(std::move(entry.status));
  entry.status = nullptr;
  after->maybe_drop_job = true;
}

void LogFollowHub::Impl::resolve_locked(JobEntry& entry, Aftermath* after) {
  if (entry.snapshot == nullptr || entry.pending.empty()) return;
  auto pending = entry.pending;
  for (const auto& f : pending) {
    // One that ends instead stays pending until its end is delivered (or it is cancelled).
    if (f->active_locked() && resolve_one_locked(entry, f, after) && f->step_ != nullptr) {
      entry.pending.erase(std::remove(entry.pending.begin(), entry.pending.end(), f),
                          entry.pending.end());
    }
  }
}

bool LogFollowHub::Impl::resolve_one_locked(JobEntry& entry,
                                            const std::shared_ptr<LogFollowerImpl>& f,
                                            Aftermath* after) {
  const JobSnapshot& job = *entry.snapshot;
  const std::int64_t job_id = entry.key.job;
  const StepSnapshot* step = nullptr;
  if (f->step_instance_id_ == 0) {
    if (job.steps.empty()) {
      if (!job.finished) return false;
      f->end_locked(not_found("step_instance_id: job " + std::to_string(job_id) + " has no steps"),
                    after);
      return true;
    }
    step = &job.steps.front();
  } else {
    step = find_step(job, f->step_instance_id_);
    if (step == nullptr) {
      f->end_locked(not_found("step_instance_id: step " + std::to_string(f->step_instance_id_) +
                              " is not a step of job " + std::to_string(job_id)),
                    after);
      return true;
    }
  }
  // JOB lists a step's hosts with the step; a step without any yet may still get them.
  if (step->hosts.empty() && !job.finished) return false;

  std::vector<Host> hosts;
  if (f->named_.empty()) {
    if (step->hosts.size() > config_.max_hosts) {
      f->end_locked(Error::invalid_argument(
                        "host_ids: step " + std::to_string(step->step_instance_id) + " of job " +
                        std::to_string(job_id) + " has " + std::to_string(step->hosts.size()) +
                        " hosts, more than the " + std::to_string(config_.max_hosts) +
                        " one follower may follow (follow.max_hosts); name the hosts to follow"),
                    after);
      return true;
    }
    for (const auto& result : step->hosts) hosts.push_back(result.host);
  } else {
    std::vector<Host> unknown;
    for (const Host& named : f->named_) {
      const HostResult* result = find_result(*step, named);
      if (result == nullptr) {
        unknown.push_back(named);
      } else {
        hosts.push_back(result->host);
      }
    }
    if (!unknown.empty()) {
      f->end_locked(not_found(not_hosts_message(unknown, step->step_instance_id, job_id)), after);
      return true;
    }
  }

  auto& state = entry.steps[step->step_instance_id];
  const bool created = state == nullptr;
  if (created) {
    state = std::make_shared<StepState>(
        step->step_instance_id, step->type == kStepFile, new_seq_base(),
        StepLogLimits{config_.max_host_log_bytes, config_.max_event_bytes, config_.max_held_bytes,
                      held_});
  }
  std::vector<std::size_t> indices;
  for (const Host& host : hosts) {
    std::size_t index = state->log.add_host(host);
    if (std::find(indices.begin(), indices.end(), index) == indices.end()) {
      indices.push_back(index);
    }
  }
  // JOB reads at most max_step_hosts hosts in one batch: the followed hosts of a step stay
  // within it, so one read still serves every follower.
  std::vector<std::size_t> followed = indices;
  for (const auto& other : state->followers) {
    if (!other->active_locked()) continue;
    for (std::size_t index : other->cursor_.hosts) {
      if (std::find(followed.begin(), followed.end(), index) == followed.end()) {
        followed.push_back(index);
      }
    }
  }
  if (followed.size() > config_.max_step_hosts) {
    Error e;
    e.kind = ErrorKind::kResourceExhausted;
    e.message = "host_ids: following these hosts would take the hosts followed on step " +
                std::to_string(step->step_instance_id) + " of job " + std::to_string(job_id) +
                " to " + std::to_string(followed.size()) + ", more than the " +
                std::to_string(config_.max_step_hosts) +
                " jobgw reads together (follow.max_step_hosts); follow fewer hosts";
    f->end_locked(std::move(e), after);
    if (created) after->retain.emplace_back(state, ++state->idle_generation);
    return true;
  }
  f->step_ = state;
  f->cursor_ = state->log.cursor(std::move(indices), f->after_seq_);
  state->followers.push_back(f);
  ++state->idle_generation;
  after->kick.push_back(state);
  after->wake.push_back(f);
  return true;
}

LogFollowHub::Impl::ReadPlan LogFollowHub::Impl::plan_locked(const JobEntry& entry,
                                                             const StepState& step) const {
  ReadPlan plan;
  if (entry.snapshot == nullptr) return plan;
  const JobSnapshot& job = *entry.snapshot;
  const StepSnapshot* status = find_step(job, step.log.step_instance_id());
  if (status == nullptr) return plan;
  std::vector<bool> followed(step.log.host_count(), false);
  for (const auto& f : step.followers) {
    if (!f->active_locked()) continue;
    for (std::size_t index : f->cursor_.hosts) followed[index] = true;
  }
  for (std::size_t i = 0; i < followed.size(); ++i) {
    if (!followed[i] || step.log.ended(i)) continue;
    const HostResult* result = find_result(*status, step.log.host(i));
    const int host_status = result != nullptr ? result->status : 0;
    if (result == nullptr && !job.finished) continue;
    // Past the cap a host's log is not read again: only its end is left to tell. Nor is the
    // log of a host without a host id or IPv4 address: JOB could not be asked for it.
    const bool need_bytes = !step.log.capped(i) && nameable(step.log.host(i));
    if (host_final(job, host_status)) {
      plan.end.push_back(HostEnd{i, host_status, result != nullptr ? result->exit_code : 0});
      if (need_bytes) plan.read.push_back(i);
    } else if (host_status == host_status::kRunning && need_bytes) {
      plan.read.push_back(i);
    }
  }
  return plan;
}

void LogFollowHub::Impl::kick(const std::shared_ptr<JobEntry>& entry,
                              const std::shared_ptr<StepState>& step) {
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->stopped || step->dropped || step->reading || step->timer != nullptr) return;
    if (plan_locked(*entry, *step).empty()) return;
    const auto now = scheduler_.now();
    if (step->last_read_at && now - *step->last_read_at < config_.interval) {
      arm_locked(
          entry, step,
          std::chrono::duration_cast<milliseconds>(*step->last_read_at + config_.interval - now));
      return;
    }
    step->reading = true;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  budget_.acquire([weak, entry, step] {
    if (auto self = weak.lock()) {
      self->read(entry, step);
    } else {
      std::lock_guard<std::mutex> lock(entry->mu);
      step->reading = false;
    }
  });
}

void LogFollowHub::Impl::arm_locked(const std::shared_ptr<JobEntry>& entry,
                                    const std::shared_ptr<StepState>& step, milliseconds delay) {
  std::weak_ptr<Impl> weak = weak_from_this();
  std::weak_ptr<JobEntry> weak_entry = entry;
  std::weak_ptr<StepState> weak_step = step;
  const std::uint64_t id = ++step->timer_id;
  step->timer = scheduler_.after(delay, [weak, weak_entry, weak_step, id] {
    auto self = weak.lock();
    auto job = weak_entry.lock();
    auto state = weak_step.lock();
    if (!self || !job || !state) return;
    {
      std::lock_guard<std::mutex> lock(job->mu);
      if (state->timer_id != id) return;
      state->timer = nullptr;
    }
    self->kick(job, state);
  });
}

void LogFollowHub::Impl::read(const std::shared_ptr<JobEntry>& entry,
                              const std::shared_ptr<StepState>& step) {
  IpLogsRequest request;
  ReadPlan plan;
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    if (entry->stopped || step->dropped) {
      step->reading = false;
      return;
    }
    plan = plan_locked(*entry, *step);
    if (plan.read.empty()) {
      // No host left to end needs bytes (past the cap, or not nameable to JOB), or nobody
      // follows any more: no read is needed.
      step->reading = false;
      const std::int64_t now_ms = scheduler_.wall_ms();
      for (const HostEnd& end : plan.end) {
        step->log.end_host(end.host, end.status, end.exit_code, now_ms);
      }
      if (!plan.end.empty()) after.wake = step->followers;
    } else {
      step->last_read_at = scheduler_.now();
      request.scope = entry->scope;
      request.job_instance_id = entry->key.job;
      request.step_instance_id = step->log.step_instance_id();
      // JOB ignores ip_list whenever host_id_list is present: hosts go by id only when every
      // one has an id.
      const bool all_ids = std::all_of(plan.read.begin(), plan.read.end(), [&](std::size_t i) {
        return step->log.host(i).host_id > 0;
      });
      for (std::size_t i : plan.read) {
        const Host& host = step->log.host(i);
        if (all_ids) {
          request.host_ids.push_back(host.host_id);
        } else if (ip_family(host.ip) == IpFamily::kV4) {
          Host by_address;
          by_address.cloud_id = host.cloud_id;
          by_address.ip = host.ip;
          request.hosts.push_back(std::move(by_address));
        } else if (host.host_id > 0) {
          request.host_ids.push_back(host.host_id);
        }
      }
    }
  }
  if (plan.read.empty()) {
    settle(entry, std::move(after));
    return;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  logs_.read_logs(request, [weak, entry, step, plan](Result<IpLogs> result) {
    if (auto self = weak.lock()) {
      self->on_logs(entry, step, plan, std::move(result));
    } else {
      std::lock_guard<std::mutex> lock(entry->mu);
      step->reading = false;
    }
  });
}

void LogFollowHub::Impl::on_logs(const std::shared_ptr<JobEntry>& entry,
                                 const std::shared_ptr<StepState>& step, const ReadPlan& plan,
                                 Result<IpLogs> result) {
  counters_->reads++;
  if (!result.ok()) counters_->read_errors++;
  Aftermath after;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    step->reading = false;
    if (entry->stopped || step->dropped) return;
    const auto now = scheduler_.now();
    std::optional<Error> end;
    if (result.ok()) {
      step->consecutive_errors = 0;
      step->failing_since.reset();
      const std::int64_t now_ms = scheduler_.wall_ms();
      StepLog& log = step->log;
      for (const ScriptLog& host_log : result->script_logs) {
        if (auto index = log.find_host(host_log.host)) {
          log.add_text(*index, host_log.content, now_ms);
        }
      }
      for (const FileHostLog& host_log : result->file_logs) {
        if (auto index = log.find_host(host_log.host)) {
          log.add_files(*index, host_log.entries, now_ms);
        }
      }
      // Final in the status taken before the read: JOB's log of the host was complete then.
      for (const HostEnd& host_end : plan.end) {
        log.end_host(host_end.host, host_end.status, host_end.exit_code, now_ms);
      }
      arm_locked(entry, step, config_.interval);
    } else {
      const Error& error = result.error();
      if (!step->failing_since) step->failing_since = now;
      const auto failing = now - *step->failing_since;
      if (is_gone(error)) {
        end = error;
      } else if (failing >= config_.give_up_after) {
        Error give_up;
        give_up.kind = ErrorKind::kTimeout;
        give_up.message =
            "gave up on the logs of step " + std::to_string(step->log.step_instance_id()) +
            " of job " + std::to_string(entry->key.job) + " after " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(failing).count()) +
            " s without a successful log read; last error: " + error.message;
        give_up.job_code = error.job_code;
        give_up.request_id = error.request_id;
        end = std::move(give_up);
      } else {
        step->consecutive_errors++;
        const milliseconds delay = backoff_.delay(step->consecutive_errors);
        spdlog::info(
            "log_read_failed scope={}:{} job_instance_id={} step_instance_id={} attempt={} "
            "retry_in_ms={} {}",
            entry->key.type, entry->key.id, entry->key.job, step->log.step_instance_id(),
            step->consecutive_errors, delay.count(), error.describe());
        arm_locked(entry, step, delay);
      }
      if (end) {
        spdlog::warn("log_follow_end scope={}:{} job_instance_id={} step_instance_id={} {}",
                     entry->key.type, entry->key.id, entry->key.job, step->log.step_instance_id(),
                     end->describe());
        for (const auto& f : step->followers) f->end_locked(*end, &after);
      }
    }
    after.wake.insert(after.wake.end(), step->followers.begin(), step->followers.end());
  }
  settle(entry, std::move(after));
}

void LogFollowHub::Impl::settle(const std::shared_ptr<JobEntry>& entry, Aftermath after) {
  for (const auto& timer : after.cancel_timers) timer->cancel();
  for (const auto& sub : after.cancel_status) sub->cancel();
  bool shut;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    shut = shut_;
  }
  if (!shut) {
    std::weak_ptr<Impl> weak = weak_from_this();
    std::weak_ptr<JobEntry> weak_entry = entry;
    for (const auto& [step, generation] : after.retain) {
      std::weak_ptr<StepState> weak_step = step;
      scheduler_.after(config_.retention, [weak, weak_entry, weak_step, generation = generation] {
        auto self = weak.lock();
        auto job = weak_entry.lock();
        auto state = weak_step.lock();
        if (self && job && state) self->drop_step(job, state, generation);
      });
    }
  }
  for (const auto& step : after.kick) kick(entry, step);
  for (const auto& f : after.wake) f->serve();
  if (after.maybe_drop_job) maybe_drop_job(entry);
}

void LogFollowHub::Impl::drop_step(const std::shared_ptr<JobEntry>& entry,
                                   const std::shared_ptr<StepState>& state,
                                   std::uint64_t generation) {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    auto it = entry->steps.find(state->log.step_instance_id());
    if (it == entry->steps.end() || it->second != state) return;
    StepState& step = *it->second;
    if (step.idle_generation != generation || !step.followers.empty()) return;
    step.dropped = true;
    timer = std::move(step.timer);
    step.timer = nullptr;
    std::uint64_t floor = seq_floor_.load();
    while (step.log.last_seq() > floor &&
           !seq_floor_.compare_exchange_weak(floor, step.log.last_seq())) {
    }
    entry->steps.erase(it);
  }
  if (timer) timer->cancel();
  maybe_drop_job(entry);
}

void LogFollowHub::Impl::maybe_drop_job(const std::shared_ptr<JobEntry>& entry) {
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard<std::mutex> table(table_mu_);
    std::lock_guard<std::mutex> lock(entry->mu);
    const bool idle = entry->followers == 0 && entry->steps.empty() && !entry->subscribing;
    if (!idle && !entry->stopped) return;
    entry->stopped = true;
    sub = std::move(entry->status);
    entry->status = nullptr;
    auto it = jobs_.find(entry->key);
    if (it != jobs_.end() && it->second == entry) jobs_.erase(it);
  }
  if (sub) sub->cancel();
}

void LogFollowHub::Impl::shutdown(Error reason) {
  std::vector<std::shared_ptr<JobEntry>> entries;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    if (shut_) return;
    shut_ = true;
    shutdown_reason_ = reason;
    for (auto& [key, entry] : jobs_) entries.push_back(entry);
    jobs_.clear();
  }
  for (const auto& entry : entries) {
    Aftermath after;
    {
      std::lock_guard<std::mutex> lock(entry->mu);
      end_job_locked(*entry, reason, &after);
    }
    after.maybe_drop_job = false;
    settle(entry, std::move(after));
  }
}

LogFollowHub::Stats LogFollowHub::Impl::stats() const {
  Stats s;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    for (const auto& [key, entry] : jobs_) {
      std::lock_guard<std::mutex> job_lock(entry->mu);
      s.steps += entry->steps.size();
    }
  }
  s.followers = counters_->followers.load();
  s.reads = counters_->reads.load();
  s.read_errors = counters_->read_errors.load();
  s.held_bytes = held_->load();
  return s;
}

std::size_t LogFollowHub::Impl::followers_of(const Scope& scope, std::int64_t job) const {
  std::shared_ptr<JobEntry> entry;
  {
    std::lock_guard<std::mutex> lock(table_mu_);
    auto it = jobs_.find(job_key(scope, job));
    if (it == jobs_.end()) return 0;
    entry = it->second;
  }
  std::lock_guard<std::mutex> lock(entry->mu);
  return entry->followers;
}

// ---------------------------------------------------------------------------------------------

LogFollowHub::LogFollowHub(Scheduler& scheduler, LogSource& logs, WatchHub& status,
                           ReadBudget& budget, LogFollowConfig config,
                           std::function<double()> uniform01)
    : impl_(std::make_shared<Impl>(scheduler, logs, status, budget, std::move(config),
                                   std::move(uniform01))) {}

LogFollowHub::~LogFollowHub() {
  Error reason;
  reason.kind = ErrorKind::kCancelled;
  reason.message = "jobgw is shutting down";
  impl_->shutdown(std::move(reason));
}

std::shared_ptr<LogFollower> LogFollowHub::follow(const Scope& scope, std::int64_t job_instance_id,
                                                  std::int64_t step_instance_id,
                                                  std::vector<Host> hosts,
                                                  std::optional<std::uint64_t> after_seq) {
  return impl_->follow(scope, job_instance_id, step_instance_id, std::move(hosts), after_seq);
}

void LogFollowHub::shutdown(Error reason) { impl_->shutdown(std::move(reason)); }

LogFollowHub::Stats LogFollowHub::stats() const { return impl_->stats(); }

std::size_t LogFollowHub::followers_of(const Scope& scope, std::int64_t job_instance_id) const {
  return impl_->followers_of(scope, job_instance_id);
}

}  // namespace jobgw::core
