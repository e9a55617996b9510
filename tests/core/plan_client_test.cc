#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <future>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "core/job/job_client.h"
#include "tests/core/job_client_test_support.h"
#include "tests/support/fake_http_server.h"

namespace jobgw::core {
namespace {

using jobgw::testing::FakeHttpServer;
using jobgw::testing::FakeResponse;
using jobgw::testing::RecordedRequest;
using nlohmann::json;
using testing::config_for;
using testing::IoThread;
using testing::Waiter;

const char* kExecuteOk =
    R"({"result":true,"code":0,"request_id":"r1","data":{"job_instance_id":555,"job_instance_name":"deploy_1"}})";

const char* kDetailOk = R"({"result":true,"code":0,"request_id":"r2","data":{"id":1001,
  "name":"deploy","global_var_list":[{"id":1,"name":"version","type":1,"required":1,"value":"1.0"},
                                     {"id":2,"name":"token","type":4,"value":"******"}],
  "step_list":[{"id":21,"name":"run","type":1,"script_info":{"script_content":"ZWNobyBoaQ==",
                "script_language":1}},
               {"id":22,"name":"approve","type":3}]}})";

ExecutePlanRequest execute_request() {
  ExecutePlanRequest r;
  r.scope = {"biz", "2"};
  r.job_plan_id = 1001;
  r.operator_name = "alice";
  PlanVariableValue v;
  v.id = 1;
  v.value = "2.0";
  r.variables.push_back(v);
  return r;
}

TEST(PlanClient, ExecuteJobPlanPostsAndDecodes) {
  FakeHttpServer server([](const RecordedRequest&) { return FakeResponse::json(kExecuteOk); });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  ASSERT_TRUE(client.ok()) << client.error().message;
  Waiter<JobRef> w;
  (*client)->execute_job_plan(execute_request(), w.callback());
  Result<JobRef> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(r->job_instance_id, 555);
  EXPECT_EQ(r->job_instance_name, "deploy_1");
  const RecordedRequest req = server.requests().at(0);
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/api/v3/execute_job_plan/");
  json body = json::parse(req.body);
  EXPECT_EQ(body["job_plan_id"], 1001);
  EXPECT_EQ(body["global_var_list"][0]["value"], "2.0");
  json auth = json::parse(req.header("X-Bkapi-Authorization").value_or("{}"));
  EXPECT_EQ(auth["bk_username"], "alice");
}

TEST(PlanClient, ExecuteJobPlanIsNeverSentTwice) {
  const std::string full = kExecuteOk;
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    // First an answer cut in half (the plan may have started), then a gateway error.
    if (n++ == 0) return FakeResponse::json(full.substr(0, full.size() / 2));
    return FakeResponse::with_status(502, "<html>bad gateway</html>");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobRef> cut;
  (*client)->execute_job_plan(execute_request(), cut.callback());
  Result<JobRef> r = cut.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kDecode);
  EXPECT_EQ(server.requests_received(), 1u);

  Waiter<JobRef> bad_gateway;
  (*client)->execute_job_plan(execute_request(), bad_gateway.callback());
  Result<JobRef> r2 = bad_gateway.get();
  ASSERT_FALSE(r2.ok());
  EXPECT_EQ(r2.error().kind, ErrorKind::kHttp);
  EXPECT_EQ(r2.error().http_status, 502);
  EXPECT_EQ(server.requests_received(), 2u);
}

TEST(PlanClient, ExecuteJobPlanKeepsJobsCode) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::json(
        R"({"result":false,"code":1244012,"message":"plan not exist","request_id":"abc"})");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobRef> w;
  (*client)->execute_job_plan(execute_request(), w.callback());
  Result<JobRef> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kJob);
  EXPECT_EQ(r.error().job_code, 1244012);
  EXPECT_EQ(r.error().request_id, "abc");
}

