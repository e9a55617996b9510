#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/base/targets.h"
#include "core/job/ip_logs.h"
#include "core/job/job_snapshot.h"

namespace jobgw::server {

// Hosts as a GetIpLogs request names them, by field.
struct NamedHosts {
  std::vector<std::int64_t> host_ids;
  std::vector<core::Host> hosts;  // by cloud id + IP
  bool empty() const { return host_ids.empty() && hosts.empty(); }
};

// The hosts JOB was asked for (`asked`) that its answer has no log for, by the field that named
// them (host id when set, else cloud id + IP). Usually none: then no status read is needed.
NamedHosts without_logs(const std::vector<core::Host>& asked, const core::IpLogs& logs);

// Of `hosts`, those the step's status shows it does not have. Only what the status can tell for
// certain: a step host without an id (or IP) might be the one named by id (or IP), and a step
// with no hosts yet tells nothing. A file step's status lists its targets only; its source hosts
// have upload logs, so they never reach this check through without_logs.
NamedHosts not_in_step(const NamedHosts& hosts, const core::StepSnapshot& step);

// "host_ids: 998, 999 are not hosts of step 75 of job 100; hosts: 0:192.0.2.9 is not a host of
// step 75 of job 100": each field with its hosts, as the caller named them.
std::string not_hosts_message(const NamedHosts& unknown, std::int64_t step_instance_id,
                              std::int64_t job_instance_id);

}  // namespace jobgw::server
