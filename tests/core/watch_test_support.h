#pragma once

#include <map>
#include <memory>
#include <vector>

#include "core/watch/watch_hub.h"
#include "tests/support/manual_scheduler.h"

namespace jobgw::core::testing {

// A StatusSource the test scripts: each job has a current state (or an error) that reads return
// at once; every read is recorded with its virtual time.
class ScriptedSource : public StatusSource {
 public:
  explicit ScriptedSource(Scheduler& scheduler) : scheduler_(scheduler) {}

  void read_status(const Scope& scope, std::int64_t job,
                   std::function<void(Result<JobSnapshot>)> done) override {
    reads_[job].push_back(scheduler_.now());
    if (hold_) {
      // The answer is what JOB had when asked, delivered later.
      held_.push_back([done = std::move(done), result = answer(job)] { done(result); });
      return;
    }
    done(answer(job));
  }

  void set(std::int64_t job, JobSnapshot snapshot) {
    states_[job] = std::move(snapshot);
    errors_.erase(job);
  }
  void fail(std::int64_t job, Error error) { errors_[job] = std::move(error); }
  void recover(std::int64_t job) { errors_.erase(job); }
  // Holds answers until release(): models a read in flight.
  void hold(bool on) { hold_ = on; }
  void release() {
    auto held = std::move(held_);
    held_.clear();
    for (auto& fn : held) fn();
  }

  std::size_t reads(std::int64_t job) const {
    auto it = reads_.find(job);
    return it == reads_.end() ? 0 : it->second.size();
  }
  std::size_t total_reads() const {
    std::size_t n = 0;
    for (const auto& [job, times] : reads_) n += times.size();
    return n;
  }
  const std::vector<Scheduler::Clock::time_point>& read_times(std::int64_t job) {
    return reads_[job];
  }

 private:
  Result<JobSnapshot> answer(std::int64_t job) {
    auto e = errors_.find(job);
    if (e != errors_.end()) return e->second;
    auto s = states_.find(job);
    if (s == states_.end()) {
      Error err;
      err.kind = ErrorKind::kJob;
      err.job_code = 1244006;
      err.message = "job instance does not exist";
      return err;
    }
    return s->second;
  }

  Scheduler& scheduler_;
  std::map<std::int64_t, JobSnapshot> states_;
  std::map<std::int64_t, Error> errors_;
  std::map<std::int64_t, std::vector<Scheduler::Clock::time_point>> reads_;
  bool hold_ = false;
  std::vector<std::function<void()>> held_;
};

// A consumer that always has a request outstanding (a fast subscriber), or pulls on demand.
class Collector {
 public:
  explicit Collector(std::shared_ptr<Subscription> sub, bool eager = true)
      : sub_(std::move(sub)), state_(std::make_shared<State>()) {
    if (eager) pump();
  }
  // Keeps one request outstanding until the end item.
  void pump() { request(sub_, state_, /*again=*/true); }
  // Takes exactly one queued item if there is one.
  void pull_one() { request(sub_, state_, /*again=*/false); }

  const std::vector<WatchItem>& items() const { return state_->items; }
  std::vector<WatchEvent> events() const {
    std::vector<WatchEvent> out;
    for (const auto& i : state_->items) {
      if (i.event) out.push_back(*i.event);
    }
    return out;
  }
  bool ended() const { return !state_->items.empty() && state_->items.back().is_end(); }
  const std::optional<Error>& end_error() const { return state_->items.back().error; }
  Subscription& subscription() { return *sub_; }

 private:
  struct State {
    std::vector<WatchItem> items;
  };
  static void request(std::shared_ptr<Subscription> sub, std::shared_ptr<State> state, bool again) {
    sub->next([sub, state, again](WatchItem item) {
      bool end = item.is_end();
      state->items.push_back(std::move(item));
      if (again && !end) request(sub, state, again);
    });
  }
  std::shared_ptr<Subscription> sub_;
  std::shared_ptr<State> state_;
};

// The kinds of the events a collector got, in order.
inline std::vector<WatchEventKind> event_kinds(const Collector& c) {
  std::vector<WatchEventKind> out;
  for (const auto& e : c.events()) out.push_back(e.kind);
  return out;
}

inline JobSnapshot job_state(int job_status, std::vector<int> host_statuses, bool finished = false,
                             int step_status = -1) {
  JobSnapshot s;
  s.job_instance_id = 100;
  s.name = "job";
  s.status = job_status;
  s.finished = finished;
  StepSnapshot step;
  step.step_instance_id = 75;
  step.type = kStepScript;
  step.status = step_status >= 0 ? step_status : job_status;
  for (std::size_t i = 0; i < host_statuses.size(); ++i) {
    HostResult h;
    h.host.host_id = 101 + static_cast<std::int64_t>(i);
    h.host.ip = "192.0.2." + std::to_string(i + 1);
    h.status = host_statuses[i];
    step.hosts.push_back(h);
  }
  s.steps.push_back(step);
  return s;
}

}  // namespace jobgw::core::testing
