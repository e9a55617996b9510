// Integration: job plans run by the real jobsim binary (the built-in demo plans and plans of an
// inventory file): variables, confirmations, retries, step operations, lists and errors.
#include <filesystem>
#include <fstream>
#include <thread>

#include "jobsim/text_util.h"
#include "tests/jobsim/jobsim_fixture.h"
#include "tests/support/fake_http_server.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace jobsim_test {
namespace {

using namespace std::chrono_literals;
using jobgw::testing::FakeHttpServer;
using jobgw::testing::FakeResponse;
using jobgw::testing::RecordedRequest;

json with_scope(json body) {
  const json scope = scope_biz1();
  for (auto& [k, v] : scope.items()) body[k] = v;
  return body;
}

HttpHeaders as_user(const std::string& user) {
  return {{"X-Bkapi-Authorization", json{{"bk_username", user}}.dump()}};
}

json execute(Jobsim& sim, json body) { return sim.post("execute_job_plan", with_scope(body)); }

int64_t execute_ok(Jobsim& sim, json body) {
  json env = execute(sim, body);
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  return env["data"].value("job_instance_id", int64_t{0});
}

json operate(Jobsim& sim, int64_t job, int64_t step, int op, const std::string& user = "admin") {
  return sim.post(
      "operate_step_instance",
      with_scope({{"job_instance_id", job}, {"step_instance_id", step}, {"operation_code", op}}),
      as_user(user));
}

// Polls the status until the job has this status; returns the last status data.
json wait_status(Jobsim& sim, int64_t job, int status) {
  json last;
  bool ok = jobgw::testing::wait_until(
      [&] {
        last = sim.status(job);
        return last["job_instance"].value("status", 0) == status;
      },
      30s, 20ms);
  EXPECT_TRUE(ok) << "job " << job << " never reached status " << status << ": " << last.dump();
  return last;
}

int64_t step_id(const json& status, size_t i) {
  return status["step_instance_list"][i]["step_instance_id"].get<int64_t>();
}

json global_vars(Jobsim& sim, int64_t job) {
  json env = sim.get("get_job_instance_global_var_value",
                     "bk_scope_type=biz&bk_scope_id=1&job_instance_id=" + std::to_string(job));
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  return env["data"];
}

json string_vars(const std::string& who, const std::string& greeting) {
  return json::array({{{"name", "who"}, {"value", who}, {"type", 1}},
                      {{"name", "greeting"}, {"value", greeting}, {"type", 1}}});
}

// Confirms the waiting step of a three-step run and checks what the plan computed.
void check_three_steps(Jobsim& sim, int64_t job, const std::string& who) {
  json st = wait_status(sim, job, 7);
  EXPECT_FALSE(st["finished"].get<bool>());
  ASSERT_EQ(st["step_instance_list"].size(), 3u);
  const json& confirm = st["step_instance_list"][1];
  EXPECT_EQ(confirm["type"], 3);
  EXPECT_EQ(confirm["status"], 7);
  EXPECT_TRUE(confirm["step_ip_result_list"].empty());
  EXPECT_EQ(st["step_instance_list"][0]["status"], 3);
  EXPECT_EQ(st["step_instance_list"][2]["status"], 1);
  json env = operate(sim, job, step_id(st, 1), 6);
  ASSERT_EQ(env.value("code", -1), 0) << env.dump();
  EXPECT_EQ(env["data"]["step_instance_id"], step_id(st, 1));
  st = wait_status(sim, job, 3);
  EXPECT_TRUE(st["finished"].get<bool>());
  for (auto& s : st["step_instance_list"]) EXPECT_EQ(s["status"], 3) << s.dump();

  const std::string greeting = "hello, " + who;
  json vars = global_vars(sim, job);
  EXPECT_EQ(vars["job_instance_id"], job);
  json expected = json::array(
      {{{"step_instance_id", step_id(st, 0)}, {"global_var_list", string_vars(who, greeting)}},
       {{"step_instance_id", step_id(st, 2)}, {"global_var_list", string_vars(who, greeting)}}});
  EXPECT_EQ(vars["step_instance_var_list"], expected);
  auto logs = sim.script_logs(job, step_id(st, 2), {101, 102});
  for (int64_t host : {101, 102}) {
    EXPECT_EQ(logs[host],
              "greeting: " + greeting + "\n<SOPS_VAR>greeting:" + greeting + "</SOPS_VAR>\n");
  }
  // The read-back trailer never shows in the log.
  EXPECT_EQ(sim.script_logs(job, step_id(st, 0), {101})[101],
            "greeting set to: " + greeting + "\n");
}

TEST(JobsimPlanTest, ThreeStepsWithVariablesByNameAndById) {
  Jobsim sim;
  int64_t by_name = execute_ok(
      sim, {{"job_plan_id", 1}, {"global_var_list", {{{"name", "who"}, {"value", "Wörld ✓"}}}}});
  check_three_steps(sim, by_name, "Wörld ✓");
  int64_t by_id = execute_ok(sim, {{"job_plan_id", 1},
                                   {"global_var_list",
                                    {{{"id", 1}, {"name", "not-used"}, {"value", "by id"}},
                                     {{"name", "nope"}, {"value", "x"}}}}});
  check_three_steps(sim, by_id, "by id");
  int64_t defaults = execute_ok(sim, {{"job_plan_id", 1}});
  check_three_steps(sim, defaults, "world");
}

TEST(JobsimPlanTest, ConfirmationTerminatedHasNoCallbackAndCanBeReinitiated) {
  FakeHttpServer receiver;
  Jobsim sim;
  int64_t job =
      execute_ok(sim, {{"job_plan_id", 1}, {"callback_url", receiver.base_url() + "/cb"}});
  json st = wait_status(sim, job, 7);
  const int64_t confirm = step_id(st, 1);
  ASSERT_EQ(operate(sim, job, confirm, 9).value("code", -1), 0);
  st = sim.status(job);
  EXPECT_EQ(st["job_instance"]["status"], 13);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 13);
  EXPECT_TRUE(st["finished"].get<bool>());
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(receiver.requests_received(), 0u);
  // Confirming a terminated confirmation is the wrong state; re-initiating it waits again.
  EXPECT_EQ(operate(sim, job, confirm, 6).value("code", -1), 1241003);
  ASSERT_EQ(operate(sim, job, confirm, 10).value("code", -1), 0);
  st = sim.status(job);
  EXPECT_EQ(st["job_instance"]["status"], 7);
  EXPECT_FALSE(st["finished"].get<bool>());
  ASSERT_EQ(operate(sim, job, confirm, 6).value("code", -1), 0);
  wait_status(sim, job, 3);
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 1; }, 10s));
  json body = json::parse(receiver.requests()[0].body);
  EXPECT_EQ(body["status"], 3);
  ASSERT_EQ(body["step_instances"].size(), 3u);
  EXPECT_EQ(body["step_instances"][1]["step_instance_id"], confirm);
  EXPECT_EQ(body["step_instances"][1]["status"], 3);
}

