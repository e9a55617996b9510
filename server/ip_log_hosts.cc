#include "server/ip_log_hosts.h"

#include <algorithm>

namespace jobgw::server {
namespace {

bool same_address(const core::Host& a, const core::Host& b) {
  return a.ip == b.ip && a.cloud_id == b.cloud_id;
}

bool has_id(const std::vector<core::Host>& hosts, std::int64_t id) {
  return std::any_of(hosts.begin(), hosts.end(),
                     [id](const core::Host& h) { return h.host_id == id; });
}

bool has_address(const std::vector<core::Host>& hosts, const core::Host& host) {
  return std::any_of(hosts.begin(), hosts.end(),
                     [&host](const core::Host& h) { return same_address(h, host); });
}

std::string field_message(const std::string& field, const std::vector<std::string>& names,
                          std::int64_t step, std::int64_t job) {
  std::string text = field + ": ";
  for (std::size_t i = 0; i < names.size(); ++i) text += (i > 0 ? ", " : "") + names[i];
  text += names.size() == 1 ? " is not a host" : " are not hosts";
  return text + " of step " + std::to_string(step) + " of job " + std::to_string(job);
}

}  // namespace

NamedHosts without_logs(const std::vector<core::Host>& asked, const core::IpLogs& logs) {
  std::vector<core::Host> logged;
  logged.reserve(logs.script_logs.size() + logs.file_logs.size());
  for (const auto& log : logs.script_logs) logged.push_back(log.host);
  for (const auto& log : logs.file_logs) logged.push_back(log.host);
  NamedHosts missing;
  for (const core::Host& host : asked) {
    if (host.host_id > 0) {
      if (!has_id(logged, host.host_id)) missing.host_ids.push_back(host.host_id);
    } else if (!has_address(logged, host)) {
      missing.hosts.push_back(host);
    }
  }
  return missing;
}

NamedHosts not_in_step(const NamedHosts& hosts, const core::StepSnapshot& step) {
  NamedHosts unknown;
  if (step.hosts.empty()) return unknown;
  std::vector<core::Host> known;
  known.reserve(step.hosts.size());
  for (const auto& result : step.hosts) known.push_back(result.host);
  const bool all_ids =
      std::all_of(known.begin(), known.end(), [](const core::Host& h) { return h.host_id > 0; });
  const bool all_ips =
      std::all_of(known.begin(), known.end(), [](const core::Host& h) { return !h.ip.empty(); });
  for (std::int64_t id : hosts.host_ids) {
    if (all_ids && !has_id(known, id)) unknown.host_ids.push_back(id);
  }
  for (const core::Host& host : hosts.hosts) {
    if (all_ips && !has_address(known, host)) unknown.hosts.push_back(host);
  }
  return unknown;
}

std::string not_hosts_message(const NamedHosts& unknown, std::int64_t step_instance_id,
                              std::int64_t job_instance_id) {
  std::vector<std::string> ids;
  for (std::int64_t id : unknown.host_ids) ids.push_back(std::to_string(id));
  std::vector<std::string> addresses;
  for (const core::Host& h : unknown.hosts) {
    addresses.push_back(std::to_string(h.cloud_id) + ":" + h.ip);
  }
  std::string text;
  if (!ids.empty()) text = field_message("host_ids", ids, step_instance_id, job_instance_id);
  if (!addresses.empty()) {
    if (!text.empty()) text += "; ";
    text += field_message("hosts", addresses, step_instance_id, job_instance_id);
  }
  return text;
}

}  // namespace jobgw::server
