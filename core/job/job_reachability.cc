#include "core/job/job_reachability.h"

#include <spdlog/spdlog.h>

namespace jobgw::core {
namespace {

std::string failure_text(const AttemptRecord& record) {
  if (record.http_status >= 500) return "HTTP " + std::to_string(record.http_status);
  if (!record.transport_cause.empty()) return record.transport_cause;
  if (record.error) return to_string(*record.error);
  return "no answer";
}

}  // namespace

std::shared_ptr<JobReachability> JobReachability::create(Scheduler& scheduler,
                                                         JobReachabilityConfig config,
                                                         Probe probe) {
  return std::shared_ptr<JobReachability>(new JobReachability(scheduler, config, std::move(probe)));
}

JobReachability::JobReachability(Scheduler& scheduler, JobReachabilityConfig config, Probe probe)
    : scheduler_(scheduler), config_(config), probe_(std::move(probe)) {}

std::optional<bool> JobReachability::answered(const AttemptRecord& record) {
  if (record.error && *record.error == ErrorKind::kCancelled) return std::nullopt;
  if (record.http_status > 0 && record.http_status < 500) return true;
  return false;
}

void JobReachability::add_listener(Listener listener) {
  std::lock_guard<std::mutex> lock(mu_);
  listeners_.push_back(std::move(listener));
}

void JobReachability::start() {
  send_probe();
  schedule();
}

void JobReachability::send_probe() {
  if (!probe_) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (probing_ || stopped_) return;
    probing_ = true;
  }
  probe_([weak = weak_from_this()] {
    if (auto self = weak.lock()) {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->probing_ = false;
    }
  });
}

void JobReachability::stop() {
  std::shared_ptr<Timer> timer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_ = true;
    timer = std::move(timer_);
  }
  if (timer) timer->cancel();
}

void JobReachability::schedule() {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopped_) return;
  timer_ = scheduler_.after(config_.probe_interval_failing, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->tick();
  });
}

void JobReachability::tick() {
  bool probe = false;
  std::optional<Reachability> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    const auto now = scheduler_.now();
    changed = evaluate_locked(now);
    const bool failing = failing_since_.has_value() || !state_.up;
    const auto quiet_for = failing ? config_.probe_interval_failing : config_.probe_interval;
    probe = !last_attempt_ || now - *last_attempt_ >= quiet_for;
  }
  announce(changed);
  if (probe) send_probe();
  schedule();
}

void JobReachability::on_attempt(const AttemptRecord& record) {
  const std::optional<bool> ok = answered(record);
  if (!ok) return;
  std::optional<Reachability> changed;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    const auto now = scheduler_.now();
    last_attempt_ = now;
    if (*ok) {
      failing_since_.reset();
      if (!state_.up || !state_.known) {
        state_.known = true;
        state_.up = true;
        state_.reachable_since_ms = scheduler_.wall_ms();
        changed = state_;
      }
    } else {
      state_.last_error = failure_text(record);
      if (!failing_since_) {
        failing_since_ = now;
        if (state_.up || !state_.known) state_.unreachable_since_ms = scheduler_.wall_ms();
      }
      changed = evaluate_locked(now);
    }
  }
  announce(changed);
}

std::optional<Reachability> JobReachability::evaluate_locked(Scheduler::Clock::time_point now) {
  if (!failing_since_ || now - *failing_since_ < config_.unreachable_after) return std::nullopt;
  if (state_.known && !state_.up) return std::nullopt;
  state_.known = true;
  state_.up = false;
  return state_;
}

void JobReachability::announce(const std::optional<Reachability>& changed) {
  if (!changed) return;
  std::lock_guard<std::mutex> order(announce_mu_);
  std::vector<Listener> listeners;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    // A later change may have overtaken this one on another thread: announce what holds now.
    if (state_.up != changed->up) return;
    listeners = listeners_;
  }
  if (changed->up) {
    spdlog::info("event=job_reachable unreachable_since_ms={}", changed->unreachable_since_ms);
  } else {
    spdlog::warn("event=job_unreachable since_ms={} last_error=\"{}\"",
                 changed->unreachable_since_ms, changed->last_error);
  }
  for (const auto& listener : listeners) listener(*changed);
}

Reachability JobReachability::state() const {
  std::lock_guard<std::mutex> lock(mu_);
  return state_;
}

}  // namespace jobgw::core
