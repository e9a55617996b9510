#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/security/audit_log.h"
#include "jobgw/v1/job_gateway.pb.h"
#include "server/call.h"

// What the JobGatewayService files (job_gateway_service.cc, watch_reactor.cc, ip_logs_rpc.cc)
// share to describe their calls.
namespace jobgw::server {

// "biz:1": a request's scope as logs and idempotency keys name it ("biz" when the type is empty).
std::string scope_label(const v1::Scope& scope);
CallSpec call_spec(const char* method, const v1::Scope& scope, std::int64_t job_instance_id);
// The parts of a mutating call's audit line known before it runs (spec.request_id included).
core::AuditRecord audit_record(const CallSpec& spec, std::size_t targets,
                               const std::string& script_content);

}  // namespace jobgw::server
