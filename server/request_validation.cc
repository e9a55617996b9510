#include "server/request_validation.h"

#include <utility>
#include <vector>

namespace jobgw::server {
namespace {

using core::Error;

Error invalid(const std::string& field, const std::string& reason) {
  return Error::invalid_argument(field + ": " + reason);
}

// Echoes caller-supplied identifiers (paths, IPs) in messages, cut short so one bad value cannot
// blow up a status message. Never used for script content or parameters.
std::string quote(const std::string& value) {
  constexpr std::size_t kMax = 128;
  if (value.size() <= kMax) return "'" + value + "'";
  std::size_t cut = kMax;
  // Do not split a UTF-8 sequence: back up to the start of a code point.
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return "'" + value.substr(0, cut) + "...'";
}

std::string indexed(const std::string& field, std::size_t i) {
  return field + "[" + std::to_string(i) + "]";
}

std::optional<Error> check_timeout(std::int32_t seconds, const std::string& field) {
  if (seconds == 0 || (seconds >= 1 && seconds <= kMaxTimeoutSeconds)) return std::nullopt;
  return invalid(field, "must be 0 (JOB's default, 7200) or 1.." +
                            std::to_string(kMaxTimeoutSeconds) + " seconds, got " +
                            std::to_string(seconds));
}

std::optional<Error> check_task_name(const std::string& name, const std::string& field) {
  const std::size_t chars = utf8_length(name);
  if (chars <= kMaxTaskNameChars) return std::nullopt;
  return invalid(field, "at most " + std::to_string(kMaxTaskNameChars) + " characters, got " +
                            std::to_string(chars));
}

std::optional<Error> check_account_id(std::int64_t id, const std::string& field) {
  if (id >= 0) return std::nullopt;
  return invalid(field, "must not be negative, got " + std::to_string(id));
}

std::optional<Error> check_job_id(std::int64_t id, const std::string& field) {
  if (id > 0) return std::nullopt;
  return invalid(field, "must be a positive job instance id, got " + std::to_string(id));
}

std::optional<Error> check_size(std::size_t size, std::size_t limit, const std::string& field) {
  if (size <= limit) return std::nullopt;
  return invalid(field, std::to_string(size) + " bytes exceeds the limit of " +
                            std::to_string(limit) + " bytes");
}

std::optional<Error> check_target_count(std::size_t count, std::size_t limit,
                                        const std::string& field) {
  if (count <= limit) return std::nullopt;
  return invalid(field, std::to_string(count) + " targets exceed limits.max_targets (" +
                            std::to_string(limit) + ")");
}

// Hosts of a request that may name none (GetIpLogs): ids positive, each host valid.
core::Result<std::vector<std::int64_t>> to_host_ids(
    const google::protobuf::RepeatedField<std::int64_t>& ids, const std::string& field) {
  std::vector<std::int64_t> out;
  out.reserve(ids.size());
  for (int i = 0; i < ids.size(); ++i) {
    if (ids[i] <= 0) {
      return invalid(indexed(field, i), "host id must be positive, got " + std::to_string(ids[i]));
    }
    out.push_back(ids[i]);
  }
  return out;
}

core::Result<std::vector<core::Host>> to_hosts(
    const google::protobuf::RepeatedPtrField<v1::Host>& hosts, const std::string& field) {
  std::vector<core::Host> out;
  out.reserve(hosts.size());
  for (int i = 0; i < hosts.size(); ++i) {
    auto host = to_host(hosts[i], indexed(field, i));
    if (!host) return host.error();
    out.push_back(std::move(host.value()));
  }
  return out;
}

}  // namespace

std::size_t utf8_length(const std::string& text) {
  std::size_t n = 0;
  for (unsigned char c : text) {
    // Count every byte that is not a continuation byte (10xxxxxx).
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

bool is_absolute_path(const std::string& path) {
  if (!path.empty() && path[0] == '/') return true;
  const bool drive_letter = path.size() >= 3 && ((path[0] >= 'A' && path[0] <= 'Z') ||
                                                 (path[0] >= 'a' && path[0] <= 'z'));
  return drive_letter && path[1] == ':' && (path[2] == '\\' || path[2] == '/');
}

core::Result<core::Scope> to_scope(const v1::Scope& scope, const std::string& field) {
  core::Scope out;
  if (scope.type().empty() || scope.type() == "biz") {
    out.type = "biz";
  } else if (scope.type() == "biz_set") {
    out.type = "biz_set";
  } else {
    return invalid(field + ".type",
                   quote(scope.type()) + " is not a scope type; use \"biz\" or \"biz_set\"");
  }
  if (scope.id().empty()) return invalid(field + ".id", "is required");
  out.id = scope.id();
  return out;
}

core::Result<core::Host> to_host(const v1::Host& host, const std::string& field) {
  if (host.host_id() < 0) {
    return invalid(field + ".host_id",
                   "host id must be positive, got " + std::to_string(host.host_id()));
  }
  if (host.cloud_id() < 0) {
    return invalid(field + ".cloud_id",
                   "must not be negative, got " + std::to_string(host.cloud_id()));
  }
  core::Host out;
  out.host_id = host.host_id();
  out.cloud_id = host.cloud_id();
  out.ip = host.ip();
  if (host.ip().empty()) {
    if (host.host_id() == 0) return invalid(field, "needs a host_id or an ip");
    return out;
  }
  switch (core::ip_family(host.ip())) {
    case core::IpFamily::kInvalid:
      return invalid(field + ".ip", quote(host.ip()) + " is not an IPv4 or IPv6 address");
    case core::IpFamily::kV6:
      if (host.host_id() == 0) {
        return invalid(field + ".host_id", "is required for the IPv6 address " + quote(host.ip()) +
                                               " (JOB names IPv6 hosts by host id only)");
      }
      break;
    case core::IpFamily::kV4:
      break;
  }
  return out;
}

core::Result<core::Targets> to_targets(const v1::Targets& targets, const std::string& field) {
  core::Targets out;
  auto ids = to_host_ids(targets.host_ids(), field + ".host_ids");
  if (!ids) return ids.error();
  out.host_ids = std::move(ids.value());
  auto hosts = to_hosts(targets.hosts(), field + ".hosts");
  if (!hosts) return hosts.error();
  out.hosts = std::move(hosts.value());
  for (int i = 0; i < targets.dynamic_group_ids_size(); ++i) {
    if (targets.dynamic_group_ids(i).empty()) {
      return invalid(indexed(field + ".dynamic_group_ids", i), "must not be empty");
    }
    out.dynamic_group_ids.push_back(targets.dynamic_group_ids(i));
  }
  for (int i = 0; i < targets.topo_nodes_size(); ++i) {
    const auto& node = targets.topo_nodes(i);
    const std::string node_field = indexed(field + ".topo_nodes", i);
    if (node.id() <= 0) {
      return invalid(node_field + ".id", "must be positive, got " + std::to_string(node.id()));
    }
    if (node.node_type().empty()) return invalid(node_field + ".node_type", "is required");
    out.topo_nodes.push_back(core::TopoNode{node.id(), node.node_type()});
  }
  if (out.empty()) {
    return invalid(field, "at least one host, dynamic group or topology node is required");
  }
  return out;
}

core::Result<core::ExecuteScriptRequest> to_execute_script(const v1::ExecuteScriptRequest& request,
                                                           const ValidationLimits& limits) {
  core::ExecuteScriptRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());

  // JOB silently prefers version id over id over content; a request naming two is ambiguous
  // about which script the caller meant, so jobgw refuses it rather than guess.
  std::vector<std::string> sources;
  if (!request.script_content().empty()) sources.push_back("script_content");
  if (!request.script_id().empty()) sources.push_back("script_id");
  if (request.script_version_id() != 0) sources.push_back("script_version_id");
  if (sources.empty()) {
    return invalid("script_content",
                   "a script is required: set exactly one of script_content, script_id or "
                   "script_version_id");
  }
  if (sources.size() > 1) {
    std::string named = sources[0];
    for (std::size_t i = 1; i < sources.size(); ++i) named += " and " + sources[i];
    return invalid(sources[1],
                   "set exactly one of script_content, script_id or "
                   "script_version_id, got " +
                       named);
  }
  if (request.script_version_id() < 0) {
    return invalid("script_version_id",
                   "must be positive, got " + std::to_string(request.script_version_id()));
  }
  if (auto e =
          check_size(request.script_content().size(), limits.max_script_bytes, "script_content")) {
    return *e;
  }
  const int language = static_cast<int>(request.script_language());
  const bool known_language = language >= core::kShell && language <= core::kPowerShell;
  if (!request.script_content().empty() && language == 0) {
    return invalid("script_language", "is required with script_content");
  }
  if (language != 0 && !known_language) {
    return invalid("script_language", "unknown language " + std::to_string(language) +
                                          " (1 shell, 2 bat, 3 perl, 4 python, 5 powershell)");
  }
  if (auto e = check_size(request.script_param().size(), limits.max_param_bytes, "script_param")) {
    return *e;
  }
  if (auto e = check_timeout(request.timeout_seconds(), "timeout_seconds")) return *e;
  if (auto e = check_account_id(request.account_id(), "account_id")) return *e;
  if (auto e = check_task_name(request.task_name(), "task_name")) return *e;
  if (auto e = check_target_count(target_count(request), limits.max_targets, "targets")) return *e;
  auto targets = to_targets(request.targets(), "targets");
  if (!targets) return targets.error();

  out.script_content = request.script_content();
  out.script_language = language;
  out.script_param = request.script_param();
  out.param_sensitive = request.param_sensitive();
  out.timeout_seconds = request.timeout_seconds();
  out.account_alias = request.account_alias();
  out.account_id = request.account_id();
  out.targets = std::move(targets.value());
  out.task_name = request.task_name();
  out.operator_name = request.operator_();
  out.script_id = request.script_id();
  out.script_version_id = request.script_version_id();
  return out;
}

core::Result<core::TransferFileRequest> to_transfer_file(const v1::TransferFileRequest& request,
                                                         const ValidationLimits& limits) {
  core::TransferFileRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_target_count(target_count(request), limits.max_targets,
                                  "targets and sources[].servers")) {
    return *e;
  }

  if (request.sources().empty()) return invalid("sources", "at least one file source is required");
  for (int i = 0; i < request.sources_size(); ++i) {
    const auto& source = request.sources(i);
    const std::string field = indexed("sources", i);
    core::FileSource domain;
    if (source.files().empty()) return invalid(field + ".files", "at least one file is required");
    for (int f = 0; f < source.files_size(); ++f) {
      const std::string& path = source.files(f);
      if (!is_absolute_path(path)) {
        return invalid(indexed(field + ".files", f), quote(path) + " is not an absolute path");
      }
      domain.files.push_back(path);
    }
    auto servers = to_targets(source.servers(), field + ".servers");
    if (!servers) return servers.error();
    domain.servers = std::move(servers.value());
    if (auto e = check_account_id(source.account_id(), field + ".account_id")) return *e;
    domain.account_alias = source.account_alias();
    domain.account_id = source.account_id();
    out.sources.push_back(std::move(domain));
  }

  if (request.target_path().empty()) return invalid("target_path", "is required");
  if (!is_absolute_path(request.target_path())) {
    return invalid("target_path", quote(request.target_path()) + " is not an absolute path");
  }
  auto targets = to_targets(request.targets(), "targets");
  if (!targets) return targets.error();
  if (auto e = check_account_id(request.account_id(), "account_id")) return *e;
  if (auto e = check_timeout(request.timeout_seconds(), "timeout_seconds")) return *e;
  if (request.upload_limit_mb() < 0) {
    return invalid("upload_limit_mb", "must not be negative (0 means unlimited), got " +
                                          std::to_string(request.upload_limit_mb()));
  }
  if (request.download_limit_mb() < 0) {
    return invalid("download_limit_mb", "must not be negative (0 means unlimited), got " +
                                            std::to_string(request.download_limit_mb()));
  }
  const int mode = static_cast<int>(request.transfer_mode());
  if (mode < core::kTransferModeDefault || mode > core::kTransferModeForce) {
    return invalid("transfer_mode",
                   "unknown mode " + std::to_string(mode) + " (0 default, 1 strict, 2 force)");
  }
  if (auto e = check_task_name(request.task_name(), "task_name")) return *e;

  out.target_path = request.target_path();
  out.targets = std::move(targets.value());
  out.account_alias = request.account_alias();
  out.account_id = request.account_id();
  out.timeout_seconds = request.timeout_seconds();
  out.upload_limit_mb = request.upload_limit_mb();
  out.download_limit_mb = request.download_limit_mb();
  out.transfer_mode = mode;
  out.task_name = request.task_name();
  out.operator_name = request.operator_();
  return out;
}

std::size_t target_count(const v1::Targets& targets) {
  return static_cast<std::size_t>(targets.host_ids_size()) +
         static_cast<std::size_t>(targets.hosts_size()) +
         static_cast<std::size_t>(targets.topo_nodes_size()) +
         static_cast<std::size_t>(targets.dynamic_group_ids_size());
}

std::size_t target_count(const v1::ExecuteScriptRequest& request) {
  return target_count(request.targets());
}

std::size_t target_count(const v1::TransferFileRequest& request) {
  std::size_t n = target_count(request.targets());
  for (const auto& source : request.sources()) n += target_count(source.servers());
  return n;
}

core::Result<core::JobStatusRequest> to_job_status(const v1::GetJobStatusRequest& request) {
  core::JobStatusRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_job_id(request.job_instance_id(), "job_instance_id")) return *e;
  out.job_instance_id = request.job_instance_id();
  out.return_ip_result = true;
  out.operator_name = request.operator_();
  return out;
}

