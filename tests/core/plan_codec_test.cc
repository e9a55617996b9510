#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "core/job/base64.h"
#include "core/job/job_codec.h"

namespace jobgw::core {
namespace {

using nlohmann::json;

JobApiSettings settings(ApiMode mode) {
  JobApiSettings s;
  s.mode = mode;
  s.app_code = "bk_sops";
  s.app_secret = "s3cret";
  return s;
}

std::map<std::string, std::string> query_of(const std::string& target) {
  std::map<std::string, std::string> out;
  auto q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  size_t pos = 0;
  while (true) {
    size_t amp = rest.find('&', pos);
    std::string kv = rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos);
    auto eq = kv.find('=');
    out[kv.substr(0, eq)] = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (amp == std::string::npos) break;
    pos = amp + 1;
  }
  return out;
}

std::string envelope(const std::string& data) {
  return R"({"result":true,"code":0,"message":"success","request_id":"rq","data":)" + data + "}";
}

// ---- encoders ---------------------------------------------------------------------------

TEST(PlanCodecEncode, ExecuteJobPlanCarriesVariablesByIdOrNameAndHostListsAsTargets) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecutePlanRequest r;
  r.scope = {"biz_set", "9"};
  r.job_plan_id = 1001;
  r.operator_name = "alice";
  r.callback_url = "https://gw/cb?t=1";
  PlanVariableValue by_id;
  by_id.id = 7;
  by_id.value = "v1";
  PlanVariableValue by_name;
  by_name.name = "hosts";
  by_name.server = Targets{{101, 102}, {}, {"g1"}, {{5, "module"}}};
  r.variables = {by_id, by_name};
  Result<EncodedCall> call = codec.execute_job_plan(r);
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->method, "POST");
  EXPECT_EQ(call->target, "/api/v3/execute_job_plan/");
  json body = json::parse(call->body);
  EXPECT_EQ(body["bk_scope_type"], "biz_set");
  EXPECT_EQ(body["bk_scope_id"], "9");
  EXPECT_EQ(body["job_plan_id"], 1001);
  EXPECT_EQ(body["callback_url"], "https://gw/cb?t=1");
  EXPECT_FALSE(body.contains("start_task"));
  ASSERT_EQ(body["global_var_list"].size(), 2u);
  EXPECT_EQ(body["global_var_list"][0], (json{{"id", 7}, {"value", "v1"}}));
  const json& server = body["global_var_list"][1]["server"];
  EXPECT_EQ(body["global_var_list"][1]["name"], "hosts");
  EXPECT_FALSE(body["global_var_list"][1].contains("value"));
  EXPECT_EQ(server["host_id_list"], (json{101, 102}));
  EXPECT_EQ(server["dynamic_group_list"], (json{{{"id", "g1"}}}));
  EXPECT_EQ(server["topo_node_list"], (json{{{"id", 5}, {"node_type", "module"}}}));
  ASSERT_EQ(call->headers.size(), 1u);
  EXPECT_NE(call->headers[0].second.find("\"bk_username\":\"alice\""), std::string::npos);
}

TEST(PlanCodecEncode, ExecuteJobPlanSendsStartTaskOnlyWhenFalseAndEsbCredentialsInTheBody) {
  JobCodec codec(settings(ApiMode::kEsb));
  ExecutePlanRequest r;
  r.scope = {"biz", "2"};
  r.job_plan_id = 5;
  r.start_task = false;
  r.variables.push_back(PlanVariableValue{0, "empty", std::string(), std::nullopt});
  Result<EncodedCall> call = codec.execute_job_plan(r);
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->target, "/api/c/compapi/v2/jobv3/execute_job_plan/");
  json body = json::parse(call->body);
  EXPECT_EQ(body["start_task"], false);
  EXPECT_EQ(body["bk_username"], "admin");
  EXPECT_EQ(body["bk_app_code"], "bk_sops");
  // An empty value is a value: it clears the plan's default.
  EXPECT_EQ(body["global_var_list"][0], (json{{"name", "empty"}, {"value", ""}}));
  EXPECT_TRUE(call->headers.empty());
}

