// Integration: the envelope, both transports and every business error code.
#include <fstream>
#include <set>

#include "tests/jobsim/jobsim_fixture.h"
#include "tests/support/wait.h"

namespace jobsim_test {
namespace {

json script_body() {
  json body = scope_biz1();
  body["script_content"] = b64("echo ok");
  body["script_language"] = 1;
  body["account_alias"] = "root";
  body["target_server"] = {{"host_id_list", {101}}};
  return body;
}

int64_t code_of(const json& env) { return env.value("code", int64_t(-1)); }

TEST(JobsimApiTest, EnvelopeShapeAndUniqueRequestIds) {
  Jobsim sim;
  std::set<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto r = sim.raw_post("/api/v3/fast_execute_script/", script_body().dump());
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), "application/json");
    json env = json::parse(r.body);
    EXPECT_EQ(env["result"], true);
    EXPECT_EQ(env["code"], 0);
    EXPECT_EQ(env["message"], "success");
    EXPECT_TRUE(env.contains("permission"));
    EXPECT_TRUE(env["data"].is_object());
    ids.insert(env["request_id"].get<std::string>());
    EXPECT_EQ(r.header("x-bkapi-request-id"), env["request_id"]);
  }
  EXPECT_EQ(ids.size(), 5u);
}

TEST(JobsimApiTest, BothTransportsAndLegacyBizId) {
  Jobsim sim;
  // apigw without trailing slash
  auto r = sim.raw_post("/api/v3/fast_execute_script", script_body().dump());
  EXPECT_EQ(json::parse(r.body)["code"], 0) << r.body;
  // esb, credentials fields are simply ignored when auth is off
  json esb = script_body();
  esb["bk_app_code"] = "x";
  esb["bk_username"] = "admin";
  r = sim.raw_post("/api/c/compapi/v2/jobv3/fast_execute_script/", esb.dump());
  json env = json::parse(r.body);
  ASSERT_EQ(env["code"], 0) << r.body;
  int64_t job = env["data"]["job_instance_id"];
  r = sim.raw_get("/api/c/compapi/v2/jobv3/get_job_instance_status/?bk_biz_id=1&job_instance_id=" +
                  std::to_string(job));
  env = json::parse(r.body);
  EXPECT_EQ(env["code"], 0) << r.body;
  EXPECT_EQ(env["data"]["job_instance"]["job_instance_id"], job);
  // legacy bk_biz_id in a POST body
  json legacy = script_body();
  legacy.erase("bk_scope_type");
  legacy.erase("bk_scope_id");
  legacy["bk_biz_id"] = 1;
  EXPECT_EQ(code_of(sim.post("fast_execute_script", legacy)), 0);
  // biz 2 does not see biz 1's job
  env = sim.get("get_job_instance_status",
                "bk_scope_type=biz&bk_scope_id=2&job_instance_id=" + std::to_string(job));
  EXPECT_EQ(code_of(env), 1244006);
}