TEST(JobsimPlanTest, FailingStepRetriedToSuccessCallsBackTwice) {
  FakeHttpServer receiver;
  Jobsim sim;
  int64_t job =
      execute_ok(sim, {{"job_plan_id", 2}, {"callback_url", receiver.base_url() + "/cb"}});
  json st = wait_status(sim, job, 4);
  EXPECT_TRUE(st["finished"].get<bool>());
  EXPECT_EQ(st["step_instance_list"][0]["status"], 4);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 1);
  for (auto& [id, h] : host_results(st)) EXPECT_EQ(h["status"], 104) << id;
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 1; }, 10s));
  // A successful step cannot be retried, nor a failed one confirmed.
  EXPECT_EQ(operate(sim, job, step_id(st, 1), 2).value("code", -1), 1241003);
  EXPECT_EQ(operate(sim, job, step_id(st, 0), 6).value("code", -1), 1241003);
  ASSERT_EQ(operate(sim, job, step_id(st, 0), 2).value("code", -1), 0);
  st = wait_status(sim, job, 3);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 3);
  EXPECT_EQ(st["step_instance_list"][0]["execute_count"], 1);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 3);
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 2; }, 10s));
  auto reqs = receiver.requests();
  EXPECT_EQ(json::parse(reqs[0].body)["status"], 4);
  EXPECT_EQ(json::parse(reqs[1].body)["status"], 3);
  auto logs = sim.script_logs(job, step_id(st, 0), {101});
  EXPECT_EQ(logs[101], "host 101: ok\n");  // the retry's log replaces the failed try's
  json vars = global_vars(sim, job)["step_instance_var_list"];
  ASSERT_EQ(vars.size(), 2u);
  EXPECT_EQ(vars[1]["global_var_list"],
            json::array({{{"name", "fail_first"}, {"value", "true"}, {"type", 1}},
                         {{"name", "result"}, {"value", "done on 101"}, {"type", 1}}}));
}