TEST(PlanCodecEncode, ExecuteJobPlanRefusesHostListsJobCannotExpress) {
  JobCodec codec(settings(ApiMode::kApigw));
  ExecutePlanRequest r;
  r.job_plan_id = 5;
  PlanVariableValue v;
  v.name = "hosts";
  v.server = Targets{{101}, {Host{0, 0, "192.0.2.1"}}, {}, {}};
  r.variables = {PlanVariableValue{1, "", std::string("x"), std::nullopt}, v};
  Result<EncodedCall> call = codec.execute_job_plan(r);
  ASSERT_FALSE(call.ok());
  EXPECT_EQ(call.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(call.error().message.find("global_vars[1].server.hosts[0]"), std::string::npos)
      << call.error().message;
}

TEST(PlanCodecEncode, ReadsAreGetsWithTheirFiltersInTheQuery) {
  JobCodec codec(settings(ApiMode::kApigw));
  PlanListRequest list;
  list.scope = {"biz", "2"};
  list.name = "deploy app";
  list.creator = "bob";
  list.create_time_start = 1000;
  list.length = 50;
  EncodedCall call = codec.get_job_plan_list(list);
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.target.substr(0, call.target.find('?')), "/api/v3/get_job_plan_list/");
  auto q = query_of(call.target);
  EXPECT_EQ(q["bk_scope_id"], "2");
  EXPECT_EQ(q["name"], "deploy%20app");
  EXPECT_EQ(q["creator"], "bob");
  EXPECT_EQ(q["create_time_start"], "1000");
  EXPECT_EQ(q["length"], "50");
  EXPECT_EQ(q.count("start"), 0u);
  EXPECT_EQ(q.count("job_template_id"), 0u);
  EXPECT_EQ(q.count("create_time_end"), 0u);

  EncodedCall detail = codec.get_job_plan_detail(PlanDetailRequest{{"biz", "2"}, 1001, "carol"});
  EXPECT_EQ(query_of(detail.target)["job_plan_id"], "1001");
  EXPECT_NE(detail.headers[0].second.find("carol"), std::string::npos);

  EncodedCall vars = codec.get_job_instance_global_var_value(GlobalVarValuesRequest{{}, 77, ""});
  EXPECT_EQ(vars.target.substr(0, vars.target.find('?')),
            "/api/v3/get_job_instance_global_var_value/");
  EXPECT_EQ(query_of(vars.target)["job_instance_id"], "77");
  EXPECT_EQ(query_of(vars.target)["bk_scope_type"], "biz");
}

TEST(PlanCodecEncode, JobListAlwaysSendsTheTimeWindowAndOnlySetFilters) {
  JobCodec codec(settings(ApiMode::kEsb));
  JobListRequest r;
  r.scope = {"biz", "2"};
  r.create_time_start = 1;
  r.create_time_end = 2;
  r.type = 0;  // plans: 0 is a filter, not "unset"
  r.job_operator = "dave";
  EncodedCall call = codec.get_job_instance_list(r);
  auto q = query_of(call.target);
  EXPECT_EQ(q["create_time_start"], "1");
  EXPECT_EQ(q["create_time_end"], "2");
  EXPECT_EQ(q["type"], "0");
  EXPECT_EQ(q["operator"], "dave");
  EXPECT_EQ(q["bk_username"], "admin");
  EXPECT_EQ(q.count("status"), 0u);
  EXPECT_EQ(q.count("launch_mode"), 0u);
  EXPECT_EQ(q.count("job_instance_id"), 0u);
}

TEST(PlanCodecEncode, OperateStepInstanceIsAPostNamingJobStepAndCode) {
  JobCodec codec(settings(ApiMode::kApigw));
  EncodedCall call = codec.operate_step_instance(
      OperateStepRequest{{"biz", "2"}, 100, 200, step_operation::kConfirm, "erin"});
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.target, "/api/v3/operate_step_instance/");
  json body = json::parse(call.body);
  EXPECT_EQ(body["job_instance_id"], 100);
  EXPECT_EQ(body["step_instance_id"], 200);
  EXPECT_EQ(body["operation_code"], 6);
}

// ---- decoders ---------------------------------------------------------------------------

