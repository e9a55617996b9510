#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace jobgw::bench {

// Scenario 7, replicas: jobgw replicas sharing one Redis (state.redis_url) against one jobgw
// alone. run.sh starts the processes; each part is one command that prints one JSON line.
//   fanin     K WatchStatus streams of one job spread over the replicas (stream i on replica
//             i mod R): JOB status reads of that job (jobsim), notice lag, reads per replica.
//   failover  one job submitted through replica (round mod R), one watcher per replica; the
//             lease holder (Redis GET PREFIX:job:{biz:1:ID}:lease) is SIGKILLed kill_after_ms
//             after the submit: time from the kill to the new lease and to the first JOB status
//             read of the job after it (jobsim's per-job count, polled every 10 ms).
//   redis     Redis commands (INFO commandstats) and Redis CPU per job: `jobs` short jobs through
//             the replicas, one watcher each, minus the idle rate measured before.
//   fanout    one many-host job owned by replica 0, watchers on every replica: per event, the
//             receive time on a non-owner replica minus that on the owner, and the replicas'
//             jobgw_replica_fanout_lag_seconds histograms.
struct ReplicasOptions {
  std::string part;  // fanin | failover | redis | fanout
  int jobsim_port = 0;
  std::vector<std::string> grpc;         // one address per replica, replica order
  std::vector<int> metrics_ports;        // the replicas' metrics ports (optional but for fanout)
  std::vector<int> jobgw_pids;           // failover: the replicas' pids
  std::vector<std::string> replica_ids;  // the replicas' state.replica_id (default jobgw-1..R)
  int redis_port = 0;                    // 0: no Redis (one jobgw alone)
  std::string redis_prefix = "jobgw";
  int k = 1;                     // fanin: streams
  int hosts = 5;                 // every part: the job's hosts (101 ..)
  int jobs = 100;                // redis: jobs
  double jobs_per_second = 20;   // redis: submit rate
  int watchers_per_replica = 2;  // fanout
  int round = 0;                 // failover: which replica submits (round mod R)
  int kill_after_ms = 1500;      // failover: kill the owner this long after the submit
  double idle_seconds = 3;       // redis: the idle window measured before the jobs
  int settle_ms = 1000;          // wait before the counters are read again
  int timeout_s = 300;
};

nlohmann::json run_replicas(const ReplicasOptions& options);

}  // namespace jobgw::bench
