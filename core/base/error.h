#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace jobgw::core {

// Where a failure came from; server/ maps this (plus job_code) to a gRPC status.
enum class ErrorKind {
  kInvalidArgument,     // rejected before JOB was asked
  kTransport,           // connect, TLS, write or read failed (no usable HTTP answer)
  kTimeout,             // the request's deadline passed
  kHttp,                // JOB or its API gateway answered with a non-200 HTTP status
  kDecode,              // the body is not JSON or not the documented shape
  kJob,                 // JOB answered result=false with a business code
  kCancelled,           // the caller or shutdown cancelled the request
  kInternal,            // a bug or an impossible state in jobgw itself
  kConflict,            // the request_id was already used for a different request
  kFailedPrecondition,  // JOB refused: the job's state does not allow it (terminating a finished
                        // job)
  kNotFound,            // the job asked about is gone (JOB now gives its id to another job)
  kResourceExhausted,   // a limit of jobgw's own was reached (hosts whose logs one step follows)
};

const char* to_string(ErrorKind kind);

struct Error;
// Whether trying the same read again later may succeed: transport trouble, deadlines, 429/5xx,
// unparsable bodies and JOB's own "unavailable"/"internal" codes. Anything else (unknown job,
// permission, bad argument) will not change by waiting.
bool is_transient(const Error& error);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  // JOB's business code (result=false), 0 when JOB gave none.
  std::int64_t job_code = 0;
  // JOB's request_id, empty when no envelope was read.
  std::string request_id;
  // HTTP status of the last answer, 0 when none arrived.
  int http_status = 0;
  // The low-level cause (errno text, TLS reason), empty when not a transport failure.
  std::string transport_cause;
  // A server-provided hint (Retry-After) for when a retry may succeed.
  std::optional<std::chrono::milliseconds> retry_after;

  // One line of key=value pairs for logs; never contains request bodies.
  std::string describe() const;

  static Error invalid_argument(std::string message);
  static Error internal(std::string message);
};

}  // namespace jobgw::core