TEST(JobsimApiTest, BusinessErrorCodes) {
  Jobsim sim;
  auto expect_code = [&](const json& body, int64_t code, const std::string& what) {
    json env = sim.post("fast_execute_script", body);
    EXPECT_EQ(code_of(env), code) << what << ": " << env.dump();
    EXPECT_EQ(env["result"], false) << what;
    EXPECT_TRUE(env["data"].is_null()) << what;
    EXPECT_FALSE(env["message"].get<std::string>().empty()) << what;
    EXPECT_EQ(env["request_id"].get<std::string>().size(), 32u) << what;
  };
  json b = script_body();
  b["target_server"] = json::object();
  expect_code(b, 1244001, "empty target_server");
  b["target_server"] = {{"host_id_list", json::array()}};
  expect_code(b, 1244001, "empty host_id_list");
  b.erase("target_server");
  expect_code(b, 1244001, "no target_server");
  b = script_body();
  b["target_server"] = {{"host_id_list", {101, 999}}};
  expect_code(b, 1244002, "unknown host");
  b = script_body();
  b["bk_scope_id"] = "2";
  expect_code(b, 1244002, "host of another business");
  b = script_body();
  b["target_server"] = {{"ip_list", {{{"bk_cloud_id", 0}, {"ip", "10.9.9.9"}}}}};
  expect_code(b, 1244002, "unknown ip");
  b = script_body();
  b.erase("bk_scope_type");
  b.erase("bk_scope_id");
  expect_code(b, 1241001, "no scope");
  b = script_body();
  b.erase("script_content");
  expect_code(b, 1241004, "no script_content");
  b = script_body();
  b.erase("script_language");
  expect_code(b, 1241004, "no script_language");
  b = script_body();
  b.erase("account_alias");
  expect_code(b, 1241004, "no account");
  b = script_body();
  b["timeout"] = 0;
  expect_code(b, 1241005, "timeout 0");
  b["timeout"] = 86401;
  expect_code(b, 1241005, "timeout 86401");
  b["timeout"] = "soon";
  expect_code(b, 1241005, "timeout not a number");
  b = script_body();
  b["script_content"] = "!!not base64!!";
  expect_code(b, 1241005, "bad base64 content");
  b = script_body();
  b["script_param"] = "%%%";
  expect_code(b, 1241005, "bad base64 param");
  b = script_body();
  b["script_language"] = 9;
  expect_code(b, 1241005, "unknown language");
  b = script_body();
  b["bk_scope_type"] = "galaxy";
  expect_code(b, 1241005, "unknown scope type");
  b = script_body();
  b["task_name"] = std::string(513, 'n');
  expect_code(b, 1241005, "task name too long");
  b = script_body();
  b["timeout"] = 86400;
  EXPECT_EQ(code_of(sim.post("fast_execute_script", b)), 0) << "timeout at the limit";
  b["timeout"] = 1;
  EXPECT_EQ(code_of(sim.post("fast_execute_script", b)), 0) << "timeout 1";

  // Malformed JSON and non-object bodies get an envelope.
  for (const std::string bad : {"{\"bk_scope_type\": ", "[1,2]", "", "null"}) {
    auto r = sim.raw_post("/api/v3/fast_execute_script/", bad);
    ASSERT_EQ(r.status, 200) << bad;
    json env = json::parse(r.body);
    EXPECT_EQ(env["code"], 1241002) << bad;
    EXPECT_EQ(env["result"], false);
  }

  // Unknown job and step.
  json env =
      sim.get("get_job_instance_status", "bk_scope_type=biz&bk_scope_id=1&job_instance_id=424242");
  EXPECT_EQ(code_of(env), 1244006);
  env = sim.get("get_job_instance_status", "bk_scope_type=biz&bk_scope_id=1");
  EXPECT_EQ(code_of(env), 1241004);
  env = sim.get("get_job_instance_status", "bk_scope_type=biz&bk_scope_id=1&job_instance_id=abc");
  EXPECT_EQ(code_of(env), 1241005);
  json ok = sim.post("fast_execute_script", script_body());
  int64_t job = ok["data"]["job_instance_id"];
  json logs = scope_biz1();
  logs["job_instance_id"] = job;
  logs["step_instance_id"] = 1;
  logs["host_id_list"] = {101};
  EXPECT_EQ(code_of(sim.post("batch_get_job_instance_ip_log", logs)), 1244007);
  logs["job_instance_id"] = 99999999;
  EXPECT_EQ(code_of(sim.post("batch_get_job_instance_ip_log", logs)), 1244006);
  env = sim.get("get_job_instance_ip_log",
                "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job) +
                    "&step_instance_id=5&bk_host_id=101");
  EXPECT_EQ(code_of(env), 1244007);
  json op = scope_biz1();
  op["job_instance_id"] = 777777;
  op["operation_code"] = 1;
  EXPECT_EQ(code_of(sim.post("operate_job_instance", op)), 1244006);
}

