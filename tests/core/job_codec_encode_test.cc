#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/job/job_codec.h"

namespace jobgw::core {
namespace {

using nlohmann::json;

JobApiSettings settings(ApiMode mode) {
  JobApiSettings s;
  s.mode = mode;
  s.app_code = "bk_log";
  s.app_secret = "s3cret";
  s.default_operator = "admin";
  return s;
}

std::string header(const EncodedCall& call, const std::string& name) {
  for (const auto& [k, v] : call.headers) {
    if (k == name) return v;
  }
  return {};
}

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  size_t pos = 0;
  while (pos <= rest.size()) {
    size_t amp = rest.find('&', pos);
    std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = kv.find('=');
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

ExecuteScriptRequest full_script_request() {
  ExecuteScriptRequest r;
  r.scope = {"biz", "2"};
  r.script_content = "echo hello\n";
  r.script_language = kShell;
  r.script_param = "a b";
  r.param_sensitive = true;
  r.timeout_seconds = 300;
  r.account_alias = "root";
  r.targets.host_ids = {101, 102};
  r.targets.dynamic_group_ids = {"dg-1"};
  r.targets.topo_nodes = {{7, "module"}};
  r.task_name = "agent check";
  r.operator_name = "alice";
  r.callback_url = "http://127.0.0.1:9/cb";
  return r;
}

TEST(JobCodecEncode, ExecuteScriptApigwBodyAndHeader) {
  JobCodec codec(settings(ApiMode::kApigw));
  Result<EncodedCall> call = codec.execute_script(full_script_request());
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->target, "/api/v3/fast_execute_script/");
  EXPECT_EQ(call->label, "fast_execute_script");
  json auth = json::parse(header(*call, "X-Bkapi-Authorization"));
  EXPECT_EQ(
      auth,
      (json{{"bk_app_code", "bk_log"}, {"bk_app_secret", "s3cret"}, {"bk_username", "alice"}}));
  json body = json::parse(call->body);
  EXPECT_EQ(body["bk_scope_type"], "biz");
  EXPECT_EQ(body["bk_scope_id"], "2");
  EXPECT_EQ(body["script_content"], "ZWNobyBoZWxsbwo=");
  EXPECT_EQ(body["script_language"], 1);
  EXPECT_EQ(body["script_param"], "YSBi");
  EXPECT_EQ(body["is_param_sensitive"], 1);
  EXPECT_EQ(body["timeout"], 300);
  EXPECT_EQ(body["account_alias"], "root");
  EXPECT_FALSE(body.contains("account_id"));
  EXPECT_EQ(body["task_name"], "agent check");
  EXPECT_EQ(body["callback_url"], "http://127.0.0.1:9/cb");
  EXPECT_EQ(body["target_server"]["host_id_list"], json::array({101, 102}));
  EXPECT_FALSE(body["target_server"].contains("ip_list"));
  EXPECT_EQ(body["target_server"]["dynamic_group_list"], json::parse(R"([{"id":"dg-1"}])"));
  EXPECT_EQ(body["target_server"]["topo_node_list"],
            json::parse(R"([{"id":7,"node_type":"module"}])"));
  // apigw carries credentials only in the header.
  EXPECT_FALSE(body.contains("bk_app_secret"));
  EXPECT_FALSE(body.contains("bk_username"));
}

TEST(JobCodecEncode, ExecuteScriptEsbPutsCredentialsInBody) {
  JobCodec codec(settings(ApiMode::kEsb));
  ExecuteScriptRequest r = full_script_request();
  r.operator_name.clear();
  Result<EncodedCall> call = codec.execute_script(r);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->target, "/api/c/compapi/v2/jobv3/fast_execute_script/");
  EXPECT_EQ(header(*call, "X-Bkapi-Authorization"), "");
  json body = json::parse(call->body);
  EXPECT_EQ(body["bk_app_code"], "bk_log");
  EXPECT_EQ(body["bk_app_secret"], "s3cret");
  EXPECT_EQ(body["bk_username"], "admin");  // the configured default operator
}

TEST(JobCodecEncode, ScriptSourcePriorityAndDefaults) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecuteScriptRequest r;
  r.scope.id = "1";
  r.scope.type = "";
  r.script_version_id = 42;
  r.script_id = "ignored";
  r.script_content = "ignored";
  r.targets.host_ids = {1};
  json body = json::parse(codec.execute_script(r)->body);
  EXPECT_EQ(body["bk_scope_type"], "biz");
  EXPECT_EQ(body["script_version_id"], 42);
  EXPECT_FALSE(body.contains("script_id"));
  EXPECT_FALSE(body.contains("script_content"));
  EXPECT_FALSE(body.contains("timeout"));  // JOB's default applies
  EXPECT_FALSE(body.contains("script_param"));
  EXPECT_EQ(body["is_param_sensitive"], 0);
  EXPECT_EQ(body["account_alias"], "root");  // the configured default account

