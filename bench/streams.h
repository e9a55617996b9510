#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 5, stream scale: `streams` WatchStatus streams over `channels` connections on one
// jobgw, spread over `jobs` jobs of a fixed duration (jobsim synthetic). Reports jobgw's RSS per
// stream, its CPU while the streams sit idle between polls, and the fan-out time of FINISHED
// (receive time minus the event's observed_at_ms, jobgw's clock = this machine's).
struct StreamsOptions {
  int jobsim_port = 0;
  std::string grpc_address;
  int jobgw_pid = 0;
  int streams = 10000;
  int jobs = 100;
  int channels = 100;
  double idle_seconds = 5;  // CPU measured over this window
  int young_ms = 5000;      // jobgw's watch.poll_young_ms: idle is measured after it
  int timeout_s = 300;
};

nlohmann::json run_streams(const StreamsOptions& options);

}  // namespace jobgw::bench