TEST(JobsimPlanTest, IgnoreErrorContinuesAndAVariableAvoidsTheFailure) {
  Jobsim sim;
  int64_t job = execute_ok(sim, {{"job_plan_id", 2}});
  json st = wait_status(sim, job, 4);
  EXPECT_EQ(operate(sim, job, step_id(st, 0), 12).value("code", -1), 1241003);
  ASSERT_EQ(operate(sim, job, step_id(st, 0), 3).value("code", -1), 0);
  st = wait_status(sim, job, 3);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 6);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 3);

  int64_t ok = execute_ok(
      sim, {{"job_plan_id", 2}, {"global_var_list", {{{"name", "fail_first"}, {"value", "no"}}}}});
  wait_status(sim, ok, 3);
}

TEST(JobsimPlanTest, StartTaskFalseWaitsForOperateJobInstance) {
  Jobsim sim;
  int64_t job = execute_ok(sim, {{"job_plan_id", 2}, {"start_task", false}});
  json st = sim.status(job);
  EXPECT_EQ(st["job_instance"]["status"], 1);
  EXPECT_FALSE(st["finished"].get<bool>());
  json env = sim.post("operate_job_instance",
                      with_scope({{"job_instance_id", job}, {"operation_code", 2}}));
  ASSERT_EQ(env.value("code", -1), 0) << env.dump();
  wait_status(sim, job, 4);
  env = sim.post("operate_job_instance",
                 with_scope({{"job_instance_id", job}, {"operation_code", 2}}));
  EXPECT_EQ(env.value("code", -1), 1241010);
}

