#pragma once

#include <cstdint>

#include "core/base/error.h"
#include "server/call_status.h"

namespace jobgw::server {

// Trailing metadata keys carrying JOB's details of a failure, for callers and support.
inline constexpr char kJobCodeTrailer[] = "jobgw-job-code";
inline constexpr char kJobRequestIdTrailer[] = "jobgw-job-request-id";
inline constexpr char kHttpStatusTrailer[] = "jobgw-http-status";
inline constexpr char kRetryAfterTrailer[] = "jobgw-retry-after-ms";

// JOB's business codes (docs/JOB_API.md "Error codes"); codes not in the table map to UNKNOWN.
StatusCode status_code_for_job_code(std::int64_t job_code);
// The code alone, by kind (and job_code / http_status).
StatusCode status_code_for(const core::Error& error);

// core::Error -> status for a unary RPC (or a stream failing before its first event).
//  - kJob: the table above; kTransport UNAVAILABLE; kTimeout DEADLINE_EXCEEDED;
//  - kHttp: 429 RESOURCE_EXHAUSTED, 5xx UNAVAILABLE, 401 INTERNAL (jobgw's own app credentials
//    are wrong; UNAUTHENTICATED would wrongly blame the caller's credentials), 403
//    PERMISSION_DENIED (jobgw's app lacks permission; the message says the operator must grant
//    it), 404 and any other status INTERNAL (jobgw is configured against the wrong URL);
//  - kDecode INTERNAL; kCancelled CANCELLED; kInternal INTERNAL; kInvalidArgument
//    INVALID_ARGUMENT.
// Messages that describe JOB's answer start with "JOB: "; validation messages stay as they are.
// Trailers: jobgw-job-code (job_code != 0), jobgw-job-request-id, jobgw-http-status,
// jobgw-retry-after-ms (each when set).
CallStatus map_error(const core::Error& error);

// How the hub ending a WatchStatus stream with `error` reaches the caller: shutdown (kCancelled)
// is UNAVAILABLE so clients reconnect (to another replica) with after_seq; give-up (kTimeout) is
// DEADLINE_EXCEEDED; anything else (e.g. JOB says the job does not exist) as map_error.
CallStatus map_stream_end(const core::Error& error);

}  // namespace jobgw::server
