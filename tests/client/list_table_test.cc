// `jobctl list`'s table, built from JobSummary messages without a server.
#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

#include "client/list_command.h"

namespace jobgw::client {
namespace {

v1::JobSummary job(std::int64_t id, const std::string& name, v1::JobStatus status,
                   std::int64_t start_ms) {
  v1::JobSummary j;
  j.mutable_scope()->set_type("biz");
  j.mutable_scope()->set_id("2");
  j.set_job_instance_id(id);
  j.set_name(name);
  j.set_status(status);
  j.set_start_time_ms(start_ms);
  return j;
}

// A stand-in for the local time zone: the test must not depend on the machine's.
std::string fake_time(std::int64_t ms) { return ms == 0 ? "-" : "t" + std::to_string(ms / 1000); }

TEST(ListTable, OneRowPerJobInTheGivenOrderWithAlignedColumns) {
  auto running = job(10002, "deploy-web", v1::JOB_STATUS_RUNNING, 5000);
  running.mutable_hosts()->set_total(3);
  running.mutable_hosts()->set_running(2);
  running.mutable_hosts()->set_success(1);
  running.set_subscribers(2);
  running.set_caller("ci-bot");
  auto failed = job(9, "", v1::JOB_STATUS_FAILED, 0);
  failed.mutable_hosts()->set_total(12);
  failed.mutable_hosts()->set_failed(2);
  failed.mutable_hosts()->set_success(10);
  auto lines = job_table_lines({running, failed}, fake_time);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "JOB ID  NAME        STATUS   HOSTS      SUBS  CALLER  STARTED");
  EXPECT_EQ(lines[1], "10002   deploy-web  running  1/0/2/3    2     ci-bot  t5");
  EXPECT_EQ(lines[2], "9       -           failed   10/2/0/12  0     -       -");
}

TEST(ListTable, UnknownStatusCodesShowTheirNumber) {
  auto lines = job_table_lines({job(1, "x", static_cast<v1::JobStatus>(77), 1000)}, fake_time);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find(" 77 "), std::string::npos) << lines[1];
}

TEST(ListTable, LongNamesAreCutOnCharacterBoundaries) {
  // 50 three-byte characters: cut to 37 of them plus "...", never inside one.
  std::string wide;
  for (int i = 0; i < 50; ++i) wide += "\xe4\xbb\xbb";
  auto long_ascii = std::string(60, 'n');
  auto lines = job_table_lines(
      {job(1, wide, v1::JOB_STATUS_SUCCESS, 0), job(2, long_ascii, v1::JOB_STATUS_SUCCESS, 0)},
      fake_time);
  ASSERT_EQ(lines.size(), 3u);
  std::string cut_wide;
  for (int i = 0; i < 37; ++i) cut_wide += "\xe4\xbb\xbb";
  EXPECT_EQ(lines[1].substr(0, 8 + cut_wide.size() + 3), "1       " + cut_wide + "...");
  EXPECT_EQ(lines[2].substr(0, 8 + 40), "2       " + std::string(37, 'n') + "...");
  // Both names take 40 columns: STATUS starts at the same column in both rows (counted in
  // characters, not bytes).
  auto column_of_status = [](const std::string& line) {
    std::size_t chars = 0;
    for (std::size_t i = 0; i < line.find("success"); ++i) {
      if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++chars;
    }
    return chars;
  };
  EXPECT_EQ(column_of_status(lines[1]), column_of_status(lines[2]));
  EXPECT_EQ(column_of_status(lines[2]), 8u + 40u + 2u);
}

TEST(ListTable, NoJobsIsJustTheHeader) {
  auto lines = job_table_lines({}, fake_time);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0], "JOB ID  NAME  STATUS  HOSTS  SUBS  CALLER  STARTED");
}

class LocalTime : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tz = std::getenv("TZ");
    had_tz_ = tz != nullptr;
    if (had_tz_) old_tz_ = tz;
  }
  void TearDown() override {
    if (had_tz_) {
      ::setenv("TZ", old_tz_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  static void use_tz(const char* tz) {
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  bool had_tz_ = false;
  std::string old_tz_;
};

TEST_F(LocalTime, FormatsInTheLocalZone) {
  use_tz("UTC0");
  EXPECT_EQ(local_time_text(1714566896789), "2024-05-01 12:34:56");
  // POSIX TZ: "XXX-8" is eight hours east of UTC.
  use_tz("XXX-8");
  EXPECT_EQ(local_time_text(1714566896789), "2024-05-01 20:34:56");
}

TEST_F(LocalTime, ZeroIsNotStarted) {
  use_tz("UTC0");
  EXPECT_EQ(local_time_text(0), "-");
}

}  // namespace
}  // namespace jobgw::client
