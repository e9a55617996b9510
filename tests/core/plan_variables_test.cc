#include "core/job/plan_variables.h"

#include <gtest/gtest.h>

#include <string>

#include "core/job/plan_outputs.h"

namespace jobgw::core {
namespace {

PlanVariable var(std::int64_t id, std::string name, int type, bool required,
                 std::string value = {}) {
  PlanVariable v;
  v.id = id;
  v.name = std::move(name);
  v.type = type;
  v.required = required;
  v.value = std::move(value);
  return v;
}

PlanDetail plan() {
  PlanDetail p;
  p.id = 1001;
  p.variables.push_back(var(1, "version", kVarString, true, "1.0"));
  p.variables.push_back(var(2, "token", kVarPassword, true));
  p.variables.back().masked_value = true;
  p.variables.push_back(var(3, "hosts", kVarHostList, true));
  p.variables.back().server = Targets{{101}, {}, {}, {}};
  p.variables.push_back(var(4, "pkgs", kVarIndexArray, false));
  p.variables.push_back(var(5, "opts", kVarAssocArray, false));
  p.variables.push_back(var(6, "ns", kVarNamespace, false));
  return p;
}

PlanVariableValue by_name(std::string name, std::string value) {
  PlanVariableValue v;
  v.name = std::move(name);
  v.value = std::move(value);
  return v;
}

PlanVariableValue hosts_by_name(std::string name, Targets server) {
  PlanVariableValue v;
  v.name = std::move(name);
  v.server = std::move(server);
  return v;
}

std::string error_of(const PlanDetail& p, const std::vector<PlanVariableValue>& given) {
  auto r = resolve_plan_variables(p, given);
  if (r.ok()) return "ok";
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
  return r.error().message;
}

TEST(PlanVariables, ResolvesNamesToIdsInTheOrderGiven) {
  PlanVariableValue by_id;
  by_id.id = 1;
  by_id.name = "version";
  by_id.value = "2.0";
  auto r = resolve_plan_variables(
      plan(), {hosts_by_name("hosts", Targets{{102, 103}, {}, {}, {}}), by_id,
               by_name("pkgs", " (a b c) "), by_name("opts", "([k]=v)"), by_name("ns", "x")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->size(), 5u);
  EXPECT_EQ((*r)[0].id, 3);
  EXPECT_TRUE((*r)[0].name.empty());
  ASSERT_TRUE((*r)[0].server.has_value());
  EXPECT_EQ((*r)[0].server->host_ids, (std::vector<std::int64_t>{102, 103}));
  EXPECT_FALSE((*r)[0].value.has_value());
  EXPECT_EQ((*r)[1].id, 1);
  EXPECT_EQ((*r)[1].value, "2.0");
  EXPECT_EQ((*r)[2].id, 4);
  EXPECT_EQ((*r)[4].id, 6);
}

TEST(PlanVariables, NothingGivenKeepsDefaultsIncludingAMaskedPassword) {
  auto r = resolve_plan_variables(plan(), {});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->empty());
}

TEST(PlanVariables, VariableWithoutIdIsSentByName) {
  PlanDetail p;
  p.variables.push_back(var(0, "legacy", kVarString, false));
  auto r = resolve_plan_variables(p, {by_name("legacy", "x")});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)[0].id, 0);
  EXPECT_EQ((*r)[0].name, "legacy");
}

TEST(PlanVariables, UnknownVariablesAreNamed) {
  EXPECT_EQ(error_of(plan(), {by_name("version", "1"), by_name("ns", "x"), by_name("foo", "1")}),
            "variables[2]: the plan has no variable named \"foo\"");
  PlanVariableValue id_only;
  id_only.id = 99;
  id_only.value = "1";
  EXPECT_EQ(error_of(plan(), {id_only}), "variables[0]: the plan has no variable with id 99");
  EXPECT_EQ(error_of(plan(), {PlanVariableValue{0, "", std::string("x"), std::nullopt}}),
            "variables[0]: names no variable (give its id or name)");
}

TEST(PlanVariables, IdAndNameMustNameTheSameVariable) {
  PlanVariableValue both = by_name("ns", "x");
  both.id = 1;
  EXPECT_EQ(error_of(plan(), {both}),
            "variables[0]: id 1 is \"version\" but the name given is \"ns\"");
}

