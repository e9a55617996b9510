#include <gtest/gtest.h>

#include "core/job/job_codec.h"

namespace jobgw::core {
namespace {

// Shaped like docs/JOB_API.md's example, plus fields the doc does not list (must be ignored).
const char* kStatusBody = R"({
  "result": true, "code": 0, "message": "success", "request_id": "d1f3aa", "permission": null,
  "future_field": {"x": 1},
  "data": {
    "finished": true,
    "job_instance": {"job_instance_id": 100, "bk_scope_type": "biz", "bk_scope_id": "1",
      "name": "agent check", "status": 3, "create_time": 1605064271000,
      "start_time": 1605064271001, "end_time": 1605064272000, "total_time": 1000, "extra": "x"},
    "step_instance_list": [
      {"step_instance_id": 75, "type": 1, "name": "run", "status": 3,
       "execute_count": 2, "create_time": 1605064271002, "start_time": 1605064271003,
       "end_time": 1605064272004, "total_time": 999,
       "step_ip_result_list": [
         {"bk_host_id": 101, "ip": "192.0.2.1", "bk_cloud_id": 0, "status": 9,
          "tag": "ok", "exit_code": 0, "error_code": 0,
          "start_time": 1605064271005, "end_time": 1605064272006, "total_time": 1001},
         {"bk_host_id": 102, "ip": "2001:db8::2", "bk_cloud_id": 3, "status": 777,
          "tag": "", "exit_code": 2, "error_code": 5, "ipv6": "2001:db8::2"}]}]}})";

TEST(JobCodecDecode, JobStatusEveryField) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(200, kStatusBody);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  const JobSnapshot& s = *r;
  EXPECT_TRUE(s.finished);
  EXPECT_EQ(s.job_instance_id, 100);
  EXPECT_EQ(s.scope.type, "biz");
  EXPECT_EQ(s.scope.id, "1");
  EXPECT_EQ(s.name, "agent check");
  EXPECT_EQ(s.status, 3);
  EXPECT_EQ(s.create_time_ms, 1605064271000);
  EXPECT_EQ(s.start_time_ms, 1605064271001);
  EXPECT_EQ(s.end_time_ms, 1605064272000);
  EXPECT_EQ(s.total_time_ms, 1000);
  ASSERT_EQ(s.steps.size(), 1u);
  const StepSnapshot& step = s.steps[0];
  EXPECT_EQ(step.step_instance_id, 75);
  EXPECT_EQ(step.type, kStepScript);
  EXPECT_EQ(step.name, "run");
  EXPECT_EQ(step.status, 3);
  EXPECT_EQ(step.execute_count, 2);
  EXPECT_EQ(step.create_time_ms, 1605064271002);
  EXPECT_EQ(step.start_time_ms, 1605064271003);
  EXPECT_EQ(step.end_time_ms, 1605064272004);
  EXPECT_EQ(step.total_time_ms, 999);
  ASSERT_EQ(step.hosts.size(), 2u);
  const HostResult& h = step.hosts[0];
  EXPECT_EQ(h.host.host_id, 101);
  EXPECT_EQ(h.host.ip, "192.0.2.1");
  EXPECT_EQ(h.host.cloud_id, 0);
  EXPECT_EQ(h.status, host_status::kSuccess);
  EXPECT_EQ(h.tag, "ok");
  EXPECT_EQ(h.exit_code, 0);
  EXPECT_EQ(h.error_code, 0);
  EXPECT_EQ(h.start_time_ms, 1605064271005);
  EXPECT_EQ(h.end_time_ms, 1605064272006);
  EXPECT_EQ(h.total_time_ms, 1001);
  // An unknown host status passes through untouched; missing times default to 0.
  EXPECT_EQ(step.hosts[1].status, 777);
  EXPECT_EQ(step.hosts[1].host.cloud_id, 3);
  EXPECT_EQ(step.hosts[1].exit_code, 2);
  EXPECT_EQ(step.hosts[1].error_code, 5);
  EXPECT_EQ(step.hosts[1].start_time_ms, 0);
}

