// Unit: job plans of an inventory file, the demo plans, ${var} substitution and declarations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "jobsim/plan.h"

namespace jobsim {
namespace {

using nlohmann::json;

TEST(JobsimPlanCatalogTest, ParsesPlansWithDefaults) {
  json doc = {
      {"hosts", json::array()},
      {"plans",
       json::array({{{"id", 5},
                     {"name", "p"},
                     {"global_vars", json::array({{{"id", 1}, {"name", "a"}, {"value", "x"}}})},
                     {"steps", json::array({{{"id", 1},
                                             {"script_content", "echo ${a}"},
                                             {"server", {{"variable", "hosts"}}}}})}}})}};
  PlanCatalog c = PlanCatalog::from_json_text(doc.dump());
  ASSERT_NE(c.find(5), nullptr);
  const Plan& p = *c.find(5);
  EXPECT_EQ(p.scope, Scope{});
  EXPECT_EQ(p.creator, "admin");
  EXPECT_EQ(p.create_time, 1704067200000);
  EXPECT_EQ(p.vars[0].type, 1);
  EXPECT_EQ(p.steps[0].type, 1);
  EXPECT_EQ(p.steps[0].timeout, 7200);
  EXPECT_EQ(PlanCatalog::from_json_text("{}").plans().size(), 0u);
}

TEST(JobsimPlanCatalogTest, RefusesBrokenPlans) {
  auto parse = [](json plans) { PlanCatalog::from_json_text(json{{"plans", plans}}.dump()); };
  EXPECT_THROW(parse(json::array({{{"name", "no id"}}})), std::runtime_error);
  EXPECT_THROW(parse(json::array({{{"id", 1}, {"name", "a"}}, {{"id", 1}, {"name", "b"}}})),
               std::runtime_error);
  EXPECT_THROW(
      parse(json::array(
          {{{"id", 1}, {"name", "a"}, {"steps", json::array({{{"id", 1}, {"type", 9}}})}}})),
      std::runtime_error);
  EXPECT_THROW(parse(json::array({{{"id", 1},
                                   {"name", "a"},
                                   {"steps", json::array({{{"id", 1},
                                                           {"script_content", "x"},
                                                           {"script_param", "'open"},
                                                           {"server", {{"variable", "t"}}}}})}}})),
               std::runtime_error);
  EXPECT_THROW(parse(json::array({{{"id", 1},
                                   {"name", "a"},
                                   {"global_vars", json::array({{{"id", 1}, {"name", "v"}},
                                                                {{"id", 2}, {"name", "v"}}})}}})),
               std::runtime_error);
}

TEST(JobsimPlanCatalogTest, DemoPlansUseTheFirstTwoHosts) {
  PlanCatalog c = PlanCatalog::demo(Inventory::generate(5));
  ASSERT_EQ(c.plans().size(), 2u);
  EXPECT_EQ(c.find(1)->name, "three steps");
  EXPECT_EQ(c.find(1)->find_var("targets")->server, json({{"host_id_list", {101, 102}}}));
  EXPECT_EQ(c.find(2)->name, "may fail");
  EXPECT_EQ(PlanCatalog::demo(Inventory::generate(1)).find(2)->find_var("targets")->server,
            json({{"host_id_list", {101}}}));
}

TEST(JobsimPlanVarsTest, SubstitutesStringLikeVariablesOnly) {
  std::vector<JobVar> vars = {{1, "s", 1, "v1"}, {2, "pw", 4, "p"}, {3, "arr", 6, "(a b)"}};
  EXPECT_EQ(substitute_vars("${s}/${pw}/${arr}/${unknown}/$s/${", vars),
            "v1/p/${arr}/${unknown}/$s/${");
  EXPECT_TRUE(mentions_var("x ${s} y", "s"));
  EXPECT_FALSE(mentions_var("x $s y", "s"));
}

TEST(JobsimPlanVarsTest, DeclaresVariablesForBash) {
  std::vector<JobVar> vars = {{1, "s", 1, "it's"}, {2, "m", 5, "([k]=v)"}, {3, "bad-name", 1, "x"}};
  EXPECT_EQ(bash_declarations(vars), "s='it'\\''s'\ndeclare -A m=([k]=v)\n");
}

}  // namespace
}  // namespace jobsim