  r.script_version_id = 0;
  body = json::parse(codec.execute_script(r)->body);
  EXPECT_EQ(body["script_id"], "ignored");
  EXPECT_FALSE(body.contains("script_content"));

  r.account_id = 9;
  body = json::parse(codec.execute_script(r)->body);
  EXPECT_EQ(body["account_id"], 9);
  EXPECT_FALSE(body.contains("account_alias"));
}

TEST(JobCodecEncode, Ipv4HostsWithoutIdGoByIpList) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecuteScriptRequest r = full_script_request();
  r.targets.host_ids.clear();
  r.targets.hosts = {{0, 0, "192.0.2.1"}, {0, 3, "198.51.100.7"}};
  json body = json::parse(codec.execute_script(r)->body);
  EXPECT_FALSE(body["target_server"].contains("host_id_list"));
  EXPECT_EQ(
      body["target_server"]["ip_list"],
      json::parse(R"([{"bk_cloud_id":0,"ip":"192.0.2.1"},{"bk_cloud_id":3,"ip":"198.51.100.7"}])"));
}

TEST(JobCodecEncode, HostsWithIdsGoByHostIdEvenWithIp) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecuteScriptRequest r = full_script_request();
  r.targets.host_ids = {101};
  r.targets.hosts = {{102, 0, "2001:db8::2"}};
  json body = json::parse(codec.execute_script(r)->body);
  EXPECT_EQ(body["target_server"]["host_id_list"], json::array({101, 102}));
  EXPECT_FALSE(body["target_server"].contains("ip_list"));
}

TEST(JobCodecEncode, Ipv6WithoutHostIdIsAnErrorNamingTheHost) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecuteScriptRequest r = full_script_request();
  r.targets.host_ids.clear();
  r.targets.hosts = {{0, 0, "192.0.2.1"}, {0, 0, "2001:db8::5"}};
  Result<EncodedCall> call = codec.execute_script(r);
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(call.error().message.find("targets.hosts[1]"), std::string::npos);
  EXPECT_NE(call.error().message.find("2001:db8::5"), std::string::npos);
}

TEST(JobCodecEncode, BadIpAndMixedIdAndIpAreErrors) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecuteScriptRequest r = full_script_request();
  r.targets.host_ids.clear();
  r.targets.hosts = {{0, 0, "300.1.1.1"}};
  Result<EncodedCall> bad = codec.execute_script(r);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("300.1.1.1"), std::string::npos);

  r.targets.host_ids = {101};
  r.targets.hosts = {{0, 0, "192.0.2.9"}};
  Result<EncodedCall> mixed = codec.execute_script(r);
  ASSERT_FALSE(mixed.ok());
  EXPECT_NE(mixed.error().message.find("192.0.2.9"), std::string::npos);
}

