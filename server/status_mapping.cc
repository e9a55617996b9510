#include "server/status_mapping.h"

namespace jobgw::server {
namespace {

// Metadata values must be printable ASCII; JOB's request_id is a hex string, but a gateway in
// front of JOB could send anything, and a bad value would make gRPC drop the whole RPC.
std::string printable_ascii(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c >= 0x20 && c <= 0x7E) out.push_back(c);
  }
  return out;
}

std::string with_detail(std::string text, const std::string& detail) {
  if (!detail.empty()) text += ": " + detail;
  return text;
}

std::string http_message(const core::Error& error) {
  const int http = error.http_status;
  const std::string code = "HTTP " + std::to_string(http);
  if (http == 401) {
    return with_detail("JOB: JOB's API gateway rejected jobgw's app credentials (" + code +
                           "); jobgw's app_code/app_secret are misconfigured, not the caller's",
                       error.message);
  }
  if (http == 403) {
    return with_detail("JOB: JOB's API gateway denied jobgw's app access to this API (" + code +
                           "); the jobgw operator must grant the app permission",
                       error.message);
  }
  if (http == 404) {
    return with_detail("JOB: JOB's API gateway does not know the resource (" + code +
                           "); jobgw's JOB base URL or API mode is misconfigured",
                       error.message);
  }
  if (http == 429) {
    return with_detail("JOB: rate limited by JOB's API gateway (" + code + "); retry later",
                       error.message);
  }
  if (http >= 500 && http <= 599) {
    return with_detail("JOB: JOB or its API gateway is unavailable (" + code + ")", error.message);
  }
  return with_detail("JOB: unexpected " + code + " from JOB", error.message);
}

std::string message_for(const core::Error& error) {
  switch (error.kind) {
    case core::ErrorKind::kInvalidArgument:
      return error.message;
    case core::ErrorKind::kTransport:
      return with_detail("JOB: cannot reach JOB", error.message);
    case core::ErrorKind::kTimeout:
      return with_detail("JOB: no answer from JOB before the deadline", error.message);
    case core::ErrorKind::kHttp:
      return http_message(error);
    case core::ErrorKind::kDecode:
      return with_detail("JOB: JOB answered an unexpected body", error.message);
    case core::ErrorKind::kJob:
    case core::ErrorKind::kFailedPrecondition: {
      std::string text = "JOB: " + (error.message.empty() ? "request failed" : error.message);
      if (error.job_code != 0) text += " (JOB code " + std::to_string(error.job_code) + ")";
      return text;
    }
    case core::ErrorKind::kCancelled:
      return with_detail("cancelled", error.message);
    case core::ErrorKind::kInternal:
      return with_detail("jobgw internal error", error.message);
    case core::ErrorKind::kConflict:
      return error.message;
    case core::ErrorKind::kNotFound:
    case core::ErrorKind::kResourceExhausted:
      return error.message;
  }
  return error.message;
}

std::vector<std::pair<std::string, std::string>> trailers_for(const core::Error& error) {
  std::vector<std::pair<std::string, std::string>> out;
  if (error.job_code != 0) out.emplace_back(kJobCodeTrailer, std::to_string(error.job_code));
  if (!error.request_id.empty()) {
    std::string id = printable_ascii(error.request_id);
    if (!id.empty()) out.emplace_back(kJobRequestIdTrailer, std::move(id));
  }
  if (error.http_status != 0) {
    out.emplace_back(kHttpStatusTrailer, std::to_string(error.http_status));
  }
  if (error.retry_after) {
    out.emplace_back(kRetryAfterTrailer, std::to_string(error.retry_after->count()));
  }
  return out;
}

}  // namespace

StatusCode status_code_for_job_code(std::int64_t job_code) {
  switch (job_code) {
    case 1240001:
      return StatusCode::kUnavailable;
    case 1240002:
      return StatusCode::kInternal;
    case 1240003:
    case 1241001:
    case 1241004:
    case 1241002:
    case 1241005:
    case 1241010:
    case 1241014:
    case 1244001:
      return StatusCode::kInvalidArgument;
    case 1238001:
    case 9900403:
    case 1244004:
      return StatusCode::kPermissionDenied;
    // Hosts not in the business: the request is well formed, the system state (CMDB) disagrees.
    case 1244002:
      return StatusCode::kFailedPrecondition;
    case 1244003:
    case 1244006:
    case 1244007:
    // Job plans: the plan is not there (1244012; 1243009 from the template side).
    case 1244012:
    case 1243009:
      return StatusCode::kNotFound;
    case 1244015:
    // Job plans: the operation does not fit the step's state (1241003); the plan has no steps
    // (1244011), uses a disabled script (1244014), or a host variable is missing or empty
    // (1244008, 1244009): the request is fine, the plan or the job is not ready for it.
    case 1241003:
    case 1244011:
    case 1244014:
    case 1244008:
    case 1244009:
      return StatusCode::kFailedPrecondition;
    // A confirmation by a user the plan does not list as a confirmer.
    case 1244016:
      return StatusCode::kPermissionDenied;
    case 1244032:
    case 1244033:
    case 1244034:
      return StatusCode::kResourceExhausted;
    default:
      return StatusCode::kUnknown;
  }
}

StatusCode status_code_for(const core::Error& error) {
  switch (error.kind) {
    case core::ErrorKind::kInvalidArgument:
      return StatusCode::kInvalidArgument;
    case core::ErrorKind::kTransport:
      return StatusCode::kUnavailable;
    case core::ErrorKind::kTimeout:
      return StatusCode::kDeadlineExceeded;
    case core::ErrorKind::kHttp: {
      const int http = error.http_status;
      if (http == 429) return StatusCode::kResourceExhausted;
      if (http >= 500 && http <= 599) return StatusCode::kUnavailable;
      if (http == 403) return StatusCode::kPermissionDenied;
      return StatusCode::kInternal;
    }
    case core::ErrorKind::kDecode:
      return StatusCode::kInternal;
    case core::ErrorKind::kJob:
      return status_code_for_job_code(error.job_code);
    case core::ErrorKind::kCancelled:
      return StatusCode::kCancelled;
    case core::ErrorKind::kInternal:
      return StatusCode::kInternal;
    case core::ErrorKind::kConflict:
    case core::ErrorKind::kFailedPrecondition:
      return StatusCode::kFailedPrecondition;
    case core::ErrorKind::kNotFound:
      return StatusCode::kNotFound;
    case core::ErrorKind::kResourceExhausted:
      return StatusCode::kResourceExhausted;
  }
  return StatusCode::kInternal;
}

CallStatus map_error(const core::Error& error) {
  CallStatus status(status_code_for(error), message_for(error));
  status.trailers = trailers_for(error);
  return status;
}

CallStatus map_stream_end(const core::Error& error) {
  if (error.kind == core::ErrorKind::kCancelled) {
    CallStatus status(StatusCode::kUnavailable, "jobgw is shutting down; reconnect with after_seq");
    status.trailers = trailers_for(error);
    return status;
  }
  if (error.kind == core::ErrorKind::kTimeout) {
    CallStatus status(StatusCode::kDeadlineExceeded,
                      with_detail("jobgw gave up watching the job; reconnect with after_seq to "
                                  "watch again",
                                  error.message));
    status.trailers = trailers_for(error);
    return status;
  }
  return map_error(error);
}

}  // namespace jobgw::server
