#pragma once

#include <vector>

#include "core/job/job_snapshot.h"
#include "core/watch/watch_event.h"

namespace jobgw::core {

// The minimal change events that take `before` to `after`, bottom-up (a step's hosts, then the
// step, then the job) so a consumer sees a host finish before the step that contains it. A
// host changes when its status, exit code, error code or tag changes; a step or job when its
// status does. Events come without seq or timestamps; the hub assigns them.
std::vector<WatchEvent> diff_snapshots(const JobSnapshot& before, const JobSnapshot& after);

}  // namespace jobgw::core