namespace {

// 0 names the job's first step, which the service resolves from the job's status.
std::optional<core::Error> check_step_id(std::int64_t id) {
  if (id >= 0) return std::nullopt;
  return invalid(
      "step_instance_id",
      "must be 0 (the job's first step) or a step instance id, got " + std::to_string(id));
}

}  // namespace

core::Result<core::IpLogsRequest> to_ip_logs(const v1::GetIpLogsRequest& request) {
  core::IpLogsRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_job_id(request.job_instance_id(), "job_instance_id")) return *e;
  if (auto e = check_step_id(request.step_instance_id())) return *e;
  auto ids = to_host_ids(request.host_ids(), "host_ids");
  if (!ids) return ids.error();
  auto hosts = to_hosts(request.hosts(), "hosts");
  if (!hosts) return hosts.error();
  out.job_instance_id = request.job_instance_id();
  out.step_instance_id = request.step_instance_id();
  out.host_ids = std::move(ids.value());
  out.hosts = std::move(hosts.value());
  out.operator_name = request.operator_();
  return out;
}

core::Result<core::OperateJobRequest> to_terminate(const v1::TerminateJobRequest& request) {
  core::OperateJobRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_job_id(request.job_instance_id(), "job_instance_id")) return *e;
  out.job_instance_id = request.job_instance_id();
  out.operation_code = 1;
  out.operator_name = request.operator_();
  return out;
}

