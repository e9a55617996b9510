#include "client/status_names.h"

#include <cctype>
#include <string_view>

#include "jobgw/v1/job_gateway.pb.h"

namespace jobgw::client {
namespace {

std::string strip_and_lower(const std::string& name, std::string_view prefix, int code) {
  if (name.empty() || name.compare(0, prefix.size(), prefix) != 0) return std::to_string(code);
  std::string out = name.substr(prefix.size());
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

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
    case 3:
    case 4:
    case 5:
    case 6:
    case 8:
    case 9:
    case 11:
    case 13:
    case 14:
      return true;
    default:
      return false;
  }
}

bool host_status_final(int code) { return code != 5 && code != 7; }

}  // namespace jobgw::client
