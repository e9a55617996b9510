#include "client/job_state.h"

#include "api/status_names.h"

namespace jobgw::client {

std::string host_address(const v1::Host& host) {
  if (host.ip().empty()) return "#" + std::to_string(host.host_id());
  return std::to_string(host.cloud_id()) + ":" + host.ip();
}

bool same_host(const v1::Host& a, const v1::Host& b) {
  if (a.host_id() != 0 && b.host_id() != 0) return a.host_id() == b.host_id();
  return a.cloud_id() == b.cloud_id() && a.ip() == b.ip();
}

Outcome host_outcome(int status) {
  switch (status) {
    case v1::HOST_STATUS_WAITING:
      return Outcome::kWaiting;
    case v1::HOST_STATUS_RUNNING:
      return Outcome::kRunning;
    case v1::HOST_STATUS_SUCCESS:
    case v1::HOST_STATUS_LAST_SUCCESS:
      return Outcome::kSuccess;
    default:
      return Outcome::kFailed;
  }
}

void HostCounts::add(int status) {
  ++total;
  if (api::host_status_final(status)) ++done;
  ++by_status[api::host_status_name(status)];
  switch (host_outcome(status)) {
    case Outcome::kFailed:
      ++failed;
      break;
    case Outcome::kRunning:
      ++running;
      break;
    case Outcome::kWaiting:
      ++waiting;
      break;
    case Outcome::kSuccess:
      ++success;
      break;
  }
}

bool is_notice(const v1::StatusEvent& event) {
  return event.kind() == v1::EVENT_KIND_JOB_UNREACHABLE ||
         event.kind() == v1::EVENT_KIND_JOB_REACHABLE;
}

void JobState::replace(const v1::JobSnapshot& snapshot) {
  snapshot_ = snapshot;
  has_snapshot_ = true;
  finished_ = snapshot.finished();
}

v1::StepSnapshot* JobState::find_step(std::int64_t id) {
  for (auto& step : *snapshot_.mutable_steps()) {
    if (step.step_instance_id() == id) return &step;
  }
  auto* step = snapshot_.add_steps();
  step->set_step_instance_id(id);
  return step;
}

void JobState::apply(const v1::StatusEvent& event) {
  if (is_notice(event)) return;
  if (event.seq() > last_seq_) last_seq_ = event.seq();
  switch (event.kind()) {
    case v1::EVENT_KIND_SNAPSHOT:
      replace(event.snapshot());
      return;
    case v1::EVENT_KIND_FINISHED:
      replace(event.snapshot());
      finished_ = true;
      return;
    default:
      break;
  }
  if (event.has_snapshot()) {
    replace(event.snapshot());
    return;
  }
  if (event.has_job()) {
    snapshot_.set_status(event.job().new_status());
    snapshot_.set_finished(api::job_status_terminal(event.job().new_status()));
  } else if (event.has_step()) {
    find_step(event.step().step_instance_id())->set_status(event.step().new_status());
  } else if (event.has_host()) {
    const auto& change = event.host();
    auto* step = find_step(change.step_instance_id());
    v1::HostResult* result = nullptr;
    for (auto& h : *step->mutable_hosts()) {
      if (same_host(h.host(), change.host())) result = &h;
    }
    if (result == nullptr) {
      result = step->add_hosts();
      *result->mutable_host() = change.host();
    }
    result->set_status(change.new_status());
    result->set_exit_code(change.exit_code());
    result->set_error_code(change.error_code());
    result->set_tag(change.tag());
    if (change.new_status() != v1::HOST_STATUS_WAITING && result->start_time_ms() == 0) {
      result->set_start_time_ms(event.observed_at_ms());
    }
    if (api::host_status_final(change.new_status()) && result->end_time_ms() == 0) {
      result->set_end_time_ms(event.observed_at_ms());
    }
  }
}

HostCounts JobState::counts() const {
  HostCounts c;
  for (const auto& step : snapshot_.steps()) {
    for (const auto& h : step.hosts()) c.add(h.status());
  }
  return c;
}

}  // namespace jobgw::client