TEST(JobCodecEncode, TransferFileEveryField) {
  JobCodec codec(settings(ApiMode::kApigw));
  TransferFileRequest r;
  r.scope = {"biz_set", "9"};
  FileSource a;
  a.files = {"/data/1.log", "/data/2.log"};
  a.servers.host_ids = {101};
  a.account_alias = "mysql";
  FileSource b;
  b.files = {"/etc/hosts"};
  b.servers.hosts = {{0, 0, "192.0.2.3"}};
  b.account_id = 12;
  r.sources = {a, b};
  r.target_path = "/tmp/[FILESRCIP]/";
  r.targets.host_ids = {103, 104};
  r.account_id = 5;
  r.timeout_seconds = 60;
  r.upload_limit_mb = 10;
  r.download_limit_mb = 20;
  r.transfer_mode = kTransferModeStrict;
  r.task_name = "push";
  r.operator_name = "bob";
  r.callback_url = "http://127.0.0.1/cb";
  Result<EncodedCall> call = codec.transfer_file(r);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->target, "/api/v3/fast_transfer_file/");
  json body = json::parse(call->body);
  EXPECT_EQ(body, json::parse(R"({
    "bk_scope_type": "biz_set", "bk_scope_id": "9",
    "file_target_path": "/tmp/[FILESRCIP]/",
    "file_source_list": [
      {"file_list": ["/data/1.log", "/data/2.log"], "server": {"host_id_list": [101]},
       "account": {"alias": "mysql"}, "file_type": 1},
      {"file_list": ["/etc/hosts"], "server": {"ip_list": [{"bk_cloud_id": 0, "ip": "192.0.2.3"}]},
       "account": {"id": 12}, "file_type": 1}],
    "target_server": {"host_id_list": [103, 104]},
    "account_id": 5, "timeout": 60, "upload_speed_limit": 10, "download_speed_limit": 20,
    "transfer_mode": 1, "task_name": "push", "callback_url": "http://127.0.0.1/cb"})"));
  EXPECT_EQ(json::parse(header(*call, "X-Bkapi-Authorization"))["bk_username"], "bob");
}

TEST(JobCodecEncode, TransferSourceErrorsNameTheSource) {
  JobCodec codec(settings(ApiMode::kApigw));
  TransferFileRequest r;
  r.scope.id = "1";
  FileSource s;
  s.files = {"/a"};
  s.servers.hosts = {{0, 0, "::1"}};
  r.sources = {s};
  r.target_path = "/tmp";
  r.targets.host_ids = {1};
  Result<EncodedCall> call = codec.transfer_file(r);
  ASSERT_FALSE(call.ok());
  EXPECT_NE(call.error().message.find("sources[0].servers.hosts[0]"), std::string::npos);
}

// The header is built from a prefix escaped once and the operator per call: both parts must stay
// JSON whatever the values hold, and a name that is not UTF-8 must not throw.
TEST(JobCodecEncode, ApigwHeaderEscapesAppAndOperator) {
  JobApiSettings s = settings(ApiMode::kApigw);
  s.app_code = "code\"with\\quote";
  s.app_secret = "sec\nret\u00e9";
  JobCodec codec(s);
  JobStatusRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 7;
  r.operator_name = "o\"p\x01";
  EncodedCall call = codec.get_job_instance_status(r);
  EXPECT_EQ(json::parse(header(call, "X-Bkapi-Authorization")),
            (json{{"bk_app_code", s.app_code},
                  {"bk_app_secret", s.app_secret},
                  {"bk_username", r.operator_name}}));

  r.operator_name = "bad\xff";
  call = codec.get_job_instance_status(r);
  json auth = json::parse(header(call, "X-Bkapi-Authorization"));
  EXPECT_EQ(auth["bk_app_secret"], s.app_secret);
  EXPECT_NE(auth["bk_username"].get<std::string>().find("bad"), std::string::npos);
}

