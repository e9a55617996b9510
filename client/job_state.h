#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {

// What a host's status comes to for a person watching: the live table's groups and colours.
// Failed is every final status but success and last_success.
enum class Outcome { kFailed, kRunning, kWaiting, kSuccess };
Outcome host_outcome(int host_status);

// Counts of hosts over all steps of a job.
struct HostCounts {
  int total = 0;
  int done = 0;                          // hosts in a final status
  std::map<std::string, int> by_status;  // status name -> hosts
  int success = 0;
  int failed = 0;
  int running = 0;
  int waiting = 0;
  void add(int host_status);
};

// A client's view of a job, kept up to date from WatchStatus events: every SNAPSHOT and
// FINISHED replaces it; changes patch it; notices (is_notice) leave it as it is. Hosts changed by
// events get start/end times from the event's observed_at_ms when the snapshot had none, so elapsed
// times keep moving.
class JobState {
 public:
  void apply(const v1::StatusEvent& event);
  void replace(const v1::JobSnapshot& snapshot);

  const v1::JobSnapshot& snapshot() const { return snapshot_; }
  bool has_snapshot() const { return has_snapshot_; }
  bool finished() const { return finished_; }
  std::uint64_t last_seq() const { return last_seq_; }
  HostCounts counts() const;

 private:
  v1::StepSnapshot* find_step(std::int64_t id);
  v1::JobSnapshot snapshot_;
  bool has_snapshot_ = false;
  bool finished_ = false;
  std::uint64_t last_seq_ = 0;
};

// JOB_UNREACHABLE and JOB_REACHABLE: what jobgw says about reaching JOB, not about the job. They
// carry no change of a host, step or job (their seq is the latest change's, already applied).
bool is_notice(const v1::StatusEvent& event);

// "0:192.0.2.1" (cloud:ip), or "#101" for a host known only by id.
std::string host_address(const v1::Host& host);
bool same_host(const v1::Host& a, const v1::Host& b);

}  // namespace jobgw::client