TEST(JobsimApiTest, UnknownPathsAndWrongMethods) {
  Jobsim sim;
  for (const std::string path : {"/", "/api/v3/no_such_api/", "/api/v3/", "/nothing/here"}) {
    auto r = sim.raw_get(path);
    EXPECT_EQ(r.status, 404) << path;
    json body = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << r.body;
    EXPECT_EQ(body["result"], false);
  }
  auto r = sim.raw_get("/api/v3/fast_execute_script/");
  EXPECT_EQ(r.status, 405);
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded());
  r = sim.raw_post("/api/v3/get_job_instance_status/", "{}");
  EXPECT_EQ(r.status, 405);
}

TEST(JobsimApiTest, TargetsByIpDynamicGroupAndTopoNode) {
  jobgw::testing::TempDir tmp("jobsim-inv");
  {
    std::ofstream inv(tmp.file("inv.json"));
    inv << R"({"hosts": [
      {"host_id": 1, "ip": "192.0.2.10", "cloud_id": 0, "scope_type": "biz", "scope_id": "3"},
      {"host_id": 2, "ip": "192.0.2.10", "cloud_id": 7, "scope_type": "biz", "scope_id": "3"},
      {"host_id": 3, "ip": "2001:db8::3", "cloud_id": 0, "scope_type": "biz", "scope_id": "3"},
      {"host_id": 4, "ip": "192.0.2.40", "cloud_id": 0, "scope_type": "biz", "scope_id": "4"}],
     "biz_sets": [{"id": "900", "biz_ids": ["3", "4"]}],
     "dynamic_groups": [{"id": "dg1", "scope_type": "biz", "scope_id": "3", "host_ids": [1, 3]}],
     "topo_nodes": [{"id": 55, "node_type": "set", "scope_type": "biz", "scope_id": "3", "host_ids": [2]}]})";
  }
  Jobsim sim({"--inventory", tmp.file("inv.json")});
  json body = {{"bk_scope_type", "biz"},
               {"bk_scope_id", "3"},
               {"account_alias", "root"},
               {"script_language", 1},
               {"script_content", b64("echo $JOB_HOST_ID $JOB_CLOUD_ID")}};
  body["target_server"] = {{"ip_list", {{{"bk_cloud_id", 7}, {"ip", "192.0.2.10"}}}},
                           {"dynamic_group_list", {{{"id", "dg1"}}}},
                           {"topo_node_list", {{{"id", 55}, {"node_type", "set"}}}}};
  json env = sim.post("fast_execute_script", body);
  ASSERT_EQ(env["code"], 0) << env.dump();
  int64_t job = env["data"]["job_instance_id"];
  json st;
  ASSERT_TRUE(jobgw::testing::wait_until(
      [&] {
        st = sim.get("get_job_instance_status",
                     "bk_scope_type=biz&bk_scope_id=3&return_ip_result=true&job_instance_id=" +
                         std::to_string(job))["data"];
        return st["finished"].get<bool>();
      },
      std::chrono::seconds(20)));
  auto hosts = host_results(st);
  ASSERT_EQ(hosts.size(), 3u);  // 2 (ip+cloud 7, and via topo), 1 and 3 (group)
  EXPECT_EQ(hosts[3]["ip"], "2001:db8::3");
  EXPECT_EQ(st["job_instance"]["status"], 3);
  // A business set covers hosts of its businesses.
  body["bk_scope_type"] = "biz_set";
  body["bk_scope_id"] = "900";
  body["target_server"] = {{"host_id_list", {1, 4}}};
  EXPECT_EQ(sim.post("fast_execute_script", body)["code"], 0);
  body["bk_scope_type"] = "biz";
  body["bk_scope_id"] = "3";
  EXPECT_EQ(sim.post("fast_execute_script", body)["code"], 1244002);
}

}  // namespace
}  // namespace jobsim_test
