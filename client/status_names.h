#pragma once

#include <string>

namespace jobgw::client {

// Lower-case names derived from the proto enum names without their prefix
// (JOB_STATUS_SUCCESS -> "success", HOST_STATUS_NONZERO_EXIT_CODE -> "nonzero_exit_code").
// A code the enum does not name (JOB may add some) comes back as its number.
std::string job_status_name(int code);
std::string host_status_name(int code);
std::string step_type_name(int code);
std::string file_log_status_name(int code);

// JOB's terminal job/step statuses.
bool job_status_terminal(int code);
// Host statuses other than waiting (5) and running (7) are final for that host.
bool host_status_final(int code);

}  // namespace jobgw::client