core::Result<WatchTarget> to_watch(const v1::WatchStatusRequest& request) {
  WatchTarget out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_job_id(request.job_instance_id(), "job_instance_id")) return *e;
  out.job_instance_id = request.job_instance_id();
  if (request.after_seq() != 0) out.after_seq = request.after_seq();
  switch (request.detail()) {
    case v1::WATCH_DETAIL_UNSPECIFIED:
    case v1::WATCH_DETAIL_HOSTS:
      out.detail = core::WatchDetail::kHosts;
      break;
    case v1::WATCH_DETAIL_PROGRESS:
      out.detail = core::WatchDetail::kProgress;
      break;
    default:
      return core::Error::invalid_argument("detail: unknown value " +
                                           std::to_string(request.detail()) +
                                           " (WATCH_DETAIL_HOSTS or WATCH_DETAIL_PROGRESS)");
  }
  return out;
}

core::Result<FollowTarget> to_follow(const v1::FollowLogsRequest& request, std::size_t max_hosts) {
  FollowTarget out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = check_job_id(request.job_instance_id(), "job_instance_id")) return *e;
  if (auto e = check_step_id(request.step_instance_id())) return *e;
  const std::size_t named =
      static_cast<std::size_t>(request.host_ids_size()) + request.hosts_size();
  if (named > max_hosts) {
    return invalid(request.host_ids_size() > 0 ? "host_ids" : "hosts",
                   "at most " + std::to_string(max_hosts) +
                       " hosts may be followed by one stream (follow.max_hosts), got " +
                       std::to_string(named));
  }
  auto ids = to_host_ids(request.host_ids(), "host_ids");
  if (!ids) return ids.error();
  auto hosts = to_hosts(request.hosts(), "hosts");
  if (!hosts) return hosts.error();
  out.job_instance_id = request.job_instance_id();
  out.step_instance_id = request.step_instance_id();
  for (std::int64_t id : ids.value()) {
    core::Host host;
    host.host_id = id;
    out.hosts.push_back(std::move(host));
  }
  out.hosts.insert(out.hosts.end(), hosts.value().begin(), hosts.value().end());
  if (request.after_seq() != 0) out.after_seq = request.after_seq();
  out.operator_name = request.operator_();
  return out;
}

