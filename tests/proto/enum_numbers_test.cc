// Enum numbers must equal JOB's codes (docs/JOB_API.md "Statuses"), so statuses need no
// translation and an unknown future code passes through untouched.

#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "jobgw/v1/job_gateway.pb.h"

namespace {

using google::protobuf::EnumDescriptor;
using NameToNumber = std::map<std::string, int>;

NameToNumber ValuesOf(const EnumDescriptor* e) {
  NameToNumber out;
  for (int i = 0; i < e->value_count(); ++i) out[e->value(i)->name()] = e->value(i)->number();
  return out;
}

std::set<int> NumbersOf(const EnumDescriptor* e) {
  std::set<int> out;
  for (int i = 0; i < e->value_count(); ++i) out.insert(e->value(i)->number());
  return out;
}

TEST(EnumNumbers, JobStatusEqualsJobCodes) {
  const NameToNumber expected = {
      {"JOB_STATUS_UNSPECIFIED", 0},
      {"JOB_STATUS_PENDING", 1},
      {"JOB_STATUS_RUNNING", 2},
      {"JOB_STATUS_SUCCESS", 3},
      {"JOB_STATUS_FAILED", 4},
      {"JOB_STATUS_SKIPPED", 5},
      {"JOB_STATUS_IGNORED_ERROR", 6},
      {"JOB_STATUS_WAITING_USER", 7},
      {"JOB_STATUS_TERMINATED", 8},
      {"JOB_STATUS_ABNORMAL", 9},
      {"JOB_STATUS_TERMINATING", 10},
      {"JOB_STATUS_TERMINATE_SUCCEEDED", 11},
      {"JOB_STATUS_TERMINATION_CONFIRMED", 13},
      {"JOB_STATUS_ABANDONED", 14},
      {"JOB_STATUS_ROLLING_WAITING", 15},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::JobStatus_descriptor()), expected);
  // The generated constants themselves (what server code uses).
  EXPECT_EQ(jobgw::v1::JOB_STATUS_PENDING, 1);
  EXPECT_EQ(jobgw::v1::JOB_STATUS_SUCCESS, 3);
  EXPECT_EQ(jobgw::v1::JOB_STATUS_TERMINATED, 8);
  EXPECT_EQ(jobgw::v1::JOB_STATUS_TERMINATION_CONFIRMED, 13);
  EXPECT_EQ(jobgw::v1::JOB_STATUS_ROLLING_WAITING, 15);
}

TEST(EnumNumbers, HostStatusHasEveryJobCode) {
  // Every per-host code docs/JOB_API.md lists, and nothing else.
  const std::set<int> job_codes = {0,   1,   2,   3,   5,   7,   9,   11,  12,  13,  15,
                                   16,  17,  18,  101, 102, 103, 104, 202, 203, 301, 303,
                                   310, 311, 312, 320, 321, 329, 399, 403, 404, 500};
  EXPECT_EQ(NumbersOf(jobgw::v1::HostStatus_descriptor()), job_codes);
  // Value 0 is JOB's "unknown error", not a proto "unset" placeholder.
  EXPECT_EQ(jobgw::v1::HOST_STATUS_UNKNOWN_ERROR, 0);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_WAITING, 5);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_RUNNING, 7);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_SUCCESS, 9);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_FAILED, 11);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_NONZERO_EXIT_CODE, 104);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_AGENT_ABNORMAL, 310);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_FILE_ERROR_UNCLASSIFIED, 301);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_FILE_ERROR, 320);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_TERMINATED, 403);
  EXPECT_EQ(jobgw::v1::HOST_STATUS_UNKNOWN, 500);
}

TEST(EnumNumbers, ScriptLanguageEqualsJobCodes) {
  const NameToNumber expected = {
      {"SCRIPT_LANGUAGE_UNSPECIFIED", 0}, {"SCRIPT_LANGUAGE_SHELL", 1},
      {"SCRIPT_LANGUAGE_BAT", 2},         {"SCRIPT_LANGUAGE_PERL", 3},
      {"SCRIPT_LANGUAGE_PYTHON", 4},      {"SCRIPT_LANGUAGE_POWERSHELL", 5},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::ScriptLanguage_descriptor()), expected);
}

TEST(EnumNumbers, TransferModeEqualsJobCodes) {
  const NameToNumber expected = {
      {"TRANSFER_MODE_UNSPECIFIED", 0},
      {"TRANSFER_MODE_STRICT", 1},
      {"TRANSFER_MODE_FORCE", 2},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::TransferMode_descriptor()), expected);
}

TEST(EnumNumbers, StepTypeEqualsJobCodes) {
  const NameToNumber expected = {
      {"STEP_TYPE_UNSPECIFIED", 0},  {"STEP_TYPE_SCRIPT", 1}, {"STEP_TYPE_FILE", 2},
      {"STEP_TYPE_CONFIRMATION", 3}, {"STEP_TYPE_SQL", 4},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::StepType_descriptor()), expected);
}

TEST(EnumNumbers, LogTypeEqualsJobCodes) {
  const NameToNumber expected = {
      {"LOG_TYPE_UNSPECIFIED", 0},
      {"LOG_TYPE_SCRIPT", 1},
      {"LOG_TYPE_FILE", 2},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::LogType_descriptor()), expected);
}

