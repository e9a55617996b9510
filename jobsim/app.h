#pragma once

#include "jobsim/config.h"

namespace jobsim {

// Wires jobsim together from a Config and serves until SIGINT/SIGTERM. Returns the process
// exit code; startup errors are logged and give 1.
int run_jobsim(const Config& config);

}  // namespace jobsim
