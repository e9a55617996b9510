#pragma once

#include <string>

#include "core/job/job_requests.h"
#include "core/job/plan_requests.h"

namespace jobgw::core {

// SHA-256 (lower-case hex) of a canonical encoding of a submit: every field the caller chose,
// each length-prefixed and named, in a fixed order, with the kind of submit first. Two requests
// get the same fingerprint exactly when JOB would be asked the same thing. callback_url is left
// out: jobgw sets it from its own configuration, so a restart with another callback address
// must not turn a retry into a conflict.
std::string fingerprint(const ExecuteScriptRequest& request);
std::string fingerprint(const TransferFileRequest& request);
// Variables as the caller gave them (before they are resolved against the plan), so a retry
// after the plan changed is still the same request.
std::string fingerprint(const ExecutePlanRequest& request);

}  // namespace jobgw::core