core::Result<ListJobsQuery> to_list_jobs(const v1::ListJobsRequest& request) {
  ListJobsQuery out;
  if (!request.scope().id().empty() || !request.scope().type().empty()) {
    auto scope = to_scope(request.scope());
    if (!scope) return scope.error();
    out.scope = std::move(scope.value());
  }
  if (!v1::JobStateFilter_IsValid(request.state())) {
    return invalid("state", "unknown state filter " + std::to_string(request.state()));
  }
  out.state = request.state();
  if (utf8_length(request.name_prefix()) > kMaxTaskNameChars) {
    return invalid("name_prefix", "at most " + std::to_string(kMaxTaskNameChars) +
                                      " characters, got " +
                                      std::to_string(utf8_length(request.name_prefix())));
  }
  out.name_prefix = request.name_prefix();
  if (request.page_size() < 0 || request.page_size() > static_cast<int>(kMaxListPageSize)) {
    return invalid("page_size", "must be 0 (" + std::to_string(kDefaultListPageSize) + ") or 1.." +
                                    std::to_string(kMaxListPageSize) + ", got " +
                                    std::to_string(request.page_size()));
  }
  out.page_size = request.page_size() == 0 ? kDefaultListPageSize
                                           : static_cast<std::size_t>(request.page_size());
  out.page_token = request.page_token();
  return out;
}

std::optional<core::Error> check_request_id(const std::string& request_id) {
  if (request_id.size() > kMaxRequestIdBytes) {
    return core::Error::invalid_argument("request_id: " + std::to_string(request_id.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(kMaxRequestIdBytes));
  }
  for (char c : request_id) {
    if (c < 0x21 || c > 0x7e) {
      return core::Error::invalid_argument(
          "request_id: only printable ASCII without spaces is allowed");
    }
  }
  return std::nullopt;
}

}  // namespace jobgw::server
