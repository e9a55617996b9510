#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/base/error.h"
#include "core/job/job_snapshot.h"

namespace jobgw::core {

enum class WatchEventKind {
  kSnapshot = 1,
  kJobChanged = 2,
  kStepChanged = 3,
  kHostChanged = 4,
  kFinished = 5,
  // Notices, not changes: they carry the seq of the latest change and never enter history.
  kJobUnreachable = 6,
  kJobReachable = 7,
  // A step now waits for a user (a plan's manual confirmation, status 7): sent right after the
  // kStepChanged that took it there, with its own seq, so a dashboard can ask someone to act.
  kStepWaitingUser = 8
};

const char* to_string(WatchEventKind kind);

// What a subscriber needs (WatchStatusRequest.detail): every host change, or the job's progress
// and end only (no kHostChanged events, and the job may be read on the slow safety schedule).
enum class WatchDetail { kHosts, kProgress };

// One item of a job's watch stream. Every change has a per-job sequence number; a SNAPSHOT
// carries the seq of the last change it includes.
struct WatchEvent {
  std::uint64_t seq = 0;
  WatchEventKind kind = WatchEventKind::kSnapshot;
  // When jobgw saw the change (Unix ms).
  std::int64_t observed_at_ms = 0;
  // Full state: set on SNAPSHOT and FINISHED, null on change events.
  std::shared_ptr<const JobSnapshot> snapshot;
  // On the first event of a stream opened with after_seq: true when the events after after_seq
  // are replayed from history, false when history no longer had them (a fresh SNAPSHOT).
  bool resumed = false;
  // JOB_CHANGED: job status; STEP_CHANGED / HOST_CHANGED: that step's or host's status.
  int old_status = 0;
  int new_status = 0;
  // STEP_CHANGED and HOST_CHANGED.
  std::int64_t step_instance_id = 0;
  // HOST_CHANGED: the host's new result (status, exit code, tag, times).
  HostResult host;
  // JOB_UNREACHABLE / JOB_REACHABLE (Unix ms; reachable_since_ms 0 on JOB_UNREACHABLE).
  std::int64_t unreachable_since_ms = 0;
  std::int64_t reachable_since_ms = 0;
  std::string last_error;

  bool is_notice() const {
    return kind == WatchEventKind::kJobUnreachable || kind == WatchEventKind::kJobReachable;
  }
};

// What a subscriber pulls: an event, or the end of its stream. End with no error means the
// stream completed normally (after FINISHED).
struct WatchItem {
  std::optional<WatchEvent> event;
  std::optional<Error> error;
  bool is_end() const { return !event.has_value(); }

  static WatchItem of(WatchEvent event) {
    WatchItem item;
    item.event = std::move(event);
    return item;
  }
  static WatchItem end(std::optional<Error> error) {
    WatchItem item;
    item.error = std::move(error);
    return item;
  }
};

}  // namespace jobgw::core