TEST(JobsimPlanTest, PlanListFiltersAndPages) {
  Jobsim sim;
  auto list = [&](const std::string& query) {
    json env = sim.get("get_job_plan_list", "bk_scope_type=biz&bk_scope_id=1" + query);
    EXPECT_EQ(env.value("code", -1), 0) << env.dump();
    std::vector<int64_t> ids;
    for (auto& p : env["data"]["data"]) ids.push_back(p["id"].get<int64_t>());
    return std::make_pair(ids, env["data"]);
  };
  auto [all, data] = list("");
  EXPECT_EQ(all, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(data["total"], 2);
  EXPECT_EQ(data["start"], 0);
  EXPECT_EQ(data["length"], 20);
  const json& first = data["data"][0];
  EXPECT_EQ(first["name"], "three steps");
  EXPECT_EQ(first["job_template_id"], 1);
  EXPECT_EQ(first["creator"], "admin");
  EXPECT_EQ(first["create_time"], 1704067200000);
  EXPECT_EQ(first["need_update"], false);
  EXPECT_EQ(first["bk_scope_type"], "biz");
  EXPECT_EQ(list("&name=fail").first, (std::vector<int64_t>{2}));
  EXPECT_EQ(list("&job_template_id=1").first, (std::vector<int64_t>{1}));
  EXPECT_EQ(list("&creator=nobody").first, (std::vector<int64_t>{}));
  EXPECT_EQ(list("&last_modify_time_start=1704067200001").first, (std::vector<int64_t>{2}));
  EXPECT_EQ(list("&create_time_end=1704067199999").first, (std::vector<int64_t>{}));
  auto [paged, paged_data] = list("&start=1&length=1");
  EXPECT_EQ(paged, (std::vector<int64_t>{2}));
  EXPECT_EQ(paged_data["total"], 2);
  json other = sim.get("get_job_plan_list", "bk_scope_type=biz&bk_scope_id=7");
  EXPECT_EQ(other["data"]["total"], 0);
}

TEST(JobsimPlanTest, PlanDetailShowsIdMaskedPasswordAndBase64Script) {
  Jobsim sim;
  json env = sim.get("get_job_plan_detail", "bk_scope_type=biz&bk_scope_id=1&job_plan_id=1");
  ASSERT_EQ(env.value("code", -1), 0) << env.dump();
  const json& d = env["data"];
  EXPECT_EQ(d["id"], 1);
  EXPECT_FALSE(d.contains("job_plan_id"));
  EXPECT_EQ(d["name"], "three steps");
  ASSERT_EQ(d["global_var_list"].size(), 4u);
  EXPECT_EQ(d["global_var_list"][0], json({{"id", 1},
                                           {"name", "who"},
                                           {"description", "who step 1 greets"},
                                           {"type", 1},
                                           {"required", 0},
                                           {"used", 1},
                                           {"value", "world"}}));
  EXPECT_EQ(d["global_var_list"][2]["server"], json({{"host_id_list", {101, 102}}}));
  EXPECT_EQ(d["global_var_list"][3]["type"], 4);
  EXPECT_EQ(d["global_var_list"][3]["value"], "******");
  EXPECT_EQ(d["global_var_list"][3]["used"], 0);
  ASSERT_EQ(d["step_list"].size(), 3u);
  const json& script = d["step_list"][0]["script_info"];
  EXPECT_EQ(d["step_list"][0]["type"], 1);
  EXPECT_EQ(jobsim::base64_decode(script["script_content"].get<std::string>()).value_or(""),
            "greeting=\"hello, ${who}\"\necho \"greeting set to: $greeting\"\n");
  EXPECT_EQ(script["script_language"], 1);
  EXPECT_EQ(script["script_type"], 1);
  EXPECT_EQ(script["server"], json({{"variable", "targets"}}));
  EXPECT_EQ(d["step_list"][1]["type"], 3);
  EXPECT_EQ(sim.get("get_job_plan_detail", "bk_scope_type=biz&bk_scope_id=1&job_plan_id=9")
                .value("code", -1),
            1244012);
  EXPECT_EQ(sim.get("get_job_plan_detail", "bk_scope_type=biz&bk_scope_id=1").value("code", -1),
            1241004);
}

TEST(JobsimPlanTest, JobInstanceListSpanAndFilters) {
  Jobsim sim;
  json script = sim.run_script("echo hi", {101});
  int64_t plan_job = execute_ok(sim, {{"job_plan_id", 2}, {"start_task", false}});
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  const std::string window =
      "bk_scope_type=biz&bk_scope_id=1&create_time_start=" + std::to_string(now - 3600000) +
      "&create_time_end=" + std::to_string(now + 3600000);
  auto list = [&](const std::string& extra) {
    json env = sim.get("get_job_instance_list", window + extra);
    EXPECT_EQ(env.value("code", -1), 0) << env.dump();
    std::vector<int64_t> ids;
    for (auto& j : env["data"]["data"]) ids.push_back(j["job_instance_id"].get<int64_t>());
    return std::make_pair(ids, env["data"]);
  };
  int64_t script_job = script["job_instance_id"];
  auto [ids, data] = list("");
  EXPECT_EQ(ids, (std::vector<int64_t>{plan_job, script_job}));
  const json& item = data["data"][0];
  EXPECT_EQ(item["job_plan_id"], 2);
  EXPECT_EQ(item["job_template_id"], 2);
  EXPECT_EQ(item["name"], "may fail");
  EXPECT_EQ(item["type"], 0);
  EXPECT_EQ(item["launch_mode"], 2);
  EXPECT_EQ(item["status"], 1);
  EXPECT_EQ(data["data"][1]["type"], 1);
  EXPECT_EQ(list("&type=0").first, (std::vector<int64_t>{plan_job}));
  EXPECT_EQ(list("&type=1").first, (std::vector<int64_t>{script_job}));
  EXPECT_EQ(list("&name=may").first, (std::vector<int64_t>{plan_job}));
  EXPECT_EQ(list("&status=1").first, (std::vector<int64_t>{plan_job}));
  EXPECT_EQ(list("&ip=192.0.2.2").first, (std::vector<int64_t>{plan_job}));
  EXPECT_EQ(list("&launch_mode=3").first, (std::vector<int64_t>{}));
  EXPECT_EQ(list("&job_instance_id=" + std::to_string(script_job) + "&type=0").first,
            (std::vector<int64_t>{script_job}));
  EXPECT_EQ(list("&start=1&length=1").first, (std::vector<int64_t>{script_job}));
  // At most 30 days, and both ends required.
  json env = sim.get("get_job_instance_list",
                     "bk_scope_type=biz&bk_scope_id=1&create_time_start=0&create_time_end=" +
                         std::to_string(31LL * 24 * 3600 * 1000));
  EXPECT_EQ(env.value("code", -1), 1241002);
  env = sim.get("get_job_instance_list", "bk_scope_type=biz&bk_scope_id=1&create_time_start=0");
  EXPECT_EQ(env.value("code", -1), 1241002);
}

TEST(JobsimPlanTest, SyntheticExecutorRunsPlanScriptSteps) {
  Jobsim sim({"--hosts", "3", "--executor", "synthetic", "--synthetic-min-ms", "10",
              "--synthetic-max-ms", "50"});
  int64_t job = execute_ok(sim, {{"job_plan_id", 2}});
  json st = wait_status(sim, job, 3);
  EXPECT_EQ(st["step_instance_list"].size(), 2u);
}

// Plans of an inventory file, for the error codes and the terminate paths.
class JobsimPlanInventoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    json hosts = json::array();
    for (int i = 1; i <= 3; ++i) {
      hosts.push_back({{"host_id", 100 + i}, {"ip", "10.0.0." + std::to_string(i)}});
    }
    hosts.push_back({{"host_id", 201}, {"ip", "10.0.7.1"}, {"scope_id", "7"}});
    json targets = {{"variable", "targets"}};
    json host_var = {
        {"id", 1}, {"name", "targets"}, {"type", 3}, {"server", {{"host_id_list", {101}}}}};
    auto script = [&](int id, const std::string& content, json server) {
      return json{{"id", id},
                  {"name", "s" + std::to_string(id)},
                  {"type", 1},
                  {"script_content", content},
                  {"server", server}};
    };
    json disabled = script(1, "true", {{"host_id_list", {101}}});
    disabled["script_disabled"] = true;
    json plans = json::array();
    plans.push_back({{"id", 10}, {"name", "empty"}, {"steps", json::array()}});
    plans.push_back({{"id", 11},
                     {"name", "missing var"},
                     {"steps", json::array({script(1, "true", {{"variable", "nope"}})})}});
    plans.push_back({{"id", 12}, {"name", "disabled"}, {"steps", json::array({disabled})}});
    // The first step ignores SIGTERM, so it stays terminating until the kill grace ends.
    plans.push_back(
        {{"id", 13},
         {"name", "stubborn"},
         {"global_vars", json::array({host_var})},
         {"steps", json::array({script(1, "trap '' TERM\necho ready\nsleep 30", targets),
                                script(2, "echo next", targets)})}});
    plans.push_back(
        {{"id", 14},
         {"name", "guarded"},
         {"global_vars", json::array({host_var})},
         {"steps",
          json::array(
              {{{"id", 1}, {"name", "ok?"}, {"type", 3}, {"confirm_users", json::array({"alice"})}},
               script(2, "echo after", targets)})}});
    json copy = {{"id", 1},
                 {"name", "copy"},
                 {"type", 2},
                 {"file_source_list", json::array({{{"file_list", json::array({"/data/a.txt"})},
                                                    {"server", {{"host_id_list", {102}}}}}})},
                 {"file_destination", {{"path", "/tmp/in/"}, {"server", targets}}}};
    plans.push_back({{"id", 15},
                     {"name", "copy"},
                     {"global_vars", json::array({host_var})},
                     {"steps", json::array({copy})}});
    plans.push_back({{"id", 16},
                     {"name", "slow"},
                     {"global_vars", json::array({host_var})},
                     {"steps", json::array({script(1, "echo ready\nsleep 30", targets),
                                            script(2, "echo next", targets)})}});
    plans.push_back({{"id", 70},
                     {"name", "biz 7"},
                     {"bk_scope_id", "7"},
                     {"steps", json::array({script(1, "true", {{"host_id_list", {201}}})})}});
    std::ofstream(tmp_.file("inventory.json")) << json{{"hosts", hosts}, {"plans", plans}}.dump();
    sim_ = std::make_unique<Jobsim>(std::vector<std::string>{
        "--inventory", tmp_.file("inventory.json"), "--kill-grace-ms", "5000"});
  }

  int64_t code_of(json body) { return execute(*sim_, body).value("code", -1); }

  jobgw::testing::TempDir tmp_{"jobsim-plans"};
  std::unique_ptr<Jobsim> sim_;
};

