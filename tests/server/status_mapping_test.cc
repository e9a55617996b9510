#include "server/status_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Code = StatusCode;

core::Error job_error(std::int64_t code, std::string message = "JOB says no") {
  core::Error e;
  e.kind = core::ErrorKind::kJob;
  e.job_code = code;
  e.message = std::move(message);
  e.request_id = "req-" + std::to_string(code);
  e.http_status = 200;
  return e;
}

core::Error http_error(int status) {
  core::Error e;
  e.kind = core::ErrorKind::kHttp;
  e.http_status = status;
  e.message = "JOB answered HTTP " + std::to_string(status);
  return e;
}

core::Error of_kind(core::ErrorKind kind, std::string message = "m") {
  core::Error e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

std::map<std::string, std::string> trailers(const CallStatus& m) {
  return std::map<std::string, std::string>(m.trailers.begin(), m.trailers.end());
}

struct JobCodeRow {
  std::int64_t job_code;
  Code code;
};

class JobCodeTable : public ::testing::TestWithParam<JobCodeRow> {};

TEST_P(JobCodeTable, MapsPerJobApiTable) {
  const JobCodeRow row = GetParam();
  EXPECT_EQ(status_code_for_job_code(row.job_code), row.code);
  CallStatus m = map_error(job_error(row.job_code));
  EXPECT_EQ(m.code, row.code);
  EXPECT_THAT(m.message, StartsWith("JOB: JOB says no"));
  EXPECT_THAT(m.message, HasSubstr(std::to_string(row.job_code)));
  auto t = trailers(m);
  EXPECT_EQ(t[kJobCodeTrailer], std::to_string(row.job_code));
  EXPECT_EQ(t[kJobRequestIdTrailer], "req-" + std::to_string(row.job_code));
  EXPECT_EQ(t[kHttpStatusTrailer], "200");
  EXPECT_EQ(t.count(kRetryAfterTrailer), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllRows, JobCodeTable,
    ::testing::Values(
        JobCodeRow{1240001, Code::kUnavailable}, JobCodeRow{1240002, Code::kInternal},
        JobCodeRow{1240003, Code::kInvalidArgument}, JobCodeRow{1241001, Code::kInvalidArgument},
        JobCodeRow{1241004, Code::kInvalidArgument}, JobCodeRow{1241002, Code::kInvalidArgument},
        JobCodeRow{1241005, Code::kInvalidArgument}, JobCodeRow{1241010, Code::kInvalidArgument},
        JobCodeRow{1241014, Code::kInvalidArgument}, JobCodeRow{1244001, Code::kInvalidArgument},
        JobCodeRow{1238001, Code::kPermissionDenied}, JobCodeRow{9900403, Code::kPermissionDenied},
        JobCodeRow{1244004, Code::kPermissionDenied},
        JobCodeRow{1244002, Code::kFailedPrecondition}, JobCodeRow{1244003, Code::kNotFound},
        JobCodeRow{1244006, Code::kNotFound}, JobCodeRow{1244007, Code::kNotFound},
        JobCodeRow{1244015, Code::kFailedPrecondition},
        JobCodeRow{1244032, Code::kResourceExhausted},
        JobCodeRow{1244033, Code::kResourceExhausted},
        JobCodeRow{1244034, Code::kResourceExhausted}, JobCodeRow{1244035, Code::kUnknown},
        JobCodeRow{1244031, Code::kUnknown}, JobCodeRow{1, Code::kUnknown},
        JobCodeRow{9999999, Code::kUnknown}));

TEST(StatusMapping, JobErrorWithoutCodeIsUnknownWithoutCodeTrailer) {
  core::Error e = job_error(0, "");
  e.request_id.clear();
  e.http_status = 0;
  CallStatus m = map_error(e);
  EXPECT_EQ(m.code, Code::kUnknown);
  EXPECT_THAT(m.message, StartsWith("JOB: "));
  EXPECT_TRUE(m.trailers.empty());
}

struct HttpRow {
  int http;
  Code code;
  const char* fragment;
};

class HttpTable : public ::testing::TestWithParam<HttpRow> {};

TEST_P(HttpTable, Maps) {
  const HttpRow row = GetParam();
  CallStatus m = map_error(http_error(row.http));
  EXPECT_EQ(m.code, row.code) << row.http;
  EXPECT_THAT(m.message, StartsWith("JOB: "));
  EXPECT_THAT(m.message, HasSubstr(row.fragment));
  EXPECT_THAT(m.message, HasSubstr("HTTP " + std::to_string(row.http)));
  auto t = trailers(m);
  EXPECT_EQ(t[kHttpStatusTrailer], std::to_string(row.http));
  EXPECT_EQ(t.count(kJobCodeTrailer), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllRows, HttpTable,
                         ::testing::Values(HttpRow{429, Code::kResourceExhausted, "rate limited"},
                                           HttpRow{500, Code::kUnavailable, "unavailable"},
                                           HttpRow{502, Code::kUnavailable, "unavailable"},
                                           HttpRow{503, Code::kUnavailable, "unavailable"},
                                           HttpRow{504, Code::kUnavailable, "unavailable"},
                                           HttpRow{401, Code::kInternal, "app credentials"},
                                           HttpRow{403, Code::kPermissionDenied,
                                                   "operator must grant"},
                                           HttpRow{404, Code::kInternal, "misconfigured"},
                                           HttpRow{400, Code::kInternal, "unexpected"},
                                           HttpRow{302, Code::kInternal, "unexpected"}));

TEST(StatusMapping, RetryAfterTrailer) {
  core::Error e = http_error(429);
  e.retry_after = std::chrono::milliseconds(2500);
  auto t = trailers(map_error(e));
  EXPECT_EQ(t[kRetryAfterTrailer], "2500");
}

TEST(StatusMapping, Kinds) {
  struct Row {
    core::ErrorKind kind;
    Code code;
    const char* prefix;
  };
  const Row rows[] = {
      {core::ErrorKind::kInvalidArgument, Code::kInvalidArgument, "targets: bad"},
      {core::ErrorKind::kTransport, Code::kUnavailable, "JOB: cannot reach JOB"},
      {core::ErrorKind::kTimeout, Code::kDeadlineExceeded, "JOB: no answer"},
      {core::ErrorKind::kDecode, Code::kInternal, "JOB: JOB answered an unexpected body"},
      {core::ErrorKind::kCancelled, Code::kCancelled, "cancelled"},
      {core::ErrorKind::kInternal, Code::kInternal, "jobgw internal error"},
      {core::ErrorKind::kFailedPrecondition, Code::kFailedPrecondition, "JOB: targets: bad"},
      {core::ErrorKind::kNotFound, Code::kNotFound, "targets: bad"},
  };
  for (const auto& row : rows) {
    CallStatus m = map_error(of_kind(row.kind, "targets: bad"));
    EXPECT_EQ(m.code, row.code) << core::to_string(row.kind);
    EXPECT_THAT(m.message, StartsWith(row.prefix)) << core::to_string(row.kind);
    EXPECT_THAT(m.message, HasSubstr("targets: bad"));
    EXPECT_TRUE(m.trailers.empty());
  }
}

TEST(StatusMapping, TerminatingAFinishedJobIsAFailedPreconditionWithItsJobCode) {
  core::Error e = job_error(1241010, "job already finished");
  e.kind = core::ErrorKind::kFailedPrecondition;
  CallStatus m = map_error(e);
  EXPECT_EQ(m.code, Code::kFailedPrecondition);
  EXPECT_EQ(m.message, "JOB: job already finished (JOB code 1241010)");
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1241010");
  // Any other API's 1241010 is still an illegal parameter.
  EXPECT_EQ(map_error(job_error(1241010)).code, Code::kInvalidArgument);
}

TEST(StatusMapping, ValidationMessageUnchanged) {
  CallStatus m = map_error(core::Error::invalid_argument("scope.id: is required"));
  EXPECT_EQ(m.message, "scope.id: is required");
}

TEST(StatusMapping, TransportCarriesTrailersWhenSet) {
  core::Error e = of_kind(core::ErrorKind::kTransport, "connect refused");
  e.transport_cause = "ECONNREFUSED";
  e.request_id = "abc";
  auto t = trailers(map_error(e));
  EXPECT_EQ(t[kJobRequestIdTrailer], "abc");
  EXPECT_EQ(t.size(), 1u);
}

TEST(StatusMapping, RequestIdMadePrintable) {
  core::Error e = job_error(1244006);
  e.request_id = "ab\r\ncd\x01";
  auto t = trailers(map_error(e));
  EXPECT_EQ(t[kJobRequestIdTrailer], "abcd");
}

TEST(StreamEnd, ShutdownIsUnavailable) {
  CallStatus m = map_stream_end(of_kind(core::ErrorKind::kCancelled, "jobgw is shutting down"));
  EXPECT_EQ(m.code, Code::kUnavailable);
  EXPECT_EQ(m.message, "jobgw is shutting down; reconnect with after_seq");
}

TEST(StreamEnd, GiveUpIsDeadlineExceeded) {
  core::Error e = of_kind(core::ErrorKind::kTimeout, "gave up on job 5 after 600 s");
  e.job_code = 1240001;
  CallStatus m = map_stream_end(e);
  EXPECT_EQ(m.code, Code::kDeadlineExceeded);
  EXPECT_THAT(m.message, HasSubstr("gave up"));
  EXPECT_THAT(m.message, HasSubstr("after_seq"));
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1240001");
}

TEST(StreamEnd, JobErrorAsUnary) {
  CallStatus m = map_stream_end(job_error(1244006));
  EXPECT_EQ(m.code, Code::kNotFound);
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1244006");
}

TEST(StatusCodeName, Names) {
  EXPECT_STREQ(code_name(Code::kOk), "OK");
  EXPECT_STREQ(code_name(Code::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_STREQ(code_name(Code::kNotFound), "NOT_FOUND");
  EXPECT_STREQ(code_name(Code::kResourceExhausted), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(code_name(Code::kUnavailable), "UNAVAILABLE");
  EXPECT_STREQ(code_name(Code::kDeadlineExceeded), "DEADLINE_EXCEEDED");
  EXPECT_STREQ(code_name(Code::kCancelled), "CANCELLED");
  EXPECT_STREQ(code_name(Code::kPermissionDenied), "PERMISSION_DENIED");
  EXPECT_STREQ(code_name(Code::kFailedPrecondition), "FAILED_PRECONDITION");
  EXPECT_STREQ(code_name(Code::kUnauthenticated), "UNAUTHENTICATED");
  EXPECT_STREQ(code_name(Code::kInternal), "INTERNAL");
  EXPECT_STREQ(code_name(Code::kUnknown), "UNKNOWN");
}

}  // namespace
}  // namespace jobgw::server
