#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/ip_logs.h"
#include "core/job_requests.h"
#include "core/job_snapshot.h"

namespace jobgw::server {

// Hosts a GetIpLogs request names, by field.
struct NamedHosts {
  std::vector<std::int64_t> host_ids;
  std::vector<core::Host> hosts;  // by cloud id + IP
  bool empty() const { return host_ids.empty() && hosts.empty(); }
};

// The named hosts the step's status shows it does not have. Only what the status can tell for
// certain: a step host without an id (or IP) might be the one a caller names by id (or IP), and
// a step with no hosts yet tells nothing. A file step's status lists its targets only, so its
// source hosts are among these too (see without_logs).
NamedHosts hosts_not_in_step(const core::IpLogsRequest& request, const core::StepSnapshot& step);

// Of `candidates`, those among the hosts JOB was asked for (`asked`) that its answer has no log
// for: a file step's source host has its upload log, a host foreign to the step has nothing.
NamedHosts without_logs(const NamedHosts& candidates, const std::vector<core::Host>& asked,
                        const core::IpLogs& logs);

// "host_ids: 998, 999 are not hosts of step 75 of job 100; hosts: 0:192.0.2.9 is not a host of
// step 75 of job 100": each field with its hosts, as the caller named them.
std::string not_hosts_message(const NamedHosts& unknown, std::int64_t step_instance_id,
                              std::int64_t job_instance_id);

}  // namespace jobgw::server