TEST(EnumNumbers, FileLogModeEqualsJobCodes) {
  // JOB: 0 = upload (source side), 1 = download (target side).
  const NameToNumber expected = {
      {"FILE_LOG_MODE_UPLOAD", 0},
      {"FILE_LOG_MODE_DOWNLOAD", 1},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::FileLogMode_descriptor()), expected);
}

TEST(EnumNumbers, FileLogStatusEqualsJobCodes) {
  const NameToNumber expected = {
      {"FILE_LOG_STATUS_UNSPECIFIED", 0}, {"FILE_LOG_STATUS_WAITING", 1},
      {"FILE_LOG_STATUS_UPLOADING", 2},   {"FILE_LOG_STATUS_DOWNLOADING", 3},
      {"FILE_LOG_STATUS_SUCCESS", 4},     {"FILE_LOG_STATUS_FAILED", 5},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::FileLogStatus_descriptor()), expected);
}

TEST(EnumNumbers, EventKind) {
  const NameToNumber expected = {
      {"EVENT_KIND_UNSPECIFIED", 0},       {"EVENT_KIND_SNAPSHOT", 1},
      {"EVENT_KIND_JOB_CHANGED", 2},       {"EVENT_KIND_STEP_CHANGED", 3},
      {"EVENT_KIND_HOST_CHANGED", 4},      {"EVENT_KIND_FINISHED", 5},
      {"EVENT_KIND_JOB_UNREACHABLE", 6},   {"EVENT_KIND_JOB_REACHABLE", 7},
      {"EVENT_KIND_STEP_WAITING_USER", 8},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::EventKind_descriptor()), expected);
}

TEST(EnumNumbers, JobStateFilterAndLogEventKind) {
  const NameToNumber filters = {
      {"JOB_STATE_FILTER_UNSPECIFIED", 0},
      {"JOB_STATE_FILTER_RUNNING", 1},
      {"JOB_STATE_FILTER_FINISHED", 2},
      {"JOB_STATE_FILTER_FAILED", 3},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::JobStateFilter_descriptor()), filters);
  const NameToNumber kinds = {
      {"LOG_EVENT_KIND_UNSPECIFIED", 0},
      {"LOG_EVENT_KIND_TEXT", 1},
      {"LOG_EVENT_KIND_FILE", 2},
      {"LOG_EVENT_KIND_HOST_END", 3},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::LogEventKind_descriptor()), kinds);
}

TEST(EnumNumbers, WatchDetail) {
  const NameToNumber expected = {
      {"WATCH_DETAIL_UNSPECIFIED", 0},
      {"WATCH_DETAIL_HOSTS", 1},
      {"WATCH_DETAIL_PROGRESS", 2},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::WatchDetail_descriptor()), expected);
}

TEST(EnumNumbers, JobPlanEnumsAreJobsCodes) {
  const NameToNumber types = {
      {"GLOBAL_VAR_TYPE_UNSPECIFIED", 0}, {"GLOBAL_VAR_TYPE_STRING", 1},
      {"GLOBAL_VAR_TYPE_NAMESPACE", 2},   {"GLOBAL_VAR_TYPE_HOST_LIST", 3},
      {"GLOBAL_VAR_TYPE_PASSWORD", 4},    {"GLOBAL_VAR_TYPE_ASSOC_ARRAY", 5},
      {"GLOBAL_VAR_TYPE_INDEX_ARRAY", 6},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::GlobalVarType_descriptor()), types);
  const NameToNumber operations = {
      {"STEP_OPERATION_UNSPECIFIED", 0},
      {"STEP_OPERATION_RETRY_FAILED", 2},
      {"STEP_OPERATION_IGNORE_ERROR", 3},
      {"STEP_OPERATION_CONFIRM", 6},
      {"STEP_OPERATION_RETRY_ALL", 8},
      {"STEP_OPERATION_TERMINATE_CONFIRMATION", 9},
      {"STEP_OPERATION_REINITIATE_CONFIRMATION", 10},
      {"STEP_OPERATION_NEXT_STEP", 11},
      {"STEP_OPERATION_SKIP", 12},
  };
  EXPECT_EQ(ValuesOf(jobgw::v1::StepOperation_descriptor()), operations);
  const NameToNumber log_hosts = {
      {"LOG_VAR_HOSTS_UNSPECIFIED", 0}, {"LOG_VAR_HOSTS_FIRST", 1}, {"LOG_VAR_HOSTS_ALL", 2}};
  EXPECT_EQ(ValuesOf(jobgw::v1::LogVarHosts_descriptor()), log_hosts);
}

TEST(EnumNumbers, AllEnumsAreOpen) {
  // proto3 enums are open: unknown numbers are kept, never mapped to 0 or dropped.
  const auto* file = jobgw::v1::JobSnapshot::descriptor()->file();
  ASSERT_EQ(file->syntax(), google::protobuf::FileDescriptor::SYNTAX_PROTO3);
  EXPECT_EQ(file->enum_type_count(), 15);
}

}  // namespace
