#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/base/error.h"
#include "core/base/targets.h"
#include "core/job/ip_logs.h"

namespace jobgw::core {

// One event of a log follower's stream, about one host of the followed step.
struct LogEvent {
  enum class Kind { kText = 1, kFile = 2, kHostEnd = 3 };

  // Per-step sequence number: growing within a stream, and "resume after seq S" gives exactly
  // the events a stream had not delivered up to S.
  std::uint64_t seq = 0;
  Kind kind = Kind::kText;
  // The host as the step's status names it (host id and cloud id + IP when JOB gave them).
  Host host;
  std::int64_t step_instance_id = 0;

  // kText: new bytes of the host's script log, whole UTF-8 characters (only a host's last
  // event may end inside one, when its log does), starting at byte `offset` of the log.
  std::string text;
  std::int64_t offset = 0;
  // kFile: the host's transfer entries that are new or changed since its previous kFile event.
  std::vector<FileLog> file_entries;
  // kHostEnd: the host's final status (JOB's host status code) and exit code.
  int status = 0;
  int exit_code = 0;

  // Set on every event of a stream opened with an after_seq the step still knew.
  bool resumed = false;
  // When jobgw read what the event carries (Unix ms).
  std::int64_t observed_at_ms = 0;
  // kText (and kFile): the host's log reached jobgw's cap here; nothing more but its kHostEnd.
  bool truncated = false;
};

// What a follower pulls: an event, or the end of its stream. End with no error means every
// followed host ended and all their events were delivered.
struct LogItem {
  std::optional<LogEvent> event;
  std::optional<Error> error;
  bool is_end() const { return !event.has_value(); }

  static LogItem of(LogEvent event) {
    LogItem item;
    item.event = std::move(event);
    return item;
  }
  static LogItem end(std::optional<Error> error) {
    LogItem item;
    item.error = std::move(error);
    return item;
  }
};

}  // namespace jobgw::core