TEST_F(JobsimPlanInventoryTest, ExecuteErrors) {
  EXPECT_EQ(code_of({{"job_plan_id", 99}}), 1244012);
  EXPECT_EQ(code_of({{"job_plan_id", 70}}), 1244012);  // another business's plan
  EXPECT_EQ(code_of({{"job_plan_id", 10}}), 1244011);
  EXPECT_EQ(code_of({{"job_plan_id", 11}}), 1244008);
  EXPECT_EQ(code_of({{"job_plan_id", 12}}), 1244014);
  EXPECT_EQ(code_of({{"job_plan_id", 13},
                     {"global_var_list",
                      {{{"name", "targets"}, {"server", {{"host_id_list", json::array()}}}}}}}),
            1244009);
  EXPECT_EQ(code_of({{"job_plan_id", 13},
                     {"global_var_list", {{{"id", 1}, {"server", {{"host_id_list", {999}}}}}}}}),
            1244002);
  EXPECT_EQ(code_of({{"job_plan_id", 13},
                     {"global_var_list", {{{"server", {{"host_id_list", {101}}}}}}}}),
            1241005);
  EXPECT_EQ(code_of({{"job_plan_id", 13}, {"global_var_list", "x"}}), 1241005);
  EXPECT_EQ(code_of(json::object()), 1241004);
  EXPECT_EQ(code_of({{"job_plan_id", 0}}), 1241005);
  json env = sim_->post("execute_job_plan",
                        {{"bk_scope_type", "biz"}, {"bk_scope_id", "7"}, {"job_plan_id", 70}});
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  // Step operations on unknown things.
  int64_t job = execute_ok(*sim_, {{"job_plan_id", 14}});
  EXPECT_EQ(operate(*sim_, job, 1, 6).value("code", -1), 1244007);
  EXPECT_EQ(operate(*sim_, 999999, 1, 6).value("code", -1), 1244006);
  json st = wait_status(*sim_, job, 7);
  EXPECT_EQ(operate(*sim_, job, step_id(st, 0), 4).value("code", -1), 1241005);
}

