#include "core/security/audit_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "tests/support/temp_dir.h"

namespace jobgw::core {
namespace {

AuditRecord sample() {
  AuditRecord r;
  r.wall_ms = 1764000000123;  // 2025-11-24T16:00:00.123Z
  r.caller = "deployer";
  r.job_operator = "svc-deploy";
  r.scope = "biz:1";
  r.rpc = "ExecuteScript";
  r.target_count = 3;
  r.script_sha256 = sha256_hex("echo hi\n");
  r.request_id = "req-1";
  r.job_instance_id = 10001;
  r.code = "OK";
  return r;
}

TEST(AuditLine, OneJsonObjectWithEveryFieldInOrder) {
  const std::string line = audit_line(sample());
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line,
            R"({"time":"2025-11-24T16:00:00.123Z","caller":"deployer","operator":"svc-deploy",)"
            R"("scope":"biz:1","rpc":"ExecuteScript","target_count":3,"script_sha256":")" +
                sha256_hex("echo hi\n") +
                R"(","request_id":"req-1","job_instance_id":10001,"outcome":"OK","reason":""})");
}

TEST(AuditLine, Sha256IsTheStandardDigest) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(AuditLine, BytesThatAreNotUtf8StillMakeALine) {
  AuditRecord r = sample();
  r.request_id = std::string("bad\xff\xfe", 5);
  r.reason = "refused \"quoted\"\nsecond line";
  auto j = nlohmann::json::parse(audit_line(r), nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["reason"], "refused \"quoted\"\nsecond line");
}

TEST(AuditLog, AppendsOneLinePerRecordToItsFile) {
  jobgw::testing::TempDir dir("audit-test");
  const std::string path = dir.file("audit.log");
  {
    auto log = AuditLog::open(path);
    ASSERT_TRUE(log.ok()) << log.error().message;
    log.value()->write(sample());
    AuditRecord refused = sample();
    refused.code = "PERMISSION_DENIED";
    refused.reason = "caller ci may not execute";
    log.value()->write(refused);
  }
  std::ifstream in(path);
  std::string first, second, third;
  ASSERT_TRUE(std::getline(in, first));
  ASSERT_TRUE(std::getline(in, second));
  EXPECT_FALSE(std::getline(in, third));
  EXPECT_EQ(first, audit_line(sample()));
  EXPECT_EQ(nlohmann::json::parse(second)["outcome"], "PERMISSION_DENIED");
}

TEST(AuditLog, AnUnwritablePathIsAnErrorNamingIt) {
  jobgw::testing::TempDir dir("audit-test");
  // A regular file where a directory should be: no directory can be created under it (spdlog
  // creates missing ones), not even by root.
  std::ofstream(dir.file("plain")) << "x";
  const std::string path = dir.file("plain/audit.log");
  auto log = AuditLog::open(path);
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find("audit.path"), std::string::npos);
  EXPECT_NE(log.error().message.find(path), std::string::npos);
}

TEST(AuditLog, DashMeansTheMainLog) {
  auto log = AuditLog::open("-");
  ASSERT_TRUE(log.ok());
  EXPECT_EQ(log.value()->where(), "<main log>");
}

}  // namespace
}  // namespace jobgw::core
