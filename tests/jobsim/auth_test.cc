// Integration: app credentials, as JOB's gateways check them.
#include "tests/jobsim/jobsim_fixture.h"

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

void expect_401(const HttpResponse& r, const std::string& what) {
  EXPECT_EQ(r.status, 401) << what << ": " << r.body;
  json body = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << what;
  EXPECT_EQ(body["result"], false) << what;
  EXPECT_FALSE(body["message"].get<std::string>().empty()) << what;
}

TEST(JobsimAuthTest, ApigwHeader) {
  Jobsim sim({"--hosts", "2", "--app-code", "bk-log", "--app-secret", "s3cret"});
  const std::string target = "/api/v3/fast_execute_script/";
  const std::string body = script_body().dump();
  expect_401(sim.raw_post(target, body), "no header");
  expect_401(sim.raw_post(target, "{not json"), "no header, bad body");
  expect_401(sim.raw_post(target, body, {{"X-Bkapi-Authorization", "not json"}}), "not json");
  expect_401(
      sim.raw_post(target, body,
                   {{"X-Bkapi-Authorization",
                     R"({"bk_app_code":"bk-log","bk_app_secret":"wrong","bk_username":"admin"})"}}),
      "wrong secret");
  expect_401(
      sim.raw_post(target, body,
                   {{"X-Bkapi-Authorization",
                     R"({"bk_app_code":"other","bk_app_secret":"s3cret","bk_username":"admin"})"}}),
      "wrong code");
  expect_401(sim.raw_post(target, body,
                          {{"X-Bkapi-Authorization",
                            R"({"bk_app_code":"bk-log","bk_app_secret":"s3cret"})"}}),
             "no username");
  auto r = sim.raw_post(
      target, body,
      {{"X-Bkapi-Authorization",
        R"({"bk_app_code":"bk-log","bk_app_secret":"s3cret","bk_username":"admin"})"}});
  EXPECT_EQ(r.status, 200);
  json env = json::parse(r.body);
  EXPECT_EQ(env["code"], 0) << r.body;
  // With good credentials a bad body is a business error.
  r = sim.raw_post(
      target, "{not json",
      {{"X-Bkapi-Authorization",
        R"({"bk_app_code":"bk-log","bk_app_secret":"s3cret","bk_username":"admin"})"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["code"], 1241002);
  // GET needs it too.
  int64_t job = env["data"]["job_instance_id"];
  std::string q =
      "/api/v3/get_job_instance_status/?bk_scope_type=biz&bk_scope_id=1&job_instance_id=" +
      std::to_string(job);
  expect_401(sim.raw_get(q), "GET without header");
  r = sim.raw_get(q,
                  {{"X-Bkapi-Authorization",
                    R"({"bk_app_code":"bk-log","bk_app_secret":"s3cret","bk_username":"admin"})"}});
  EXPECT_EQ(json::parse(r.body)["code"], 0);
}

TEST(JobsimAuthTest, EsbFields) {
  Jobsim sim({"--hosts", "2", "--app-code", "bk-log", "--app-secret", "s3cret"});
  const std::string target = "/api/c/compapi/v2/jobv3/fast_execute_script/";
  json b = script_body();
  expect_401(sim.raw_post(target, b.dump()), "no fields");
  b["bk_app_code"] = "bk-log";
  b["bk_app_secret"] = "nope";
  b["bk_username"] = "admin";
  expect_401(sim.raw_post(target, b.dump()), "wrong secret");
  b["bk_app_secret"] = "s3cret";
  b.erase("bk_username");
  expect_401(sim.raw_post(target, b.dump()), "no username");
  b["bk_username"] = "admin";
  auto r = sim.raw_post(target, b.dump());
  ASSERT_EQ(r.status, 200);
  json env = json::parse(r.body);
  EXPECT_EQ(env["code"], 0);
  int64_t job = env["data"]["job_instance_id"];
  std::string q =
      "/api/c/compapi/v2/jobv3/get_job_instance_status/"
      "?bk_scope_type=biz&bk_scope_id=1&job_instance_id=" +
      std::to_string(job);
  expect_401(sim.raw_get(q), "GET without fields");
  r = sim.raw_get(q + "&bk_app_code=bk-log&bk_app_secret=s3cret&bk_username=admin");
  EXPECT_EQ(json::parse(r.body)["code"], 0) << r.body;
  // The apigw header does not count on the esb path.
  b.erase("bk_app_code");
  expect_401(sim.raw_post(
                 target, b.dump(),
                 {{"X-Bkapi-Authorization",
                   R"({"bk_app_code":"bk-log","bk_app_secret":"s3cret","bk_username":"admin"})"}}),
             "header on esb");
}

}  // namespace
}  // namespace jobsim_test
