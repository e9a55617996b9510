#include "core/watch/snapshot_diff.h"

#include <string>
#include <unordered_map>

namespace jobgw::core {
namespace {

std::string host_key(const Host& h) {
  if (h.host_id != 0) return "#" + std::to_string(h.host_id);
  return std::to_string(h.cloud_id) + ":" + h.ip;
}

// JOB's step status "waiting for a user" (a manual confirmation waiting).
constexpr int kStepWaitingForUser = 7;

bool host_changed(const HostResult& a, const HostResult& b) {
  return a.status != b.status || a.exit_code != b.exit_code || a.error_code != b.error_code ||
         a.tag != b.tag;
}

}  // namespace

std::vector<WatchEvent> diff_snapshots(const JobSnapshot& before, const JobSnapshot& after) {
  std::vector<WatchEvent> events;
  std::unordered_map<std::int64_t, const StepSnapshot*> old_steps;
  for (const auto& s : before.steps) old_steps[s.step_instance_id] = &s;

  for (const auto& step : after.steps) {
    auto it = old_steps.find(step.step_instance_id);
    const StepSnapshot* old = it == old_steps.end() ? nullptr : it->second;

    std::unordered_map<std::string, const HostResult*> old_hosts;
    if (old != nullptr) {
      old_hosts.reserve(old->hosts.size());
      for (const auto& h : old->hosts) old_hosts[host_key(h.host)] = &h;
    }
    for (const auto& h : step.hosts) {
      auto found = old_hosts.find(host_key(h.host));
      const HostResult* prev = found == old_hosts.end() ? nullptr : found->second;
      if (prev != nullptr && !host_changed(*prev, h)) continue;
      WatchEvent e;
      e.kind = WatchEventKind::kHostChanged;
      e.step_instance_id = step.step_instance_id;
      e.old_status = prev == nullptr ? 0 : prev->status;
      e.new_status = h.status;
      e.host = h;
      events.push_back(std::move(e));
    }
    int old_status = old == nullptr ? 0 : old->status;
    if (old == nullptr || old_status != step.status) {
      WatchEvent e;
      e.kind = WatchEventKind::kStepChanged;
      e.step_instance_id = step.step_instance_id;
      e.old_status = old_status;
      e.new_status = step.status;
      events.push_back(e);
      if (step.status == kStepWaitingForUser) {
        e.kind = WatchEventKind::kStepWaitingUser;
        events.push_back(std::move(e));
      }
    }
  }
  if (before.status != after.status) {
    WatchEvent e;
    e.kind = WatchEventKind::kJobChanged;
    e.old_status = before.status;
    e.new_status = after.status;
    events.push_back(std::move(e));
  }
  return events;
}

const char* to_string(WatchEventKind kind) {
  switch (kind) {
    case WatchEventKind::kSnapshot:
      return "snapshot";
    case WatchEventKind::kJobChanged:
      return "job_changed";
    case WatchEventKind::kStepChanged:
      return "step_changed";
    case WatchEventKind::kHostChanged:
      return "host_changed";
    case WatchEventKind::kFinished:
      return "finished";
    case WatchEventKind::kJobUnreachable:
      return "job_unreachable";
    case WatchEventKind::kJobReachable:
      return "job_reachable";
    case WatchEventKind::kStepWaitingUser:
      return "step_waiting_user";
  }
  return "unknown";
}

}  // namespace jobgw::core
