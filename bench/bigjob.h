#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 6, big job: one job on `hosts` hosts (jobsim synthetic). Reports the time jobgw's
// codec takes to parse one status answer of that job, the events a watcher receives (count,
// bytes), GetIpLogs for every host (pages, bytes, time) and jobgw's RSS before, at the peak and
// after.
struct BigJobOptions {
  int jobsim_port = 0;
  std::string grpc_address;
  int jobgw_pid = 0;
  int hosts = 1000;
  int parse_rounds = 20;
  int settle_ms = 3000;  // wait before the "after" RSS (jobgw's finished retention must be shorter)
  int rounds = 3;        // the job runs this many times; RSS after each is reported
  int timeout_s = 300;
};

nlohmann::json run_bigjob(const BigJobOptions& options);

}  // namespace jobgw::bench
