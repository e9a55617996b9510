#pragma once

#include <grpcpp/support/status_code_enum.h>

#include <string>

// What the client and the server share about the public contract (proto/): the names they print
// and label metrics with, and which statuses end a job. Depends on the generated proto code only,
// so the client never depends on core/ or server/.
namespace jobgw::api {

// The canonical gRPC name of a status code ("INVALID_ARGUMENT"); "UNKNOWN" for a code gRPC does
// not define.
const char* grpc_code_name(grpc::StatusCode code);

// Lower-case names derived from the proto enum names without their prefix
// (JOB_STATUS_SUCCESS -> "success", HOST_STATUS_NONZERO_EXIT_CODE -> "nonzero_exit_code").
// A code the enum does not name (JOB may add some) comes back as its number.
std::string job_status_name(int code);
std::string host_status_name(int code);
std::string step_type_name(int code);
std::string file_log_status_name(int code);

// Whether a job (or step) status is terminal: success, failure, skipped, ignored error,
// terminated, abnormal, terminate succeeded, termination confirmed, abandoned.
bool job_status_terminal(int code);
// Host statuses other than waiting and running are final for that host.
bool host_status_final(int code);

}  // namespace jobgw::api
