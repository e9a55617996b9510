#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 1, fan-in: K callers follow one job to its end, then fetch its logs.
struct FaninOptions {
  int jobsim_port = 0;
  std::string grpc_address;  // jobgw, for the gateway mode
  int k = 1;                 // callers watching the job
  int hosts = 5;             // the job runs on hosts 101 .. 100 + hosts
  int interval_ms = 20000;   // baseline: each caller's fixed poll interval
  int workers = 64;          // baseline: threads (each with its keep-alive connection)
  int channels = 0;          // gateway: gRPC channels for the K streams (0: one per 100)
  int settle_ms = 1000;      // gateway: wait after the last stream before counting reads
  int timeout_s = 300;       // give up on the whole run
};

// The status quo: the job is submitted straight to JOB (jobsim) over HTTP; each caller polls
// get_job_instance_status on its own every interval_ms (fixed delay after each answer, the first
// read right after the submit) until `finished`, then calls batch_get_job_instance_ip_log.
nlohmann::json run_fanin_baseline(const FaninOptions& options);

// Through jobgw: the job is submitted with ExecuteScript, the K callers each hold a WatchStatus
// stream to FINISHED, then each calls GetIpLogs.
nlohmann::json run_fanin_gateway(const FaninOptions& options);

}  // namespace jobgw::bench
