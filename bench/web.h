#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 8, web: jobgw's HTTP/JSON + Server-Sent Events face against its gRPC face. run.sh
// starts jobsim (real executor) and a jobgw with http.listen; each part prints one JSON line.
//   watch   `streams` streams of one running job on `hosts` hosts, opened either as SSE
//           (GET /v1/scopes/biz/1/jobs/{job}/events over HTTP/1.1, one TCP connection each, read
//           by one epoll thread here) or as gRPC WatchStatus (`channels` connections). The job's
//           hosts wait for a gate file, so every stream is open before anything changes; then
//           host i ends i x step_ms after the gate. Reports jobgw's RSS per stream (VmRSS with
//           all open minus before), its CPU (utime + stime) per event delivered from the gate to
//           the last FINISHED, bytes per event (SSE: every byte read off the socket; gRPC: the
//           protobuf size of the messages) and the FINISHED fan-out (receive time minus the
//           event's observed_at_ms).
//   follow  `k` gRPC FollowLogs followers of one step: a job on three hosts printing a line every
//           line_ms, `lines` times. Reports jobsim's batch_get_job_instance_ip_log requests from
//           the submit to the followers' end, and whether each follower's text of every host is
//           the host's final log (jobsim's log_content), byte for byte.
struct WebOptions {
  std::string part;       // watch | follow
  std::string transport;  // watch: sse | grpc
  int jobsim_port = 0;
  std::string grpc_address;
  int http_port = 0;  // watch --transport sse: jobgw's http.listen port
  int jobgw_pid = 0;  // watch: for RSS and CPU
  int streams = 1000;
  int channels = 10;             // watch --transport grpc: gRPC connections the streams share
  int hosts = 20;                // watch: the job's hosts (101 ..); follow always uses three
  int step_ms = 250;             // watch: host i ends i x step_ms after the gate
  int k = 1;                     // follow: followers
  int lines = 30;                // follow: lines per host...
  int line_ms = 200;             // ...one every line_ms
  int follow_interval_ms = 500;  // follow: jobgw's follow.interval_ms (for the expected reads)
  int settle_ms = 500;
  int timeout_s = 300;
};

nlohmann::json run_web(const WebOptions& options);

}  // namespace jobgw::bench