TEST_F(JobsimPlanInventoryTest, OnlyAllowedUsersConfirm) {
  int64_t job = execute_ok(*sim_, {{"job_plan_id", 14}});
  json st = wait_status(*sim_, job, 7);
  EXPECT_EQ(operate(*sim_, job, step_id(st, 0), 6, "bob").value("code", -1), 1244016);
  EXPECT_EQ(operate(*sim_, job, step_id(st, 0), 6, "alice").value("code", -1), 0);
  wait_status(*sim_, job, 3);
}

// Waits until the first step's script on host 101 said it is ready (its SIGTERM trap is set),
// then terminates the job.
json terminate_running(Jobsim& sim, int64_t job) {
  const int64_t first = step_id(sim.status(job), 0);
  EXPECT_TRUE(jobgw::testing::wait_until(
      [&] { return sim.script_logs(job, first, {101})[101].find("ready") != std::string::npos; },
      10s));
  json env = sim.post("operate_job_instance",
                      with_scope({{"job_instance_id", job}, {"operation_code", 1}}));
  EXPECT_EQ(env.value("code", -1), 0) << env.dump();
  return sim.status(job);
}

TEST_F(JobsimPlanInventoryTest, TerminateThenNextStep) {
  FakeHttpServer receiver;
  int64_t job =
      execute_ok(*sim_, {{"job_plan_id", 16}, {"callback_url", receiver.base_url() + "/cb"}});
  json st = terminate_running(*sim_, job);
  st = wait_status(*sim_, job, 11);
  EXPECT_TRUE(st["finished"].get<bool>());
  EXPECT_EQ(st["step_instance_list"][0]["status"], 11);
  EXPECT_EQ(host_results(st)[101]["status"], 103);
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 1; }, 10s));
  EXPECT_EQ(json::parse(receiver.requests()[0].body)["status"], 11);
  EXPECT_EQ(operate(*sim_, job, step_id(st, 0), 3).value("code", -1), 1241003);
  ASSERT_EQ(operate(*sim_, job, step_id(st, 0), 11).value("code", -1), 0);
  st = wait_status(*sim_, job, 3);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 11);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 3);
  ASSERT_TRUE(jobgw::testing::wait_until([&] { return receiver.requests_received() >= 2; }, 10s));
}