TEST(PlanVariables, WrongKindIsNamedWithItsType) {
  EXPECT_EQ(error_of(plan(), {by_name("hosts", "192.0.2.1")}),
            "variables[0]: \"hosts\" (host list) takes a server, not a value");
  EXPECT_EQ(error_of(plan(), {hosts_by_name("version", Targets{{1}, {}, {}, {}})}),
            "variables[0]: \"version\" (string) takes a value, not a server");
  PlanVariableValue both = by_name("ns", "x");
  both.server = Targets{{1}, {}, {}, {}};
  EXPECT_EQ(error_of(plan(), {both}),
            "variables[0]: \"ns\" (namespace) takes a value or a server, not both");
  PlanVariableValue neither;
  neither.name = "ns";
  EXPECT_EQ(error_of(plan(), {neither}), "variables[0]: \"ns\" (namespace) is given no value");
}

TEST(PlanVariables, ArrayValuesMustBeParenthesised) {
  EXPECT_EQ(error_of(plan(), {by_name("pkgs", "a b c")}),
            "variables[0]: \"pkgs\" (indexed array) takes a bash array literal such as (a b c) "
            "or ([k]=v), got a value not in parentheses");
  EXPECT_NE(error_of(plan(), {by_name("opts", "(")}), "ok");
  EXPECT_NE(error_of(plan(), {by_name("opts", "[k]=v)")}), "ok");
  EXPECT_EQ(error_of(plan(), {by_name("opts", "()")}), "ok");
  EXPECT_EQ(error_of(plan(), {by_name("pkgs", "")}), "ok");  // clears a non-required array
  // A string variable takes any text.
  EXPECT_EQ(error_of(plan(), {by_name("version", "a b c")}), "ok");
}

TEST(PlanVariables, RequiredVariablesNeedAValue) {
  PlanDetail p = plan();
  p.variables.push_back(var(7, "target_dir", kVarString, true));
  EXPECT_EQ(error_of(p, {}),
            "variables: \"target_dir\" (string) is required and the plan has no default for it");
  EXPECT_EQ(error_of(p, {by_name("target_dir", "/data")}), "ok");
  EXPECT_EQ(error_of(p, {by_name("target_dir", "/data"), by_name("version", "")}),
            "variables[1]: \"version\" (string) is required and the value given is empty");
  EXPECT_EQ(error_of(p, {by_name("target_dir", "/d"), hosts_by_name("hosts", Targets{})}),
            "variables[1]: \"hosts\" (host list) is required and the server given is empty");
  PlanDetail no_hosts = plan();
  no_hosts.variables[2].server.reset();
  EXPECT_EQ(error_of(no_hosts, {}),
            "variables: \"hosts\" (host list) is required and the plan has no default for it");
  PlanDetail no_password = plan();
  no_password.variables[1].masked_value = false;
  EXPECT_EQ(error_of(no_password, {}),
            "variables: \"token\" (password) is required and the plan has no default for it");
  EXPECT_EQ(error_of(no_password, {by_name("token", "s3cret")}), "ok");
}

TEST(PlanVariables, TheSameVariableTwiceIsAnError) {
  PlanVariableValue by_id;
  by_id.id = 6;
  by_id.value = "y";
  EXPECT_EQ(error_of(plan(), {by_name("version", "1"), by_name("ns", "x"), by_id}),
            "variables[2]: \"ns\" is already given by variables[1]");
}

TEST(PlanVariables, UnknownTypesPassThroughWithTheirNumber) {
  PlanDetail p;
  p.variables.push_back(var(1, "future", 9, false));
  EXPECT_EQ(error_of(p, {by_name("future", "x")}), "ok");
  EXPECT_EQ(error_of(p, {hosts_by_name("future", Targets{{1}, {}, {}, {}})}),
            "variables[0]: \"future\" (type 9) takes a value, not a server");
}

HostResult host(std::int64_t id, int status) {
  HostResult h;
  h.host.host_id = id;
  h.status = status;
  return h;
}

TEST(PlanOutputs, GroupsHostsAsBkSopsDoes) {
  StepSnapshot step;
  step.hosts = {host(1, 9), host(2, 104), host(3, 310), host(4, 9), host(5, 7), host(6, 101)};
  StepHostGroups g = group_step_hosts(step);
  ASSERT_EQ(g.success.size(), 2u);
  EXPECT_EQ(g.success[0].host.host_id, 1);
  EXPECT_EQ(g.success[1].host.host_id, 4);
  ASSERT_EQ(g.non_zero_exit.size(), 1u);
  EXPECT_EQ(g.non_zero_exit[0].host.host_id, 2);
  ASSERT_EQ(g.other.size(), 3u);
  EXPECT_EQ(g.other[0].host.host_id, 3);
  EXPECT_EQ(g.other[2].host.host_id, 6);
  EXPECT_TRUE(group_step_hosts(StepSnapshot{}).success.empty());
}

}  // namespace
}  // namespace jobgw::core
