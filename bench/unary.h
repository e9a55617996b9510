#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace jobgw::bench {

// Scenario 4, unary overhead: closed-loop load (each of `concurrency` callers sends its next
// request when the previous one answered) through jobgw over gRPC and straight to jobsim over
// HTTP keep-alive, the same calls at the same concurrency.
struct UnaryOptions {
  int jobsim_port = 0;
  std::string grpc_address;
  std::string op = "status";  // status (GetJobStatus), execute (ExecuteScript) or watched
  int concurrency = 1;
  double seconds = 5;             // measured time per round and target
  double warmup_seconds = 0.5;    // per round and target, not measured
  std::int64_t max_requests = 0;  // per round and target; 0 = no cap
  int rounds = 2;                 // direct, jobgw, direct, jobgw, ... (pooled)
  int hosts = 5;                  // status: the job read runs on hosts 101 .. 100 + hosts
  int jobsim_pid = 0;             // when set, CPU time of these processes is reported per call
  int jobgw_pid = 0;
  // op status: jobgw_floor (bench/grpc_floor.cc), gRPC answering a canned snapshot, loaded like
  // jobgw in a round of its own after each jobgw round; its pid for CPU and switches per call.
  std::string floor_address;
  int floor_pid = 0;
  // op status: which of direct, jobgw and floor run (comma-separated; empty: direct and jobgw,
  // and floor when floor_address is set). "floor" alone needs neither jobsim nor jobgw.
  std::string targets;
};

// One JSON object per target in an array: "direct", "jobgw" and, with a floor, "floor".
nlohmann::json run_unary(const UnaryOptions& options);

// GetJobStatus of a job jobgw watches (op "watched"): a long job submitted through jobgw with a
// WatchStatus stream open on it for the whole run, read through jobgw (answered from the watch's
// snapshot) and straight from jobsim, rounds alternating as in run_unary. Besides run_unary's
// fields, the JOB reads of that job during the jobgw rounds and the watch's own reads during the
// direct rounds (reads there minus the direct calls): the reads the calls added are the
// difference. Terminates the job at the end. Two JSON objects, as run_unary.
nlohmann::json run_unary_watched(const UnaryOptions& options);

}  // namespace jobgw::bench
