#pragma once

#include "core/base/targets.h"
#include "core/job/ip_logs.h"
#include "core/job/job_requests.h"
#include "core/job/job_snapshot.h"
#include "core/logs/log_event.h"
#include "core/watch/watch_event.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::server {

// Domain -> proto. Each fills `out` (a message gRPC owns, e.g. a unary response) and overwrites
// every field it maps. JOB's status integers are copied as they are: proto3 enums are open, so a
// number JOB adds later reaches the caller unchanged instead of being coerced to a known value.

void to_proto(const core::Scope& scope, v1::Scope* out);
void to_proto(const core::Host& host, v1::Host* out);
void to_proto(const core::HostResult& host, v1::HostResult* out);
void to_proto(const core::StepSnapshot& step, v1::StepSnapshot* out);
void to_proto(const core::JobSnapshot& job, v1::JobSnapshot* out);
void to_proto(const core::JobRef& ref, v1::JobRef* out);
void to_proto(const core::FileLog& log, v1::FileLog* out);
void to_proto(const core::ScriptLog& log, v1::ScriptLog* out);
void to_proto(const core::FileHostLog& log, v1::FileHostLog* out);
// Leaves next_page_token alone: paging is the service's business, not JOB's answer's.
void to_proto(const core::IpLogs& logs, v1::GetIpLogsResponse* out);
// SNAPSHOT/FINISHED carry the snapshot; JOB_/STEP_/HOST_CHANGED set the matching `change`.
void to_proto(const core::WatchEvent& event, v1::StatusEvent* out);
void to_proto(const core::LogEvent& event, v1::LogEvent* out);

// Value-returning conveniences for tests and callers that own the message.
v1::JobSnapshot to_proto(const core::JobSnapshot& job);
v1::StatusEvent to_proto(const core::WatchEvent& event);

}  // namespace jobgw::server