TEST(JobCodecDecode, JobStatusMissingOptionalFieldsGetDefaults) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(200, R"({"result":true,"code":0,
      "data":{"job_instance":{"job_instance_id":5,"bk_biz_id":7},
              "step_instance_list":[{"step_instance_id":6,"step_ip_result_list":null}]}})");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->finished);
  EXPECT_EQ(r->scope.type, "biz");
  EXPECT_EQ(r->scope.id, "7");  // legacy bk_biz_id, a number
  EXPECT_EQ(r->status, 0);
  ASSERT_EQ(r->steps.size(), 1u);
  EXPECT_TRUE(r->steps[0].hosts.empty());
}

TEST(JobCodecDecode, WrongTypeNamesTheField) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(200, R"({"result":true,"code":0,
      "request_id":"rq1","data":{"job_instance":{"job_instance_id":5},
      "step_instance_list":[{"step_instance_id":6,"step_ip_result_list":[
        {"bk_host_id":1,"status":"9"}]}]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kDecode);
  EXPECT_EQ(r.error().request_id, "rq1");
  EXPECT_NE(r.error().message.find("data.step_instance_list[0].step_ip_result_list[0].status"),
            std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find("expected integer, got string"), std::string::npos);
}

TEST(JobCodecDecode, OtherWrongShapes) {
  struct Case {
    const char* body;
    const char* fragment;
  } cases[] = {
      {R"({"result":true,"code":0,"data":{"finished":"yes","job_instance":{}}})",
       "data.finished: expected boolean"},
      {R"({"result":true,"code":0,"data":{"job_instance":[]}})",
       "data.job_instance: expected object"},
      {R"({"result":true,"code":0,"data":{"job_instance":{},"step_instance_list":{}}})",
       "data.step_instance_list: expected array"},
      {R"({"result":true,"code":0,"data":{"job_instance":{},"step_instance_list":[3]}})",
       "data.step_instance_list[0]: expected object"},
      {R"({"result":true,"code":0,"data":{}})", "data.job_instance: missing"},
      {R"({"result":true,"code":0,"data":[1]})", "data: expected object"},
      {R"({"result":true,"code":0})", "data: missing"},
      {R"({"result":"true","code":0,"data":{}})", "result: expected boolean"},
      {R"({"message":"hi"})", "neither `result` nor `code`"},
      {R"([1,2])", "not an object"},
      {R"({"result":true,"code":0,"data":{"job_instance":{"status":99999999999}}})",
       "data.job_instance.status: expected 32-bit integer"},
  };
  for (const Case& c : cases) {
    Result<JobSnapshot> r = JobCodec::decode_job_status(200, c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().kind, ErrorKind::kDecode) << c.body;
    EXPECT_NE(r.error().message.find(c.fragment), std::string::npos)
        << c.body << " -> " << r.error().message;
  }
}

TEST(JobCodecDecode, BusinessErrorCarriesCodeMessageAndRequestId) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(
      200,
      R"({"result":false,"code":1244006,"message":"Job instance not exist","data":null,"request_id":"abc123"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kJob);
  EXPECT_EQ(r.error().job_code, 1244006);
  EXPECT_EQ(r.error().message, "Job instance not exist");
  EXPECT_EQ(r.error().request_id, "abc123");
  EXPECT_EQ(r.error().http_status, 200);
}

TEST(JobCodecDecode, NonJsonAndHtmlBodies) {
  Result<JobRef> truncated = JobCodec::decode_job_ref(200, R"({"result":true,"code":0,"da)");
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.error().kind, ErrorKind::kDecode);
  EXPECT_NE(truncated.error().message.find("not JSON"), std::string::npos);

  Result<JobRef> empty = JobCodec::decode_job_ref(200, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().kind, ErrorKind::kDecode);

  const char* html =
      "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad "
      "Gateway</h1></center>\n</body>\n</html>";
  Result<JobRef> bad_gateway = JobCodec::decode_job_ref(502, html);
  ASSERT_FALSE(bad_gateway.ok());
  EXPECT_EQ(bad_gateway.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(bad_gateway.error().http_status, 502);
  EXPECT_NE(bad_gateway.error().message.find("502 Bad Gateway"), std::string::npos);
  EXPECT_EQ(bad_gateway.error().message.find('\n'), std::string::npos);

  Result<JobRef> html_200 = JobCodec::decode_job_ref(200, html);
  ASSERT_FALSE(html_200.ok());
  EXPECT_EQ(html_200.error().kind, ErrorKind::kDecode);
}

