// Inputs the simdjson-based decoders could treat differently from the nlohmann-based ones they
// replaced: each must decode (or fail, naming the field) exactly as before.
#include <gtest/gtest.h>

#include <string>

#include "core/job/job_codec.h"

namespace jobgw::core {
namespace {

std::string status_body(const std::string& job_instance_fields, const std::string& extra = "") {
  return R"({"result":true,"code":0,"request_id":"rq","data":{"finished":false,)" + extra +
         R"("job_instance":{)" + job_instance_fields + "}}}";
}

std::string error_of(const std::string& body) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(200, body);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.error().kind, ErrorKind::kDecode) << body;
  return r.error().message;
}

TEST(JobCodecDecodeEdges, IntegersBeyond64BitsAreNumbersButNotIntegers) {
  EXPECT_EQ(error_of(status_body(R"("job_instance_id":123456789012345678901234567890)")),
            "data.job_instance.job_instance_id: expected integer, got number");
  EXPECT_EQ(error_of(status_body(R"("job_instance_id":-9223372036854775809)")),
            "data.job_instance.job_instance_id: expected integer, got number");
  EXPECT_EQ(error_of(status_body(R"("job_instance_id":9223372036854775808)")),
            "data.job_instance.job_instance_id: expected integer, got number");
  EXPECT_EQ(error_of(status_body(R"("bk_scope_id":123456789012345678901234567890)")),
            "data.job_instance.bk_scope_id: expected string or integer, got number");
  EXPECT_EQ(error_of(status_body(R"("status":1.0)")),
            "data.job_instance.status: expected integer, got number");
  // Unknown fields with such numbers are ignored like any other.
  Result<JobSnapshot> r = JobCodec::decode_job_status(
      200, status_body(R"("job_instance_id":5,"trace":123456789012345678901234567890)",
                       R"("huge":[-123456789012345678901234567890, 1e300],)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 5);
}

TEST(JobCodecDecodeEdges, IdStringsKeepEveryIntegerDigit) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(
      200, status_body(R"("job_instance_id":1,"bk_scope_id":18446744073709551615)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->scope.id, "18446744073709551615");
  r = JobCodec::decode_job_status(200, status_body(R"("job_instance_id":1,"bk_biz_id":-3)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->scope.id, "-3");
}

TEST(JobCodecDecodeEdges, ARepeatedKeyReadsAsItsLastOccurrence) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(
      200,
      status_body(R"("job_instance_id":1,"status":2,"job_instance_id":3,"status":"x","status":4)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 3);
  EXPECT_EQ(r->status, 4);
  // The same in an object too large for JsonFields' index (more than 16 fields).
  std::string many;
  for (int i = 0; i < 40; ++i)
    many += "\"unknown" + std::to_string(i) + "\":" + std::to_string(i) + ",";
  r = JobCodec::decode_job_status(
      200, status_body(R"("job_instance_id":1,)" + many + R"("name":"a","job_instance_id":9)"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 9);
  EXPECT_EQ(r->name, "a");
  EXPECT_EQ(error_of(status_body(many + R"("job_instance_id":1,"status":true)")),
            "data.job_instance.status: expected integer, got boolean");
}

TEST(JobCodecDecodeEdges, InvalidUtf8AndBadEscapesAreNotJson) {
  const std::string bodies[] = {
      status_body("\"name\":\"caf\xc3\"", ""),
      status_body("\"name\":\"\xff\xfe\"", ""),
      status_body("\"name\":\"\xed\xa0\x80\"", ""),  // a UTF-16 surrogate written as UTF-8
      status_body(R"("name":"\ud800")"),
      status_body(R"("name":"\udc00x")"),
      status_body("\"name\":\"tab\there\""),
  };
  for (const std::string& body : bodies) {
    EXPECT_NE(error_of(body).find("not JSON"), std::string::npos) << body;
  }
  Result<JobSnapshot> r =
      JobCodec::decode_job_status(200, status_body(R"("name":"caf\u00e9 \ud83d\ude00 \u0000")"));
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->name, std::string("caf\xc3\xa9 \xf0\x9f\x98\x80 \0", 12));
}

TEST(JobCodecDecodeEdges, ByteOrderMarkAndDeepNestingDecodeAsBefore) {
  Result<JobSnapshot> bom =
      JobCodec::decode_job_status(200, "\xEF\xBB\xBF" + status_body(R"("job_instance_id":2)"));
  ASSERT_TRUE(bom.ok()) << bom.error().describe();
  EXPECT_EQ(bom->job_instance_id, 2);
  const std::string deep = std::string(5000, '[') + std::string(5000, ']');
  Result<JobSnapshot> nested = JobCodec::decode_job_status(
      200, status_body(R"("job_instance_id":2)", "\"x\":" + deep + ","));
  ASSERT_TRUE(nested.ok()) << nested.error().describe();
  EXPECT_EQ(nested->job_instance_id, 2);
  EXPECT_NE(error_of(std::string(100000, '[')).find("not JSON"), std::string::npos);
  EXPECT_EQ(error_of(status_body(R"("status":)" + deep)),
            "data.job_instance.status: expected integer, got array");
}

TEST(JobCodecDecodeEdges, EveryTruncationIsADecodeError) {
  const std::string body = status_body(
      R"("job_instance_id":2,"name":"n\"x","status":3)",
      R"("step_instance_list":[{"step_instance_id":1,"step_ip_result_list":[{"bk_host_id":1}]}],)");
  ASSERT_TRUE(JobCodec::decode_job_status(200, body).ok());
  for (std::size_t n = 0; n < body.size(); ++n) {
    Result<JobSnapshot> r = JobCodec::decode_job_status(200, body.substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.error().kind, ErrorKind::kDecode) << n;
  }
  // nlohmann, the decoders' first parser, reads a NUL byte as the end of the text.
  EXPECT_EQ(error_of(body + std::string("\0garbage", 8)), "ok");
  EXPECT_NE(error_of(body.substr(0, 20) + std::string("\0", 1) + body.substr(20)).find("not JSON"),
            std::string::npos);
  EXPECT_NE(error_of(body + "{}").find("not JSON"), std::string::npos);
}

TEST(JobCodecDecodeEdges, NonObjectStepsAndHostsNameTheirPath) {
  EXPECT_EQ(error_of(status_body(R"("job_instance_id":2)", R"("step_instance_list":[{},{},"x"],)")),
            "data.step_instance_list[2]: expected object, got string");
  EXPECT_EQ(
      error_of(status_body(R"("job_instance_id":2)",
                           R"("step_instance_list":[{"step_ip_result_list":[{},{"tag":7}]}],)")),
      "data.step_instance_list[0].step_ip_result_list[1].tag: expected string, got number");
}

// A status answer too big for the thread's reusable parser, then small ones on the same thread.
TEST(JobCodecDecodeEdges, HugeAnswersDecodeAndLeaveTheThreadParserUsable) {
  std::string hosts;
  for (int i = 0; i < 40000; ++i) {
    if (i > 0) hosts += ',';
    hosts +=
        R"({"bk_host_id":)" + std::to_string(1000 + i) +
        R"(,"ip":"192.0.2.1","bk_cloud_id":0,"status":9,"tag":"some tag text","exit_code":0,)"
        R"("error_code":0,"start_time":1605064271005,"end_time":1605064272006,"total_time":1001})";
  }
  const std::string huge = status_body(
      R"("job_instance_id":2)",
      R"("step_instance_list":[{"step_instance_id":1,"step_ip_result_list":[)" + hosts + "]}],");
  ASSERT_GT(huge.size(), 4u << 20);
  for (int round = 0; round < 2; ++round) {
    Result<JobSnapshot> big = JobCodec::decode_job_status(200, huge);
    ASSERT_TRUE(big.ok()) << big.error().describe();
    ASSERT_EQ(big->steps.size(), 1u);
    ASSERT_EQ(big->steps[0].hosts.size(), 40000u);
    EXPECT_EQ(big->steps[0].hosts[39999].host.host_id, 40999);
    Result<JobSnapshot> small =
        JobCodec::decode_job_status(200, status_body(R"("job_instance_id":3)"));
    ASSERT_TRUE(small.ok()) << small.error().describe();
    EXPECT_EQ(small->job_instance_id, 3);
  }
}

}  // namespace
}  // namespace jobgw::core