TEST(PlanCodecDecode, ExecutePlanAnswerIsAJobRefWithoutStep) {
  auto ref = JobCodec::decode_execute_plan(
      200, envelope(R"({"job_instance_id":555,"job_instance_name":"deploy_20240101"})"));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->job_instance_id, 555);
  EXPECT_EQ(ref->job_instance_name, "deploy_20240101");
  EXPECT_EQ(ref->step_instance_id, 0);
  auto bad = JobCodec::decode_execute_plan(200, envelope(R"({"job_instance_name":"x"})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kDecode);
  EXPECT_NE(bad.error().message.find("data.job_instance_id"), std::string::npos);
}

TEST(PlanCodecDecode, JobBusinessCodesSurviveWithRequestId) {
  for (std::int64_t code : {1244012, 1243009, 1244011, 1244014, 1244008, 1238001}) {
    std::string body = R"({"result":false,"code":)" + std::to_string(code) +
                       R"(,"message":"nope","request_id":"rid","data":null})";
    auto ref = JobCodec::decode_execute_plan(200, body);
    ASSERT_FALSE(ref.ok());
    EXPECT_EQ(ref.error().kind, ErrorKind::kJob);
    EXPECT_EQ(ref.error().job_code, code);
    EXPECT_EQ(ref.error().request_id, "rid");
    auto detail = JobCodec::decode_plan_detail(200, body);
    ASSERT_FALSE(detail.ok());
    EXPECT_EQ(detail.error().job_code, code);
  }
}

TEST(PlanCodecDecode, PlanList) {
  auto page = JobCodec::decode_plan_list(200, envelope(R"({"start":0,"length":20,"total":2,"data":[
      {"bk_scope_type":"biz","bk_scope_id":"2","id":1001,"job_template_id":11,"name":"deploy",
       "creator":"bob","create_time":1700000000000,"last_modify_user":"carol",
       "last_modify_time":1700000001000,"need_update":true},
      {"bk_biz_id":3,"id":1002,"name":"check","need_update":0}]})"));
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 2);
  EXPECT_EQ(page->length, 20);
  ASSERT_EQ(page->plans.size(), 2u);
  const PlanSummary& p = page->plans[0];
  EXPECT_EQ(p.id, 1001);
  EXPECT_EQ(p.job_template_id, 11);
  EXPECT_EQ(p.name, "deploy");
  EXPECT_EQ(p.creator, "bob");
  EXPECT_EQ(p.create_time, 1700000000000);
  EXPECT_EQ(p.last_modify_user, "carol");
  EXPECT_EQ(p.last_modify_time, 1700000001000);
  EXPECT_TRUE(p.need_update);
  EXPECT_EQ(p.scope.id, "2");
  EXPECT_EQ(page->plans[1].scope.id, "3");
  EXPECT_FALSE(page->plans[1].need_update);
}

TEST(PlanCodecDecode, PlanListErrorsNameThePath) {
  auto page =
      JobCodec::decode_plan_list(200, envelope(R"({"total":2,"data":[{"id":1},{"id":"x"}]})"));
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.error().message, "data.data[1].id: expected integer, got string");
  EXPECT_EQ(page.error().request_id, "rq");
  auto flag = JobCodec::decode_plan_list(200, envelope(R"({"data":[{"need_update":"yes"}]})"));
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.error().message.find("data.data[0].need_update: expected boolean or 0/1"),
            std::string::npos)
      << flag.error().message;
  auto entry = JobCodec::decode_plan_list(200, envelope(R"({"data":[3]})"));
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(entry.error().message, "data.data[0]: expected object, got number");
}