TEST_F(JobsimPlanInventoryTest, ForceSkipWhileTerminating) {
  int64_t job = execute_ok(*sim_, {{"job_plan_id", 13}});
  json st = terminate_running(*sim_, job);
  EXPECT_EQ(st["job_instance"]["status"], 10);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 10);
  EXPECT_EQ(operate(*sim_, job, step_id(st, 0), 11).value("code", -1), 1241003);
  ASSERT_EQ(operate(*sim_, job, step_id(st, 0), 12).value("code", -1), 0);
  // The script ignores SIGTERM: once the grace is over it is killed, the step reads as skipped
  // and the next one runs.
  st = wait_status(*sim_, job, 3);
  EXPECT_EQ(st["step_instance_list"][0]["status"], 5);
  EXPECT_EQ(st["step_instance_list"][1]["status"], 3);
}

TEST_F(JobsimPlanInventoryTest, FileStepsCopyToTheVariablesHosts) {
  std::filesystem::create_directories(sim_->sandbox(102) + "/data");
  std::ofstream(sim_->sandbox(102) + "/data/a.txt") << "payload";
  int64_t job = execute_ok(*sim_, {{"job_plan_id", 15}});
  json st = wait_status(*sim_, job, 3);
  EXPECT_EQ(st["step_instance_list"][0]["type"], 2);
  std::ifstream in(sim_->sandbox(101) + "/tmp/in/a.txt");
  std::string copied((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(copied, "payload");
}

}  // namespace
}  // namespace jobsim_test
