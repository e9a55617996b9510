#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 5, stream scale: `streams` WatchStatus streams over `channels` connections on one
// jobgw, spread over `jobs` jobs of a fixed duration (jobsim synthetic). Reports jobgw's RSS per
// stream, its CPU while the streams sit idle between polls (in all and per JOB status read, the
// one thing jobgw should spend on then), and the fan-out time of FINISHED (receive time minus the
// event's observed_at_ms, jobgw's clock = this machine's).
struct StreamsOptions {
  int jobsim_port = 0;
  std::string grpc_address;
  int jobgw_pid = 0;
  int streams = 10000;
  int jobs = 100;
  int channels = 100;
  double idle_seconds = 5;  // CPU measured over this window...
  // ...starting this long after the submits: past jobgw's young period (5 s) and the interval's
  // climb from the floor to the ceiling (200 ms x1.5 per read reaches 5 s after ~15 s).
  int idle_after_ms = 21000;
  int timeout_s = 300;
};

nlohmann::json run_streams(const StreamsOptions& options);

}  // namespace jobgw::bench