TEST(JobCodecDecode, GatewayJsonErrorOfAnotherShape) {
  Result<JobRef> r = JobCodec::decode_job_ref(
      401,
      R"({"code":1640001,"message":"app code or secret invalid","data":null,"request_id":"gw-9"})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(r.error().http_status, 401);
  EXPECT_EQ(r.error().request_id, "gw-9");
  EXPECT_NE(r.error().message.find("app code or secret invalid"), std::string::npos);
  // A long body is cut so it cannot flood a log line.
  std::string huge(100000, 'x');
  Result<JobRef> big = JobCodec::decode_job_ref(500, huge);
  ASSERT_FALSE(big.ok());
  EXPECT_LT(big.error().message.size(), 300u);
}

TEST(JobCodecDecode, JobRef) {
  Result<JobRef> r = JobCodec::decode_job_ref(200, R"({"result":true,"code":0,"message":"success",
      "data":{"job_instance_id":10000,"job_instance_name":"API Quick execution script1521100521303",
              "step_instance_id":10001,"new":1},"request_id":"r"})");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 10000);
  EXPECT_EQ(r->step_instance_id, 10001);
  EXPECT_EQ(r->job_instance_name, "API Quick execution script1521100521303");
  Result<JobRef> no_id =
      JobCodec::decode_job_ref(200, R"({"result":true,"code":0,"data":{"job_instance_name":"x"}})");
  ASSERT_FALSE(no_id.ok());
  EXPECT_NE(no_id.error().message.find("data.job_instance_id"), std::string::npos);
}

TEST(JobCodecDecode, BatchScriptLogs) {
  Result<IpLogs> r = JobCodec::decode_batch_ip_log(200, R"({"result":true,"code":0,"data":{
      "log_type":1,"job_instance_id":100,"step_instance_id":75,
      "script_task_logs":[{"bk_host_id":101,"ip":"192.0.2.1","bk_cloud_id":0,"log_content":"a\nb"},
                          {"bk_host_id":102,"ip":"192.0.2.2","bk_cloud_id":1,"log_content":""}]}})");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->log_type, kLogScript);
  EXPECT_EQ(r->job_instance_id, 100);
  EXPECT_EQ(r->step_instance_id, 75);
  ASSERT_EQ(r->script_logs.size(), 2u);
  EXPECT_EQ(r->script_logs[0].host, (Host{101, 0, "192.0.2.1"}));
  EXPECT_EQ(r->script_logs[0].content, "a\nb");
  EXPECT_EQ(r->script_logs[1].host.cloud_id, 1);
  EXPECT_TRUE(r->file_logs.empty());
}

const char* kFileLogs = R"([
  {"mode":1,"src_ip":{"bk_host_id":101,"bk_cloud_id":0,"ip":"192.0.2.1"},"src_path":"/data/1.log",
   "dest_ip":{"bk_host_id":102,"bk_cloud_id":0,"ip":"192.0.2.2"},"dest_path":"/tmp/1.log",
   "status":4,"log_content":"done","size":"9.0 Bytes","speed":"1 KB/s","process":"100%"},
  {"mode":0,"src_ip":{"bk_host_id":101,"bk_cloud_id":0,"ip":"192.0.2.1"},"src_path":"/data/1.log",
   "status":2}])";