std::string plan_detail_body(const std::string& id_field) {
  const std::string script = base64_encode("#!/bin/bash\necho \"$1\"\nresult=done\n");
  const std::string param = base64_encode("--name 世界");
  return envelope(R"J({")J" + id_field + R"J(":1001,"job_template_id":11,"name":"deploy",
    "creator":"bob","create_time":1,"last_modify_user":"carol","last_modify_time":2,
    "bk_scope_type":"biz","bk_scope_id":"2",
    "global_var_list":[
      {"id":1,"name":"version","description":"to deploy","type":1,"required":1,"used":true,
       "value":"1.2"},
      {"id":2,"name":"token","type":4,"required":0,"value":"******"},
      {"id":3,"name":"targets","type":3,"required":1,
       "server":{"host_id_list":[101],
                 "ip_list":[{"bk_host_id":102,"bk_cloud_id":0,"ip":"192.0.2.2"}],
                 "dynamic_group_list":[{"id":"g1"}],"topo_node_list":[{"id":5,"node_type":"set"}]}},
      {"id":4,"name":"pkgs","type":6,"value":"(a b c)"}],
    "step_list":[
      {"id":21,"name":"run","type":1,"script_info":{"script_type":1,
        "script_content":")J" +
                  script + R"J(","script_language":1,
        "script_param":")J" +
                  param + R"J(","script_timeout":600,"is_param_sensitive":0,
        "account":{"id":3,"name":"root"}}},
      {"id":22,"name":"secret run","type":1,"script_info":{"script_type":2,"script_id":"abc",
        "script_version_id":9,"script_content":"","script_param":"KioqKg==",
        "is_param_sensitive":1,"account":{"id":4,"alias":"app"}}},
      {"id":23,"name":"copy","type":2,"file_info":{
        "file_source_list":[{"file_list":["/data/a.tgz"],"server":{"host_id_list":[101]},
                             "account":{"id":3,"name":"root"},"file_type":1}],
        "file_destination":{"path":"/tmp/","account":{"id":3,"name":"root"},
                            "server":{"host_id_list":[102,103]}},
        "timeout":300,"transfer_mode":1,"upload_speed_limit":10,"download_speed_limit":20}},
      {"id":24,"name":"approve","type":3,"approval_info":{"approval_message":"go?",
        "approval_user":{"user_list":["alice"],"role_list":["JOB_RESOURCE_TRIGGER_USER"]},
        "notify_channel":["mail"]}}]})J");
}

TEST(PlanCodecDecode, PlanDetailWithEveryKindOfVariableAndStep) {
  auto plan = JobCodec::decode_plan_detail(200, plan_detail_body("id"));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->id, 1001);
  EXPECT_EQ(plan->job_template_id, 11);
  EXPECT_EQ(plan->name, "deploy");
  EXPECT_EQ(plan->creator, "bob");
  EXPECT_EQ(plan->last_modify_time, 2);
  EXPECT_EQ(plan->scope.id, "2");
  ASSERT_EQ(plan->variables.size(), 4u);
  const PlanVariable& version = plan->variables[0];
  EXPECT_EQ(version.name, "version");
  EXPECT_EQ(version.description, "to deploy");
  EXPECT_EQ(version.type, kVarString);
  EXPECT_TRUE(version.required);
  EXPECT_TRUE(version.used);
  EXPECT_EQ(version.value, "1.2");
  EXPECT_FALSE(version.masked_value);
  EXPECT_FALSE(version.server.has_value());
  const PlanVariable& token = plan->variables[1];
  EXPECT_EQ(token.type, kVarPassword);
  EXPECT_EQ(token.value, "");
  EXPECT_TRUE(token.masked_value);
  EXPECT_FALSE(token.required);
  const PlanVariable& targets = plan->variables[2];
  ASSERT_TRUE(targets.server.has_value());
  EXPECT_EQ(targets.server->host_ids, (std::vector<std::int64_t>{101}));
  ASSERT_EQ(targets.server->hosts.size(), 1u);
  EXPECT_EQ(targets.server->hosts[0].host_id, 102);
  EXPECT_EQ(targets.server->hosts[0].ip, "192.0.2.2");
  EXPECT_EQ(targets.server->dynamic_group_ids, (std::vector<std::string>{"g1"}));
  ASSERT_EQ(targets.server->topo_nodes.size(), 1u);
  EXPECT_EQ(targets.server->topo_nodes[0].node_type, "set");
  EXPECT_EQ(plan->variables[3].value, "(a b c)");

  ASSERT_EQ(plan->steps.size(), 4u);
  const PlanStep& run = plan->steps[0];
  EXPECT_EQ(run.id, 21);
  EXPECT_EQ(run.type, kPlanStepScript);
  ASSERT_TRUE(run.script.has_value());
  EXPECT_EQ(run.script->script_content, "#!/bin/bash\necho \"$1\"\nresult=done\n");
  EXPECT_EQ(run.script->script_param, "--name 世界");
  EXPECT_EQ(run.script->timeout_seconds, 600);
  EXPECT_EQ(run.script->account.id, 3);
  EXPECT_EQ(run.script->account.name, "root");
  EXPECT_FALSE(run.file.has_value());
  const PlanStep& secret = plan->steps[1];
  EXPECT_TRUE(secret.script->param_sensitive);
  EXPECT_EQ(secret.script->script_param, "");
  EXPECT_EQ(secret.script->script_id, "abc");
  EXPECT_EQ(secret.script->script_version_id, 9);
  EXPECT_EQ(secret.script->account.name, "app");
  const PlanStep& copy = plan->steps[2];
  ASSERT_TRUE(copy.file.has_value());
  ASSERT_EQ(copy.file->sources.size(), 1u);
  EXPECT_EQ(copy.file->sources[0].files, (std::vector<std::string>{"/data/a.tgz"}));
  EXPECT_EQ(copy.file->sources[0].server->host_ids, (std::vector<std::int64_t>{101}));
  EXPECT_EQ(copy.file->destination_path, "/tmp/");
  EXPECT_EQ(copy.file->destination_server->host_ids, (std::vector<std::int64_t>{102, 103}));
  EXPECT_EQ(copy.file->transfer_mode, kTransferModeStrict);
  EXPECT_EQ(copy.file->upload_limit_mb, 10);
  EXPECT_EQ(copy.file->download_limit_mb, 20);
  const PlanStep& approve = plan->steps[3];
  EXPECT_EQ(approve.type, kPlanStepConfirm);
  ASSERT_TRUE(approve.approval.has_value());
  EXPECT_EQ(approve.approval->message, "go?");
  EXPECT_EQ(approve.approval->approval_users, (std::vector<std::string>{"alice"}));
  EXPECT_EQ(approve.approval->notify_channels, (std::vector<std::string>{"mail"}));
}

