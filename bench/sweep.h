#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jobgw::bench {

// The duration sweep: jobs of one length class (jobsim's synthetic executor, durations uniform
// around the nominal one), each followed by one caller to its end, through jobgw (one WatchStatus
// stream per job, every host change) and by fixed pollers at each interval, all at once on the
// same jobsim. run.sh runs one sweep per length class, the classes side by side, so the whole
// sweep takes as long as its longest jobs.
struct SweepOptions {
  int jobsim_port = 0;
  std::string grpc_address;
  int duration_ms = 1000;  // nominal job length: what jobsim's range is centred on, for the report
  int jobs = 10;           // per caller kind
  std::vector<int> intervals_ms = {1000, 20000};  // one poller kind per interval
  int hosts = 1;
  int workers = 16;  // poller threads per interval, each with its keep-alive connection
  int timeout_s = 600;
};

// A row per caller kind: status reads per job (jobsim's count of each job's reads), notice lag
// (job end_time to the caller seeing it finished) p50 / p95 / max.
std::vector<nlohmann::json> run_sweep(const SweepOptions& options);

}  // namespace jobgw::bench