TEST(JobCodecDecode, BatchFileLogs) {
  std::string body = std::string(R"({"result":true,"code":0,"data":{"log_type":2,
      "job_instance_id":100,"step_instance_id":76,"file_task_logs":[
      {"bk_host_id":102,"ip":"192.0.2.2","bk_cloud_id":0,"file_logs":)") +
                     kFileLogs + "}]}}";
  Result<IpLogs> r = JobCodec::decode_batch_ip_log(200, body);
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->log_type, kLogFile);
  ASSERT_EQ(r->file_logs.size(), 1u);
  EXPECT_EQ(r->file_logs[0].host.host_id, 102);
  ASSERT_EQ(r->file_logs[0].entries.size(), 2u);
  const FileLog& d = r->file_logs[0].entries[0];
  EXPECT_EQ(d.mode, 1);
  EXPECT_EQ(d.src, (Host{101, 0, "192.0.2.1"}));
  EXPECT_EQ(d.src_path, "/data/1.log");
  EXPECT_EQ(d.dest, (Host{102, 0, "192.0.2.2"}));
  EXPECT_EQ(d.dest_path, "/tmp/1.log");
  EXPECT_EQ(d.status, 4);
  EXPECT_EQ(d.content, "done");
  EXPECT_EQ(d.size, "9.0 Bytes");
  EXPECT_EQ(d.speed, "1 KB/s");
  EXPECT_EQ(d.progress, "100%");
  const FileLog& u = r->file_logs[0].entries[1];
  EXPECT_EQ(u.mode, 0);
  EXPECT_EQ(u.dest, Host{});
  EXPECT_EQ(u.status, 2);
}

TEST(JobCodecDecode, BatchFileLogWrongTypeNamesPath) {
  Result<IpLogs> r = JobCodec::decode_batch_ip_log(200, R"({"result":true,"code":0,"data":{
      "log_type":2,"file_task_logs":[{"bk_host_id":1,"file_logs":[{"src_ip":{"bk_host_id":"x"}}]}]}})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("data.file_task_logs[0].file_logs[0].src_ip.bk_host_id"),
            std::string::npos)
      << r.error().message;
}

TEST(JobCodecDecode, SingleIpLogScriptAndFile) {
  Result<IpLogs> s = JobCodec::decode_ip_log(200, R"({"result":true,"code":0,"data":{
      "log_type":1,"bk_host_id":101,"ip":"192.0.2.1","bk_cloud_id":0,"log_content":"hello"}})");
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->script_logs.size(), 1u);
  EXPECT_EQ(s->script_logs[0].host.host_id, 101);
  EXPECT_EQ(s->script_logs[0].content, "hello");

  std::string body = std::string(R"({"result":true,"code":0,"data":{"log_type":2,
      "bk_host_id":102,"ip":"192.0.2.2","bk_cloud_id":0,"file_logs":)") +
                     kFileLogs + "}}";
  Result<IpLogs> f = JobCodec::decode_ip_log(200, body);
  ASSERT_TRUE(f.ok()) << f.error().describe();
  ASSERT_EQ(f->file_logs.size(), 1u);
  EXPECT_EQ(f->file_logs[0].host.host_id, 102);
  EXPECT_EQ(f->file_logs[0].entries.size(), 2u);
  EXPECT_TRUE(f->script_logs.empty());
}

TEST(JobCodecDecode, Operate) {
  Result<std::int64_t> ok =
      JobCodec::decode_operate(200, R"({"result":true,"code":0,"data":{"job_instance_id":100}})");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 100);
  Result<std::int64_t> already = JobCodec::decode_operate(
      200, R"({"result":false,"code":1244015,"message":"terminating","request_id":"z"})");
  ASSERT_FALSE(already.ok());
  EXPECT_EQ(already.error().job_code, 1244015);
  EXPECT_EQ(already.error().kind, ErrorKind::kJob);
}

TEST(JobCodecDecode, OperateOnAFinishedJobIsAFailedPrecondition) {
  Result<std::int64_t> finished = JobCodec::decode_operate(
      200, R"({"result":false,"code":1241010,"message":"job already finished","request_id":"q"})");
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.error().kind, ErrorKind::kFailedPrecondition);
  EXPECT_EQ(finished.error().job_code, 1241010);
  EXPECT_EQ(finished.error().request_id, "q");
  EXPECT_EQ(finished.error().message, "job already finished");
  // The same code elsewhere stays what JOB says it is: an illegal parameter.
  Result<JobSnapshot> status = JobCodec::decode_job_status(
      200, R"({"result":false,"code":1241010,"message":"bad","request_id":"q"})");
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().kind, ErrorKind::kJob);
}

TEST(JobCodecDecode, ErrorDescribeIsOneLine) {
  Result<JobSnapshot> r = JobCodec::decode_job_status(
      200, R"({"result":false,"code":1244006,"message":"gone","request_id":"abc"})");
  ASSERT_FALSE(r.ok());
  std::string line = r.error().describe();
  EXPECT_NE(line.find("kind=job"), std::string::npos);
  EXPECT_NE(line.find("job_code=1244006"), std::string::npos);
  EXPECT_NE(line.find("job_request_id=abc"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