TEST(PlanCodecDecode, PlanDetailAcceptsTheDocumentedJobPlanId) {
  auto plan = JobCodec::decode_plan_detail(200, plan_detail_body("job_plan_id"));
  ASSERT_TRUE(plan.ok()) << plan.error().message;
  EXPECT_EQ(plan->id, 1001);
  auto none = JobCodec::decode_plan_detail(200, envelope(R"({"name":"x"})"));
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("data.id"), std::string::npos);
}

TEST(PlanCodecDecode, PlanDetailErrorsNameThePath) {
  struct Case {
    const char* data;
    const char* message;
  };
  const Case cases[] = {
      {R"({"id":1,"step_list":[{"id":2,"script_info":{"script_content":"!!"}}]})",
       "data.step_list[0].script_info.script_content: not Base64"},
      {R"({"id":1,"global_var_list":[{"id":1,"server":{"host_id_list":["a"]}}]})",
       "data.global_var_list[0].server.host_id_list[0]: expected integer, got string"},
      {R"({"id":1,"global_var_list":[{"id":1,"required":"yes"}]})",
       "data.global_var_list[0].required: expected boolean or 0/1, got string"},
      {R"({"id":1,"step_list":[{"file_info":{"file_source_list":[{"file_list":[1]}]}}]})",
       "data.step_list[0].file_info.file_source_list[0].file_list[0]: expected string, got "
       "number"},
      {R"({"id":1,"step_list":[{"script_info":{"account":[1]}}]})",
       "data.step_list[0].script_info.account: expected object, integer or string, got array"},
      {R"({"id":1,"step_list":{}})", "data.step_list: expected array, got object"},
  };
  for (const Case& c : cases) {
    auto plan = JobCodec::decode_plan_detail(200, envelope(c.data));
    ASSERT_FALSE(plan.ok()) << c.data;
    EXPECT_EQ(plan.error().kind, ErrorKind::kDecode);
    EXPECT_EQ(plan.error().message, c.message);
    EXPECT_EQ(plan.error().request_id, "rq");
  }
}