TEST(JobCodecEncode, JobStatusQueryBothModes) {
  JobStatusRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 100;
  r.operator_name = "a b&c";
  EncodedCall apigw = JobCodec(settings(ApiMode::kApigw)).get_job_instance_status(r);
  EXPECT_EQ(apigw.method, "GET");
  EXPECT_EQ(apigw.target,
            "/api/v3/get_job_instance_status/"
            "?bk_scope_type=biz&bk_scope_id=1&job_instance_id=100&return_ip_result=true");
  EXPECT_TRUE(apigw.body.empty());
  EXPECT_EQ(json::parse(header(apigw, "X-Bkapi-Authorization"))["bk_username"], "a b&c");

  r.return_ip_result = false;
  EncodedCall esb = JobCodec(settings(ApiMode::kEsb)).get_job_instance_status(r);
  EXPECT_EQ(esb.target.rfind("/api/c/compapi/v2/jobv3/get_job_instance_status/?", 0), 0u)
      << esb.target;
  auto q = query_of(esb.target);
  EXPECT_EQ(q["return_ip_result"], "false");
  EXPECT_EQ(q["bk_app_code"], "bk_log");
  EXPECT_EQ(q["bk_app_secret"], "s3cret");
  EXPECT_EQ(q["bk_username"], "a%20b%26c");
}

TEST(JobCodecEncode, BatchIpLogByIdsOrIps) {
  JobCodec codec(settings(ApiMode::kApigw));
  IpLogsRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 100;
  r.step_instance_id = 75;
  r.host_ids = {101, 102};
  Result<EncodedCall> call = codec.batch_get_job_instance_ip_log(r);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->target, "/api/v3/batch_get_job_instance_ip_log/");
  EXPECT_EQ(json::parse(call->body), json::parse(R"({"bk_scope_type":"biz","bk_scope_id":"1",
      "job_instance_id":100,"step_instance_id":75,"host_id_list":[101,102]})"));
  r.host_ids.clear();
  r.hosts = {{0, 0, "192.0.2.1"}};
  EXPECT_EQ(json::parse(codec.batch_get_job_instance_ip_log(r)->body)["ip_list"],
            json::parse(R"([{"bk_cloud_id":0,"ip":"192.0.2.1"}])"));
}

TEST(JobCodecEncode, SingleIpLogByIdOrIp) {
  JobCodec codec(settings(ApiMode::kApigw));
  IpLogsRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 100;
  r.step_instance_id = 75;
  r.host_ids = {101};
  auto q = query_of(codec.get_job_instance_ip_log(r)->target);
  EXPECT_EQ(q["bk_host_id"], "101");
  EXPECT_EQ(q["step_instance_id"], "75");
  EXPECT_EQ(q.count("ip"), 0u);
  r.host_ids.clear();
  r.hosts = {{0, 2, "192.0.2.1"}};
  q = query_of(codec.get_job_instance_ip_log(r)->target);
  EXPECT_EQ(q["bk_cloud_id"], "2");
  EXPECT_EQ(q["ip"], "192.0.2.1");
  r.host_ids = {1};
  EXPECT_FALSE(codec.get_job_instance_ip_log(r).ok());
}

TEST(JobCodecEncode, OperateJobInstance) {
  OperateJobRequest r;
  r.scope = {"biz", "1"};
  r.job_instance_id = 100;
  EncodedCall call = JobCodec(settings(ApiMode::kEsb)).operate_job_instance(r);
  EXPECT_EQ(call.target, "/api/c/compapi/v2/jobv3/operate_job_instance/");
  json body = json::parse(call.body);
  EXPECT_EQ(body["operation_code"], 1);
  EXPECT_EQ(body["job_instance_id"], 100);
  EXPECT_EQ(body["bk_username"], "admin");
}

TEST(JobCodecEncode, ParseApiMode) {
  EXPECT_EQ(*parse_api_mode("apigw"), ApiMode::kApigw);
  EXPECT_EQ(*parse_api_mode("esb"), ApiMode::kEsb);
  Result<ApiMode> bad = parse_api_mode("soap");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("api_mode"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::core
