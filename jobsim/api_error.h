#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace jobsim {

// JOB's own error codes (docs/JOB_API.md "Error codes"), as jobsim answers them.
namespace code {
constexpr int64_t kOk = 0;
constexpr int64_t kServiceUnavailable = 1240001;
constexpr int64_t kInternal = 1240002;
constexpr int64_t kBadRequest = 1240003;
constexpr int64_t kNoPermission = 1238001;
constexpr int64_t kMissingParam = 1241001;
constexpr int64_t kIllegalParam = 1241002;
constexpr int64_t kWrongState = 1241003;
constexpr int64_t kMissingNamedParam = 1241004;
constexpr int64_t kIllegalNamedParam = 1241005;
constexpr int64_t kIllegalParamReason = 1241010;
constexpr int64_t kHostListEmpty = 1244001;
constexpr int64_t kHostsInvalid = 1244002;
constexpr int64_t kJobNotFound = 1244006;
constexpr int64_t kStepNotFound = 1244007;
constexpr int64_t kHostVarMissing = 1244008;
constexpr int64_t kHostVarEmpty = 1244009;
constexpr int64_t kPlanNoSteps = 1244011;
constexpr int64_t kPlanNotFound = 1244012;
constexpr int64_t kScriptDisabled = 1244014;
constexpr int64_t kJobTerminating = 1244015;
constexpr int64_t kNotConfirmer = 1244016;
}  // namespace code

// A business error: answered as an envelope with result=false and this code (HTTP 200).
class ApiError : public std::runtime_error {
 public:
  ApiError(int64_t code, const std::string& message) : std::runtime_error(message), code_(code) {}
  int64_t code() const { return code_; }

 private:
  int64_t code_;
};

inline ApiError missing_param(const std::string& name) {
  return ApiError(code::kMissingNamedParam, "Missing parameter: " + name);
}
inline ApiError illegal_param(const std::string& name, const std::string& why) {
  return ApiError(code::kIllegalNamedParam, "Illegal parameter " + name + ": " + why);
}

}  // namespace jobsim