TEST(PlanCodecDecode, GlobalVarValuesPerStep) {
  auto vars = JobCodec::decode_global_vars(200, envelope(R"({"job_instance_id":555,
    "step_instance_var_list":[
      {"step_instance_id":1,"global_var_list":[{"name":"result","value":"","type":1}]},
      {"step_instance_id":2,"global_var_list":[{"name":"result","value":"done","type":1}]}]})"));
  ASSERT_TRUE(vars.ok()) << vars.error().message;
  EXPECT_EQ(vars->job_instance_id, 555);
  ASSERT_EQ(vars->steps.size(), 2u);
  EXPECT_EQ(vars->steps[1].step_instance_id, 2);
  ASSERT_EQ(vars->steps[1].vars.size(), 1u);
  EXPECT_EQ(vars->steps[1].vars[0].name, "result");
  EXPECT_EQ(vars->steps[1].vars[0].value, "done");
  EXPECT_EQ(vars->steps[1].vars[0].type, kVarString);
  auto bad = JobCodec::decode_global_vars(
      200, envelope(R"({"step_instance_var_list":[{"global_var_list":[{"value":5}]}]})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "data.step_instance_var_list[0].global_var_list[0].value: expected string, got number");
}

TEST(PlanCodecDecode, JobInstanceList) {
  auto page = JobCodec::decode_job_list(200, envelope(R"({"start":0,"length":10,"total":1,"data":[
    {"job_instance_id":555,"job_plan_id":1001,"job_template_id":11,"name":"deploy",
     "operator":"bob","launch_mode":2,"status":7,"type":0,"create_time":1,"start_time":2,
     "end_time":0,"total_time":5,"bk_scope_type":"biz","bk_scope_id":"2"}]})"));
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 1);
  ASSERT_EQ(page->jobs.size(), 1u);
  const JobInstanceSummary& j = page->jobs[0];
  EXPECT_EQ(j.job_instance_id, 555);
  EXPECT_EQ(j.job_plan_id, 1001);
  EXPECT_EQ(j.job_template_id, 11);
  EXPECT_EQ(j.job_operator, "bob");
  EXPECT_EQ(j.launch_mode, 2);
  EXPECT_EQ(j.status, 7);
  EXPECT_EQ(j.type, 0);
  EXPECT_EQ(j.start_time, 2);
  EXPECT_EQ(j.total_time, 5);
  EXPECT_EQ(j.scope.id, "2");
}

TEST(PlanCodecDecode, OperateStepAnswerAndWrongStateIsAFailedPrecondition) {
  auto ref = JobCodec::decode_operate_step(
      200, envelope(R"({"job_instance_id":555,"step_instance_id":9})"));
  ASSERT_TRUE(ref.ok()) << ref.error().message;
  EXPECT_EQ(ref->job_instance_id, 555);
  EXPECT_EQ(ref->step_instance_id, 9);
  auto refused = JobCodec::decode_operate_step(
      200, R"({"result":false,"code":1241003,"message":"state","request_id":"r"})");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kFailedPrecondition);
  EXPECT_EQ(refused.error().job_code, 1241003);
  auto denied = JobCodec::decode_operate_step(
      200, R"({"result":false,"code":1244016,"message":"not a confirmer"})");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().kind, ErrorKind::kJob);
  EXPECT_EQ(denied.error().job_code, 1244016);
}

// A plan's status: a confirmation step waiting (7) with no host results next to script steps.
TEST(PlanCodecDecode, JobStatusKeepsConfirmationStepsWithoutHosts) {
  auto snap = JobCodec::decode_job_status(200, envelope(R"({"finished":false,
    "job_instance":{"job_instance_id":555,"status":7,"name":"deploy","bk_scope_id":"2"},
    "step_instance_list":[
      {"step_instance_id":1,"type":1,"name":"run","status":3,"step_ip_result_list":[
        {"bk_host_id":101,"status":9,"exit_code":0}]},
      {"step_instance_id":2,"type":3,"name":"approve","status":7},
      {"step_instance_id":3,"type":2,"name":"copy","status":1,"step_ip_result_list":[]}]})"));
  ASSERT_TRUE(snap.ok()) << snap.error().message;
  EXPECT_FALSE(snap->finished);
  EXPECT_EQ(snap->status, 7);
  ASSERT_EQ(snap->steps.size(), 3u);
  EXPECT_EQ(snap->steps[0].hosts.size(), 1u);
  EXPECT_EQ(snap->steps[1].step_instance_id, 2);
  EXPECT_EQ(snap->steps[1].type, kPlanStepConfirm);
  EXPECT_EQ(snap->steps[1].status, 7);
  EXPECT_EQ(snap->steps[1].name, "approve");
  EXPECT_TRUE(snap->steps[1].hosts.empty());
  EXPECT_EQ(snap->steps[2].type, kStepFile);
}

}  // namespace
}  // namespace jobgw::core
