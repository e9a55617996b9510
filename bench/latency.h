#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 3, notification latency: jobs of a few seconds (jobsim's synthetic executor) are
// submitted at a steady rate; each caller follows its job to the end. Per event kind (the job
// running, each host's final status, the job finished) the delay from JOB's own timestamp of
// the change (start_time / host end_time / end_time, jobsim's clock) to the caller seeing it.
struct LatencyOptions {
  int jobsim_port = 0;
  std::string grpc_address;  // jobgw mode
  std::string label;         // how jobgw runs (e.g. "callback on"), for the report
  int interval_ms = 1000;    // baseline: fixed poll interval
  int jobs = 40;
  double jobs_per_second = 2;
  int hosts = 5;
  int young_ms = 5000;  // only changes within this age of the job count (the target's "young")
  int timeout_s = 300;
};

// The status quo: each caller submits over HTTP and polls get_job_instance_status itself.
nlohmann::json run_latency_baseline(const LatencyOptions& options);

// Through jobgw: ExecuteScript, then a WatchStatus stream to FINISHED.
nlohmann::json run_latency_gateway(const LatencyOptions& options);

}  // namespace jobgw::bench
