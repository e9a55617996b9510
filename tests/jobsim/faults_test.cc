// Integration: every fault mode, observed from a client.
#include <sys/wait.h>

#include <thread>

#include "tests/jobsim/jobsim_fixture.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;

const std::string kStatus =
    "/api/v3/get_job_instance_status/?bk_scope_type=biz&bk_scope_id=1&job_instance_id=1";

HttpResponse add_fault(Jobsim& sim, const json& body) {
  return sim.raw_post("/jobsim/admin/faults", body.dump());
}

TEST(JobsimFaultTest, EveryModeSeenFromAClient) {
  Jobsim sim;
  // Without faults: a business answer (job 1 does not exist).
  auto r = sim.raw_get(kStatus);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["code"], 1244006);

  ASSERT_EQ(add_fault(sim, {{"spec", "get_job_instance_status:throttle=7"}}).status, 200);
  r = sim.raw_get(kStatus);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.header("retry-after"), "7");
  EXPECT_FALSE(json::parse(r.body, nullptr, false).is_discarded());
  // Other endpoints are untouched.
  EXPECT_EQ(sim.raw_post("/api/v3/operate_job_instance/",
                         R"({"bk_biz_id":1,"job_instance_id":1,"operation_code":1})")
                .status,
            200);

  for (int code : {500, 502, 504}) {
    ASSERT_EQ(add_fault(sim, {{"spec", "get_job_instance_status:status=" + std::to_string(code)},
                              {"replace", true}})
                  .status,
              200);
    r = sim.raw_get(kStatus);
    EXPECT_EQ(r.status, code);
    json body = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(body.is_discarded());
    EXPECT_EQ(body["result"], false);
    EXPECT_FALSE(body.contains("request_id"));  // the gateway's shape, not JOB's envelope
  }

  add_fault(sim, {{"spec", "get_job_instance_status:html=502"}, {"replace", true}});
  r = sim.raw_get(kStatus);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.header("content-type"), "text/html");
  EXPECT_EQ(r.body.rfind("<html>", 0), 0u);
  EXPECT_TRUE(json::parse(r.body, nullptr, false).is_discarded());

  add_fault(sim, {{"spec", "get_job_instance_status:truncate"}, {"replace", true}});
  r = sim.raw_get(kStatus);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
  EXPECT_EQ(r.body[0], '{');
  EXPECT_TRUE(json::parse(r.body, nullptr, false).is_discarded()) << r.body;

  add_fault(sim, {{"spec", "get_job_instance_status:reset"}, {"replace", true}});
  r = sim.raw_get(kStatus);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(r.error.empty());

  add_fault(sim, {{"spec", "get_job_instance_status:code=1244032"}, {"replace", true}});
  r = sim.raw_get(kStatus);
  EXPECT_EQ(r.status, 200);
  json env = json::parse(r.body);
  EXPECT_EQ(env["result"], false);
  EXPECT_EQ(env["code"], 1244032);

  add_fault(sim, {{"spec", "get_job_instance_status:latency=400"}, {"replace", true}});
  auto t0 = std::chrono::steady_clock::now();
  r = sim.raw_get(kStatus);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 390ms);
  EXPECT_EQ(json::parse(r.body)["code"], 1244006);  // delayed, but answered for real

  // The listing counts what was injected; DELETE clears.
  r = sim.raw_get("/jobsim/admin/faults");
  json listing = json::parse(r.body);
  ASSERT_EQ(listing["faults"].size(), 1u);
  EXPECT_EQ(listing["faults"][0]["kind"], "latency");
  EXPECT_EQ(listing["faults"][0]["injected"], 1);
  r = jobgw::testing::http_delete(sim.port(), "/jobsim/admin/faults");
  EXPECT_EQ(json::parse(r.body)["faults"].size(), 0u);
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(sim.raw_get(kStatus).status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 300ms);

  json stats = json::parse(sim.raw_get("/jobsim/stats").body);
  EXPECT_EQ(stats["faults_injected"]["throttle"], 1);
  EXPECT_EQ(stats["faults_injected"]["status"], 3);
  EXPECT_EQ(stats["faults_injected"]["html"], 1);
  EXPECT_EQ(stats["faults_injected"]["truncate"], 1);
  EXPECT_EQ(stats["faults_injected"]["reset"], 1);
  EXPECT_EQ(stats["faults_injected"]["code"], 1);
  EXPECT_EQ(stats["faults_injected"]["latency"], 1);
}

TEST(JobsimFaultTest, FlagRateSeedAndMax) {
  // From the command line: half of the status reads fail, repeatably for a seed.
  Jobsim sim({"--hosts", "2", "--fault", "get_job_instance_status:status=503@0.5", "--seed", "42"});
  auto pattern = [&] {
    std::string seq;
    for (int i = 0; i < 120; ++i) seq += sim.raw_get(kStatus).status == 503 ? 'x' : '.';
    return seq;
  };
  std::string first = pattern();
  auto failures = std::count(first.begin(), first.end(), 'x');
  EXPECT_GT(failures, 30);
  EXPECT_LT(failures, 90);
  // Reseeding to the same seed replays the same sequence.
  ASSERT_EQ(sim.raw_post("/jobsim/admin/faults", R"({"seed": 42})").status, 200);
  EXPECT_EQ(pattern(), first);

  // #MAX: fail exactly twice, then pass.
  add_fault(sim, {{"spec", "fast_execute_script:status=500#2"}, {"replace", true}});
  json body = scope_biz1();
  body["script_content"] = b64("true");
  body["script_language"] = 1;
  body["account_alias"] = "root";
  body["target_server"] = {{"host_id_list", {101}}};
  std::vector<int> seen;
  for (int i = 0; i < 4; ++i)
    seen.push_back(sim.raw_post("/api/v3/fast_execute_script/", body.dump()).status);
  EXPECT_EQ(seen, (std::vector<int>{500, 500, 200, 200}));

  // Bad specs are refused with 400 and change nothing.
  auto r = add_fault(sim, {{"spec", "fast_execute_script:explode"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find("unknown kind"),
            std::string::npos);
  EXPECT_EQ(json::parse(sim.raw_get("/jobsim/admin/faults").body)["faults"].size(), 1u);
}

TEST(JobsimFaultTest, BadFaultFlagStopsStartup) {
  jobgw::testing::TempDir tmp("jobsim-badflag");
  jobgw::testing::ChildProcess child(JOBSIM_BINARY, {"--fault", "nope", "--listen", "127.0.0.1:0"},
                                     tmp.file("log"));
  int st = child.wait_exit(5s);
  ASSERT_GE(st, 0);
  EXPECT_TRUE(WIFEXITED(st));
  EXPECT_NE(WEXITSTATUS(st), 0);
  EXPECT_NE(child.log().find("fault spec"), std::string::npos) << child.log();
}

}  // namespace
}  // namespace jobsim_test
