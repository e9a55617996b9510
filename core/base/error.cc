#include "core/base/error.h"

#include <sstream>

namespace jobgw::core {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid_argument";
    case ErrorKind::kTransport:
      return "transport";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kHttp:
      return "http";
    case ErrorKind::kDecode:
      return "decode";
    case ErrorKind::kJob:
      return "job";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kInternal:
      return "internal";
    case ErrorKind::kConflict:
      return "conflict";
    case ErrorKind::kFailedPrecondition:
      return "failed_precondition";
    case ErrorKind::kNotFound:
      return "not_found";
    case ErrorKind::kResourceExhausted:
      return "resource_exhausted";
  }
  return "unknown";
}

bool is_transient(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kTransport:
    case ErrorKind::kTimeout:
    case ErrorKind::kDecode:
      return true;
    case ErrorKind::kHttp:
      return error.http_status == 429 || error.http_status >= 500;
    case ErrorKind::kJob:
      return error.job_code == 1240001 || error.job_code == 1240002;
    case ErrorKind::kInvalidArgument:
    case ErrorKind::kCancelled:
    case ErrorKind::kInternal:
    case ErrorKind::kConflict:
    case ErrorKind::kFailedPrecondition:
    case ErrorKind::kNotFound:
    // jobgw's own limit: JOB was not asked, so no read of JOB would succeed by retrying.
    case ErrorKind::kResourceExhausted:
      return false;
  }
  return false;
}

std::string Error::describe() const {
  std::ostringstream out;
  out << "kind=" << to_string(kind);
  if (job_code != 0) out << " job_code=" << job_code;
  if (http_status != 0) out << " http_status=" << http_status;
  if (!request_id.empty()) out << " job_request_id=" << request_id;
  if (!transport_cause.empty()) out << " cause=\"" << transport_cause << '"';
  if (retry_after) out << " retry_after_ms=" << retry_after->count();
  out << " message=\"" << message << '"';
  return out.str();
}

Error Error::invalid_argument(std::string message) {
  Error e;
  e.kind = ErrorKind::kInvalidArgument;
  e.message = std::move(message);
  return e;
}

Error Error::internal(std::string message) {
  Error e;
  e.kind = ErrorKind::kInternal;
  e.message = std::move(message);
  return e;
}

}  // namespace jobgw::core
