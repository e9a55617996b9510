#include "server/status_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "api/status_names.h"

namespace jobgw::server {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using Code = grpc::StatusCode;

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

std::map<std::string, std::string> trailers(const MappedStatus& m) {
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
  MappedStatus m = map_error(job_error(row.job_code));
  EXPECT_EQ(m.status.error_code(), row.code);
  EXPECT_THAT(m.status.error_message(), StartsWith("JOB: JOB says no"));
  EXPECT_THAT(m.status.error_message(), HasSubstr(std::to_string(row.job_code)));
  auto t = trailers(m);
  EXPECT_EQ(t[kJobCodeTrailer], std::to_string(row.job_code));
  EXPECT_EQ(t[kJobRequestIdTrailer], "req-" + std::to_string(row.job_code));
  EXPECT_EQ(t[kHttpStatusTrailer], "200");
  EXPECT_EQ(t.count(kRetryAfterTrailer), 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllRows, JobCodeTable,
    ::testing::Values(
        JobCodeRow{1240001, Code::UNAVAILABLE}, JobCodeRow{1240002, Code::INTERNAL},
        JobCodeRow{1240003, Code::INVALID_ARGUMENT}, JobCodeRow{1241001, Code::INVALID_ARGUMENT},
        JobCodeRow{1241004, Code::INVALID_ARGUMENT}, JobCodeRow{1241002, Code::INVALID_ARGUMENT},
        JobCodeRow{1241005, Code::INVALID_ARGUMENT}, JobCodeRow{1241010, Code::INVALID_ARGUMENT},
        JobCodeRow{1241014, Code::INVALID_ARGUMENT}, JobCodeRow{1244001, Code::INVALID_ARGUMENT},
        JobCodeRow{1238001, Code::PERMISSION_DENIED}, JobCodeRow{9900403, Code::PERMISSION_DENIED},
        JobCodeRow{1244004, Code::PERMISSION_DENIED},
        JobCodeRow{1244002, Code::FAILED_PRECONDITION}, JobCodeRow{1244003, Code::NOT_FOUND},
        JobCodeRow{1244006, Code::NOT_FOUND}, JobCodeRow{1244007, Code::NOT_FOUND},
        JobCodeRow{1244015, Code::FAILED_PRECONDITION},
        JobCodeRow{1244032, Code::RESOURCE_EXHAUSTED},
        JobCodeRow{1244033, Code::RESOURCE_EXHAUSTED},
        JobCodeRow{1244034, Code::RESOURCE_EXHAUSTED}, JobCodeRow{1244035, Code::UNKNOWN},
        JobCodeRow{1244031, Code::UNKNOWN}, JobCodeRow{1, Code::UNKNOWN},
        JobCodeRow{9999999, Code::UNKNOWN}));

TEST(StatusMapping, JobErrorWithoutCodeIsUnknownWithoutCodeTrailer) {
  core::Error e = job_error(0, "");
  e.request_id.clear();
  e.http_status = 0;
  MappedStatus m = map_error(e);
  EXPECT_EQ(m.status.error_code(), Code::UNKNOWN);
  EXPECT_THAT(m.status.error_message(), StartsWith("JOB: "));
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
  MappedStatus m = map_error(http_error(row.http));
  EXPECT_EQ(m.status.error_code(), row.code) << row.http;
  EXPECT_THAT(m.status.error_message(), StartsWith("JOB: "));
  EXPECT_THAT(m.status.error_message(), HasSubstr(row.fragment));
  EXPECT_THAT(m.status.error_message(), HasSubstr("HTTP " + std::to_string(row.http)));
  auto t = trailers(m);
  EXPECT_EQ(t[kHttpStatusTrailer], std::to_string(row.http));
  EXPECT_EQ(t.count(kJobCodeTrailer), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllRows, HttpTable,
                         ::testing::Values(HttpRow{429, Code::RESOURCE_EXHAUSTED, "rate limited"},
                                           HttpRow{500, Code::UNAVAILABLE, "unavailable"},
                                           HttpRow{502, Code::UNAVAILABLE, "unavailable"},
                                           HttpRow{503, Code::UNAVAILABLE, "unavailable"},
                                           HttpRow{504, Code::UNAVAILABLE, "unavailable"},
                                           HttpRow{401, Code::INTERNAL, "app credentials"},
                                           HttpRow{403, Code::PERMISSION_DENIED,
                                                   "operator must grant"},
                                           HttpRow{404, Code::INTERNAL, "misconfigured"},
                                           HttpRow{400, Code::INTERNAL, "unexpected"},
                                           HttpRow{302, Code::INTERNAL, "unexpected"}));

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
      {core::ErrorKind::kInvalidArgument, Code::INVALID_ARGUMENT, "targets: bad"},
      {core::ErrorKind::kTransport, Code::UNAVAILABLE, "JOB: cannot reach JOB"},
      {core::ErrorKind::kTimeout, Code::DEADLINE_EXCEEDED, "JOB: no answer"},
      {core::ErrorKind::kDecode, Code::INTERNAL, "JOB: JOB answered an unexpected body"},
      {core::ErrorKind::kCancelled, Code::CANCELLED, "cancelled"},
      {core::ErrorKind::kInternal, Code::INTERNAL, "jobgw internal error"},
      {core::ErrorKind::kFailedPrecondition, Code::FAILED_PRECONDITION, "JOB: targets: bad"},
      {core::ErrorKind::kNotFound, Code::NOT_FOUND, "targets: bad"},
  };
  for (const auto& row : rows) {
    MappedStatus m = map_error(of_kind(row.kind, "targets: bad"));
    EXPECT_EQ(m.status.error_code(), row.code) << core::to_string(row.kind);
    EXPECT_THAT(m.status.error_message(), StartsWith(row.prefix)) << core::to_string(row.kind);
    EXPECT_THAT(m.status.error_message(), HasSubstr("targets: bad"));
    EXPECT_TRUE(m.trailers.empty());
  }
}

TEST(StatusMapping, TerminatingAFinishedJobIsAFailedPreconditionWithItsJobCode) {
  core::Error e = job_error(1241010, "job already finished");
  e.kind = core::ErrorKind::kFailedPrecondition;
  MappedStatus m = map_error(e);
  EXPECT_EQ(m.status.error_code(), Code::FAILED_PRECONDITION);
  EXPECT_EQ(m.status.error_message(), "JOB: job already finished (JOB code 1241010)");
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1241010");
  // Any other API's 1241010 is still an illegal parameter.
  EXPECT_EQ(map_error(job_error(1241010)).status.error_code(), Code::INVALID_ARGUMENT);
}

TEST(StatusMapping, ValidationMessageUnchanged) {
  MappedStatus m = map_error(core::Error::invalid_argument("scope.id: is required"));
  EXPECT_EQ(m.status.error_message(), "scope.id: is required");
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
  MappedStatus m = map_stream_end(of_kind(core::ErrorKind::kCancelled, "jobgw is shutting down"));
  EXPECT_EQ(m.status.error_code(), Code::UNAVAILABLE);
  EXPECT_EQ(m.status.error_message(), "jobgw is shutting down; reconnect with after_seq");
}

TEST(StreamEnd, GiveUpIsDeadlineExceeded) {
  core::Error e = of_kind(core::ErrorKind::kTimeout, "gave up on job 5 after 600 s");
  e.job_code = 1240001;
  MappedStatus m = map_stream_end(e);
  EXPECT_EQ(m.status.error_code(), Code::DEADLINE_EXCEEDED);
  EXPECT_THAT(m.status.error_message(), HasSubstr("gave up"));
  EXPECT_THAT(m.status.error_message(), HasSubstr("after_seq"));
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1240001");
}

TEST(StreamEnd, JobErrorAsUnary) {
  MappedStatus m = map_stream_end(job_error(1244006));
  EXPECT_EQ(m.status.error_code(), Code::NOT_FOUND);
  EXPECT_EQ(trailers(m)[kJobCodeTrailer], "1244006");
}

TEST(StatusCodeName, Names) {
  EXPECT_STREQ(api::grpc_code_name(Code::OK), "OK");
  EXPECT_STREQ(api::grpc_code_name(Code::INVALID_ARGUMENT), "INVALID_ARGUMENT");
  EXPECT_STREQ(api::grpc_code_name(Code::NOT_FOUND), "NOT_FOUND");
  EXPECT_STREQ(api::grpc_code_name(Code::RESOURCE_EXHAUSTED), "RESOURCE_EXHAUSTED");
  EXPECT_STREQ(api::grpc_code_name(Code::UNAVAILABLE), "UNAVAILABLE");
  EXPECT_STREQ(api::grpc_code_name(Code::DEADLINE_EXCEEDED), "DEADLINE_EXCEEDED");
  EXPECT_STREQ(api::grpc_code_name(Code::CANCELLED), "CANCELLED");
  EXPECT_STREQ(api::grpc_code_name(Code::PERMISSION_DENIED), "PERMISSION_DENIED");
  EXPECT_STREQ(api::grpc_code_name(Code::FAILED_PRECONDITION), "FAILED_PRECONDITION");
  EXPECT_STREQ(api::grpc_code_name(Code::UNAUTHENTICATED), "UNAUTHENTICATED");
  EXPECT_STREQ(api::grpc_code_name(Code::INTERNAL), "INTERNAL");
  EXPECT_STREQ(api::grpc_code_name(Code::UNKNOWN), "UNKNOWN");
}

}  // namespace
}  // namespace jobgw::server
