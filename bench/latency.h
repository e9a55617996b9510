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
  // jobgw mode: what the streams ask for, "hosts" (every host change) or "progress" (the job's
  // progress and end only).
  std::string detail = "hosts";
  // jobgw mode: jobs run to their end through jobgw before measuring (each ends after 1 s, its
  // step timeout), so a fresh jobgw has seen JOB's callback arrive before the measured jobs.
  int warmup_jobs = 0;
  // The jobs' nominal length (jobsim's range is centred on it), for the report.
  int duration_ms = 0;
};

// The status quo: each caller submits over HTTP and polls get_job_instance_status itself.
nlohmann::json run_latency_baseline(const LatencyOptions& options);

// Through jobgw: ExecuteScript, then a WatchStatus stream (of options.detail) to FINISHED.
nlohmann::json run_latency_gateway(const LatencyOptions& options);

}  // namespace jobgw::bench
