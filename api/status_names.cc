#include "api/status_names.h"

#include <cctype>
#include <string_view>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::api {
namespace {

std::string strip_and_lower(const std::string& name, std::string_view prefix, int code) {
  if (name.empty() || name.compare(0, prefix.size(), prefix) != 0) return std::to_string(code);
  std::string out = name.substr(prefix.size());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

const char* grpc_code_name(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

std::string job_status_name(int code) {
  if (!v1::JobStatus_IsValid(code)) return std::to_string(code);
  return strip_and_lower(v1::JobStatus_Name(static_cast<v1::JobStatus>(code)), "JOB_STATUS_", code);
}

std::string host_status_name(int code) {
  if (!v1::HostStatus_IsValid(code)) return std::to_string(code);
  return strip_and_lower(v1::HostStatus_Name(static_cast<v1::HostStatus>(code)), "HOST_STATUS_",
                         code);
}

std::string step_type_name(int code) {
  if (!v1::StepType_IsValid(code)) return std::to_string(code);
  return strip_and_lower(v1::StepType_Name(static_cast<v1::StepType>(code)), "STEP_TYPE_", code);
}

std::string file_log_status_name(int code) {
  if (!v1::FileLogStatus_IsValid(code)) return std::to_string(code);
  return strip_and_lower(v1::FileLogStatus_Name(static_cast<v1::FileLogStatus>(code)),
                         "FILE_LOG_STATUS_", code);
}

bool job_status_terminal(int code) {
  switch (code) {
    case v1::JOB_STATUS_SUCCESS:
    case v1::JOB_STATUS_FAILED:
    case v1::JOB_STATUS_SKIPPED:
    case v1::JOB_STATUS_IGNORED_ERROR:
    case v1::JOB_STATUS_TERMINATED:
    case v1::JOB_STATUS_ABNORMAL:
    case v1::JOB_STATUS_TERMINATE_SUCCEEDED:
    case v1::JOB_STATUS_TERMINATION_CONFIRMED:
    case v1::JOB_STATUS_ABANDONED:
      return true;
    default:
      return false;
  }
}

bool host_status_final(int code) {
  return code != v1::HOST_STATUS_WAITING && code != v1::HOST_STATUS_RUNNING;
}

}  // namespace jobgw::api
