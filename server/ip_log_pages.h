#pragma once

#include <cstddef>

#include "core/base/result.h"
#include "core/job/log_pages.h"
#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::server {

// The smallest max_response_bytes a caller may ask for: room for a host and a bit of its log.
constexpr std::size_t kMinLogPageBytes = 4096;

// The largest GetIpLogs response jobgw builds when its gRPC limit is `max_send_message_bytes`:
// the limit less a margin (an eighth, at most 16 KiB) for anything the page sizer does not see.
std::size_t log_page_limit(std::size_t max_send_message_bytes);

// The byte limit for one GetIpLogs page: the request's max_response_bytes (0: none) capped at
// `server_limit`. A negative value, or one below kMinLogPageBytes, is INVALID_ARGUMENT naming
// max_response_bytes; a malformed page_token is INVALID_ARGUMENT naming page_token, before any
// JOB call is made for it.
core::Result<std::size_t> log_page_bytes(const v1::GetIpLogsRequest& request,
                                         std::size_t server_limit);

// Measures log entries exactly as they will be encoded in a GetIpLogsResponse.
core::LogPageSizer proto_log_page_sizer();

}  // namespace jobgw::server
