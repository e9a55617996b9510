#pragma once

#include <string>
#include <utility>
#include <vector>

// How a call ends, whatever the transport: the gRPC adapter turns it into a grpc::Status and
// trailing metadata; an HTTP face maps the same codes to HTTP statuses.
namespace jobgw::server {

// gRPC's canonical status codes, with gRPC's numbers (the gRPC adapter casts).
enum class StatusCode {
  kOk = 0,
  kCancelled = 1,
  kUnknown = 2,
  kInvalidArgument = 3,
  kDeadlineExceeded = 4,
  kNotFound = 5,
  kAlreadyExists = 6,
  kPermissionDenied = 7,
  kResourceExhausted = 8,
  kFailedPrecondition = 9,
  kAborted = 10,
  kOutOfRange = 11,
  kUnimplemented = 12,
  kInternal = 13,
  kUnavailable = 14,
  kDataLoss = 15,
  kUnauthenticated = 16,
};

// "OK", "INVALID_ARGUMENT", ... as gRPC names the codes (metrics, logs, audit lines).
const char* code_name(StatusCode code);

struct CallStatus {
  StatusCode code = StatusCode::kOk;
  std::string message;
  // Trailing metadata (jobgw-job-code, retry-after-ms, ...), sent with the status.
  std::vector<std::pair<std::string, std::string>> trailers;

  CallStatus() = default;
  CallStatus(StatusCode code, std::string message) : code(code), message(std::move(message)) {}
  bool ok() const { return code == StatusCode::kOk; }
};

}  // namespace jobgw::server