TEST(PlanClient, PlanDetailIsAReadRetriedOnGatewayErrors) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest&) {
    if (n++ == 0) return FakeResponse::with_status(503, "busy");
    return FakeResponse::json(kDetailOk);
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<PlanDetail> w;
  (*client)->get_job_plan_detail(PlanDetailRequest{{"biz", "2"}, 1001, ""}, w.callback());
  Result<PlanDetail> r = w.get();
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_EQ(server.requests_received(), 2u);
  EXPECT_EQ(r->id, 1001);
  ASSERT_EQ(r->variables.size(), 2u);
  EXPECT_EQ(r->variables[1].value, "");
  EXPECT_TRUE(r->variables[1].masked_value);
  ASSERT_EQ(r->steps.size(), 2u);
  EXPECT_EQ(r->steps[0].script->script_content, "echo hi");
  EXPECT_EQ(r->steps[1].type, kPlanStepConfirm);
  const RecordedRequest req = server.requests().at(1);
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.target.rfind("/api/v3/get_job_plan_detail/?", 0), 0u) << req.target;
  EXPECT_NE(req.target.find("job_plan_id=1001"), std::string::npos);
}

TEST(PlanClient, OperateStepInstanceIsNotRetriedAndWrongStateIsAPrecondition) {
  FakeHttpServer server([](const RecordedRequest&) {
    return FakeResponse::json(
        R"({"result":false,"code":1241003,"message":"step status not allowed","request_id":"x"})");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<StepRef> w;
  (*client)->operate_step_instance(
      OperateStepRequest{{"biz", "2"}, 555, 9, step_operation::kConfirm, "bob"}, w.callback());
  Result<StepRef> r = w.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kFailedPrecondition);
  EXPECT_EQ(r.error().job_code, 1241003);
  EXPECT_EQ(server.count("POST"), 1u);
}

TEST(PlanClient, GlobalVarsAndJobListAreReads) {
  std::atomic<int> n{0};
  FakeHttpServer server([&](const RecordedRequest& req) {
    if (n++ == 0) return FakeResponse::with_status(502, "down");
    if (req.target.find("get_job_plan_list") != std::string::npos) {
      return FakeResponse::json(
          R"({"result":true,"code":0,"data":{"total":7,"data":[{"id":1001,"name":"deploy"}]}})");
    }
    if (req.target.find("get_job_instance_list") != std::string::npos) {
      return FakeResponse::json(
          R"({"result":true,"code":0,"data":{"total":1,"data":[{"job_instance_id":555,"type":0}]}})");
    }
    return FakeResponse::json(R"({"result":true,"code":0,"data":{"job_instance_id":555,
      "step_instance_var_list":[{"step_instance_id":1,"global_var_list":[{"name":"r","value":"x","type":1}]}]}})");
  });
  IoThread io;
  auto client = JobClient::create(io.io(), config_for(server));
  Waiter<JobGlobalVars> vars;
  (*client)->get_job_instance_global_var_value(GlobalVarValuesRequest{{"biz", "2"}, 555, ""},
                                               vars.callback());
  Result<JobGlobalVars> v = vars.get();
  ASSERT_TRUE(v.ok()) << v.error().describe();
  EXPECT_EQ(v->steps.at(0).vars.at(0).value, "x");
  EXPECT_EQ(server.requests_received(), 2u);

  Waiter<JobInstancePage> list;
  JobListRequest lr;
  lr.scope = {"biz", "2"};
  lr.create_time_start = 1;
  lr.create_time_end = 2;
  (*client)->get_job_instance_list(lr, list.callback());
  Result<JobInstancePage> page = list.get();
  ASSERT_TRUE(page.ok()) << page.error().describe();
  EXPECT_EQ(page->jobs.at(0).job_instance_id, 555);

  Waiter<PlanPage> plans;
  (*client)->get_job_plan_list(PlanListRequest{}, plans.callback());
  Result<PlanPage> p = plans.get();
  ASSERT_TRUE(p.ok()) << p.error().describe();
  EXPECT_EQ(p->total, 7);
  EXPECT_EQ(p->plans.at(0).name, "deploy");
  EXPECT_EQ(server.requests().back().target.rfind("/api/v3/get_job_plan_list/?", 0), 0u);
}

}  // namespace
}  // namespace jobgw::core
