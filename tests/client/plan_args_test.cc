#include "client/plan_args.h"

#include <gtest/gtest.h>

#include "client/cli_args.h"

namespace jobgw::client {
namespace {

std::variant<CliCommand, UsageError> parse(const std::vector<std::string>& args) {
  return parse_command_line(args, [](const std::string&) { return std::nullopt; });
}

CliCommand ok(const std::vector<std::string>& args) {
  auto r = parse(args);
  if (auto* e = std::get_if<UsageError>(&r)) ADD_FAILURE() << e->message;
  return std::holds_alternative<CliCommand>(r) ? std::get<CliCommand>(r) : CliCommand{};
}

std::string error(const std::vector<std::string>& args) {
  auto r = parse(args);
  auto* e = std::get_if<UsageError>(&r);
  return e != nullptr ? e->message : "(parsed)";
}

TEST(PlanVariables, ByNameSplitsOnTheFirstEquals) {
  std::string e;
  auto v = parse_var_by_name("query=a=b", &e);
  ASSERT_TRUE(v) << e;
  EXPECT_EQ(v->name(), "query");
  EXPECT_EQ(v->value(), "a=b");
  EXPECT_EQ(v->id(), 0);
  auto empty = parse_var_by_name("who=", &e);
  ASSERT_TRUE(empty);
  // An empty value is still a value (it clears the default), not a missing one.
  EXPECT_EQ(empty->value_kind_case(), v1::PlanVariable::kValue);
  EXPECT_FALSE(parse_var_by_name("who", &e));
  EXPECT_EQ(e, "bad --var 'who' (NAME=VALUE)");
  EXPECT_FALSE(parse_var_by_name("=x", &e));
}

TEST(PlanVariables, ByIdNeedsAPositiveId) {
  std::string e;
  auto v = parse_var_by_id("4=s3cret", &e);
  ASSERT_TRUE(v) << e;
  EXPECT_EQ(v->id(), 4);
  EXPECT_EQ(v->value(), "s3cret");
  EXPECT_TRUE(v->name().empty());
  EXPECT_FALSE(parse_var_by_id("who=x", &e));
  EXPECT_EQ(e, "bad --var-id 'who=x': 'who' is not a variable id");
  EXPECT_FALSE(parse_var_by_id("0=x", &e));
  EXPECT_FALSE(parse_var_by_id("12", &e));
}

TEST(PlanVariables, HostsVarTakesHostIdsAndAddresses) {
  std::string e;
  auto v = parse_hosts_var("targets=101,0:192.0.2.7", &e);
  ASSERT_TRUE(v) << e;
  EXPECT_EQ(v->name(), "targets");
  ASSERT_EQ(v->value_kind_case(), v1::PlanVariable::kHosts);
  ASSERT_EQ(v->hosts().host_ids_size(), 1);
  EXPECT_EQ(v->hosts().host_ids(0), 101);
  ASSERT_EQ(v->hosts().hosts_size(), 1);
  EXPECT_EQ(v->hosts().hosts(0).ip(), "192.0.2.7");
  EXPECT_FALSE(parse_hosts_var("targets=", &e));
  EXPECT_FALSE(parse_hosts_var("targets=101,x", &e));
  EXPECT_EQ(e, "--hosts-var targets: bad host 'x' (a host id or CLOUD:IP)");
}

TEST(StepOperations, EveryNameRoundTrips) {
  const std::vector<std::pair<std::string, v1::StepOperation>> all = {
      {"retry-failed", v1::STEP_OPERATION_RETRY_FAILED},
      {"ignore-error", v1::STEP_OPERATION_IGNORE_ERROR},
      {"confirm", v1::STEP_OPERATION_CONFIRM},
      {"retry-all", v1::STEP_OPERATION_RETRY_ALL},
      {"terminate-confirmation", v1::STEP_OPERATION_TERMINATE_CONFIRMATION},
      {"reinitiate-confirmation", v1::STEP_OPERATION_REINITIATE_CONFIRMATION},
      {"next-step", v1::STEP_OPERATION_NEXT_STEP},
      {"skip", v1::STEP_OPERATION_SKIP}};
  for (const auto& [name, op] : all) {
    EXPECT_EQ(parse_step_operation(name), op) << name;
    EXPECT_EQ(step_operation_text(op), name);
  }
  EXPECT_FALSE(parse_step_operation("CONFIRM"));
  EXPECT_FALSE(parse_step_operation(""));
  EXPECT_EQ(step_operation_text(static_cast<v1::StepOperation>(42)), "42");
}

TEST(PlanCommandLine, PlansFilters) {
  auto c = ok({"plans", "--name", "deploy", "--creator", "admin", "--page-size", "5", "--offset",
               "10", "--json"});
  EXPECT_EQ(c.name, "plans");
  EXPECT_EQ(c.plan_name_filter, "deploy");
  EXPECT_EQ(c.creator, "admin");
  EXPECT_EQ(c.page_size, 5);
  EXPECT_EQ(c.offset, 10);
  EXPECT_EQ(c.output, OutputMode::kJson);
  EXPECT_EQ(error({"plans", "--page-size", "0"}), "bad --page-size '0' (1..1000)");
  EXPECT_EQ(error({"plans", "--offset", "-1"}), "bad --offset '-1' (0..2147483647)");
  EXPECT_EQ(error({"plans", "7"}), "unexpected argument '7'");
}

TEST(PlanCommandLine, RunPlanKeepsVariablesInOrder) {
  auto c = ok({"run-plan", "3", "--var", "who=alice", "--var-id", "4=pw", "--hosts-var",
               "targets=101,102", "--watch", "--logs", "--request-id", "r-1"});
  EXPECT_EQ(c.plan_id, 3);
  ASSERT_EQ(c.plan_variables.size(), 3u);
  EXPECT_EQ(c.plan_variables[0].name(), "who");
  EXPECT_EQ(c.plan_variables[1].id(), 4);
  EXPECT_EQ(c.plan_variables[2].hosts().host_ids_size(), 2);
  EXPECT_TRUE(c.watch);
  EXPECT_TRUE(c.logs);
  EXPECT_EQ(c.request_id, "r-1");
  EXPECT_EQ(error({"run-plan"}), "run-plan needs a PLAN_ID");
  EXPECT_EQ(error({"run-plan", "x"}), "bad PLAN_ID 'x'");
  EXPECT_EQ(error({"run-plan", "3", "--logs"}), "--logs needs --watch");
  EXPECT_EQ(error({"run-plan", "3", "--request-id", "a", "--no-request-id"}),
            "--request-id and --no-request-id do not go together");
  EXPECT_EQ(error({"run-plan", "3", "--var", "who"}), "bad --var 'who' (NAME=VALUE)");
  // exec's flags are not run-plan's.
  EXPECT_EQ(error({"run-plan", "3", "--host-ids", "101"}),
            "unknown flag '--host-ids' for run-plan");
}

TEST(PlanCommandLine, OperateAndConfirm) {
  auto c = ok({"operate", "7", "8", "retry-failed"});
  EXPECT_EQ(c.job_id, 7);
  EXPECT_EQ(c.step_id, 8);
  EXPECT_EQ(c.step_operation, v1::STEP_OPERATION_RETRY_FAILED);
  auto confirm = ok({"confirm", "7", "8"});
  EXPECT_EQ(confirm.name, "confirm");
  EXPECT_EQ(confirm.step_id, 8);
  EXPECT_EQ(error({"operate", "7", "8"}),
            "operate needs an OPERATION (retry-failed, ignore-error, confirm, retry-all, "
            "terminate-confirmation, reinitiate-confirmation, next-step, skip)");
  EXPECT_EQ(error({"operate", "7"}), "operate needs a STEP_ID");
  EXPECT_EQ(error({"confirm"}), "confirm needs a JOB_ID");
  EXPECT_EQ(error({"confirm", "7", "8", "confirm"}), "unexpected argument 'confirm'");
  EXPECT_EQ(error({"operate", "7", "x", "skip"}), "bad STEP_ID 'x'");
}

TEST(PlanCommandLine, Outputs) {
  auto c = ok({"outputs", "9", "--all-hosts", "--per-step"});
  EXPECT_EQ(c.job_id, 9);
  EXPECT_TRUE(c.all_hosts);
  EXPECT_TRUE(c.per_step);
  EXPECT_FALSE(ok({"outputs", "9"}).all_hosts);
  EXPECT_EQ(error({"outputs"}), "outputs needs a JOB_ID");
}

TEST(PlanCommandLine, HelpPagesNameTheirFlags) {
  EXPECT_NE(usage("run-plan").find("--hosts-var NAME=HOSTSPEC"), std::string::npos);
  EXPECT_NE(usage("outputs").find("--per-step"), std::string::npos);
  EXPECT_NE(usage("operate").find("reinitiate-confirmation"), std::string::npos);
  EXPECT_NE(usage("").find("  run-plan   "), std::string::npos);
  EXPECT_NE(usage("plans").find("--addr"), std::string::npos);
}

}  // namespace
}  // namespace jobgw::client
