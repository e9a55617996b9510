#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/targets.h"
#include "core/job/job_requests.h"
#include "core/watch/watch_event.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::server {

// Size caps that protect JOB (and jobgw's memory) from oversized submits.
struct ValidationLimits {
  std::size_t max_script_bytes = 1 << 20;
  std::size_t max_param_bytes = 64 << 10;
  // Entries of targets plus every source's servers (hosts, topology nodes, dynamic groups).
  std::size_t max_targets = 5000;
};

// JOB's documented bounds.
inline constexpr int kMaxTimeoutSeconds = 86400;
inline constexpr std::size_t kMaxTaskNameChars = 512;

// What a WatchStatus stream subscribes to.
struct WatchTarget {
  core::Scope scope;
  std::int64_t job_instance_id = 0;
  std::optional<std::uint64_t> after_seq;  // unset when the request said 0
  core::WatchDetail detail = core::WatchDetail::kHosts;
  // A stream reads as jobgw's default operator; set by authorization like every request's.
  std::string operator_name;
};

// What a FollowLogs stream follows. No hosts: every host of the step; step 0: the job's first.
struct FollowTarget {
  core::Scope scope;
  std::int64_t job_instance_id = 0;
  std::int64_t step_instance_id = 0;
  std::vector<core::Host> hosts;           // by id, then by cloud id + IP
  std::optional<std::uint64_t> after_seq;  // unset when the request said 0
  std::string operator_name;
};

// What a ListJobs call asks for. An empty scope id: every scope the caller may read.
struct ListJobsQuery {
  core::Scope scope;
  int state = 0;  // v1::JobStateFilter
  std::string name_prefix;
  std::size_t page_size = 50;
  std::string page_token;
  std::string operator_name;  // unused; authorization fills it like every request's
};

inline constexpr std::size_t kDefaultListPageSize = 50;
inline constexpr std::size_t kMaxListPageSize = 500;

// Each function turns a proto request into the domain request JobClient takes, or fails with an
// Error of kind kInvalidArgument whose message starts with the offending proto field path, e.g.
// "targets.hosts[1].ip: '300.1.1.1' is not an IPv4 or IPv6 address". Messages never quote script
// content or parameters.

// `field` prefixes the messages ("scope").
core::Result<core::Scope> to_scope(const v1::Scope& scope, const std::string& field = "scope");
// A host list that must not be empty; `field` is e.g. "targets" or "sources[0].servers".
core::Result<core::Targets> to_targets(const v1::Targets& targets, const std::string& field);
// One {host_id | cloud_id + ip}: a positive host id, or a valid IP; IPv6 only with a host id.
core::Result<core::Host> to_host(const v1::Host& host, const std::string& field);

core::Result<core::ExecuteScriptRequest> to_execute_script(const v1::ExecuteScriptRequest& request,
                                                           const ValidationLimits& limits = {});
core::Result<core::TransferFileRequest> to_transfer_file(const v1::TransferFileRequest& request,
                                                         const ValidationLimits& limits = {});

// How many targets a submit names (what limits.max_targets caps and the audit line records):
// host ids, hosts, topology nodes and dynamic groups, of targets and of every file source.
std::size_t target_count(const v1::Targets& targets);
std::size_t target_count(const v1::ExecuteScriptRequest& request);
std::size_t target_count(const v1::TransferFileRequest& request);
core::Result<core::JobStatusRequest> to_job_status(const v1::GetJobStatusRequest& request);
// Hosts may be empty here: the service then asks for every host of the step. step_instance_id 0
// means the job's first step, which the service resolves from the job's status.
core::Result<core::IpLogsRequest> to_ip_logs(const v1::GetIpLogsRequest& request);
// operate_job_instance with operation_code 1 (terminate).
core::Result<core::OperateJobRequest> to_terminate(const v1::TerminateJobRequest& request);
core::Result<WatchTarget> to_watch(const v1::WatchStatusRequest& request);
// At most `max_hosts` hosts (host_ids and hosts together).
core::Result<FollowTarget> to_follow(const v1::FollowLogsRequest& request, std::size_t max_hosts);
core::Result<ListJobsQuery> to_list_jobs(const v1::ListJobsRequest& request);

// A submit's request_id is its idempotency key (and appears in logs and messages): empty, or at
// most kMaxRequestIdBytes of printable ASCII without spaces, e.g. a UUID.
inline constexpr std::size_t kMaxRequestIdBytes = 128;
std::optional<core::Error> check_request_id(const std::string& request_id);

// Whether `path` is absolute on the hosts JOB serves: POSIX ("/data/x") or a Windows drive path
// ("C:\\data" or "C:/data"), since JOB distributes files to both kinds of agents.
bool is_absolute_path(const std::string& path);

// Unicode code points in a UTF-8 string (JOB's task_name limit counts characters, not bytes).
std::size_t utf8_length(const std::string& text);

}  // namespace jobgw::server
