#pragma once

#include <string>

#include "core/base/result.h"
#include "core/job/job_snapshot.h"
#include "core/watch/watch_event.h"

namespace jobgw::core {

// The form snapshots and watch events take in Redis (the job's state hash, its event log and
// the change messages replicas publish): compact JSON with short keys, so a 300-host snapshot
// stays a few tens of KiB. Decoding never throws; an error names the JSON path at fault.
std::string encode_snapshot(const JobSnapshot& snapshot);
Result<JobSnapshot> decode_snapshot(const std::string& text);

// An event's snapshot (SNAPSHOT, FINISHED) travels inside it.
std::string encode_event(const WatchEvent& event);
Result<WatchEvent> decode_event(const std::string& text);

}  // namespace jobgw::core
