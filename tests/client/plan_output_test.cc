// What the job-plan commands print: the plan tables, outputs, and a watch of a plan's job (every
// step, the current step's hosts, the confirmation prompt).
#include <gtest/gtest.h>

#include <sstream>

#include "client/plan_commands.h"
#include "client/plan_view.h"
#include "client/watch_renderer.h"

namespace jobgw::client {
namespace {

std::string fixed_time(std::int64_t ms) { return "T" + std::to_string(ms); }

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

TEST(PlanTable, ColumnsAndPaging) {
  v1::ListJobPlansResponse page;
  auto* a = page.add_plans();
  a->set_job_plan_id(1);
  a->set_name("three steps");
  a->set_creator("admin");
  a->set_last_modify_user("bob");
  a->set_last_modify_time_ms(5);
  auto* b = page.add_plans();
  b->set_job_plan_id(22);
  b->set_name("may fail");
  b->set_last_modify_time_ms(6);
  page.set_total(2);
  EXPECT_EQ(joined(plan_table_lines(page, fixed_time)),
            "PLAN ID  NAME         CREATOR  CHANGED BY  LAST CHANGE\n"
            "1        three steps  admin    bob         T5\n"
            "22       may fail     -        -           T6\n");
  page.set_total(7);
  page.set_offset(2);
  auto lines = plan_table_lines(page, fixed_time);
  EXPECT_EQ(lines.back(), "plans 3-4 of 7 (--offset 4 for the next page)");
}

v1::JobPlan demo_plan() {
  v1::JobPlan plan;
  plan.set_job_plan_id(1);
  plan.set_job_template_id(9);
  plan.set_name("three steps");
  plan.set_creator("admin");
  plan.set_last_modify_user("admin");
  plan.set_last_modify_time_ms(7);
  auto* s1 = plan.add_steps();
  s1->set_id(1);
  s1->set_name("set greeting");
  s1->set_type(v1::STEP_TYPE_SCRIPT);
  auto* s2 = plan.add_steps();
  s2->set_id(2);
  s2->set_name("confirm");
  s2->set_type(v1::STEP_TYPE_CONFIRMATION);
  auto* who = plan.add_variables();
  who->set_id(1);
  who->set_name("who");
  who->set_type(v1::GLOBAL_VAR_TYPE_STRING);
  who->set_default_value("world");
  who->set_has_default(true);
  auto* targets = plan.add_variables();
  targets->set_id(3);
  targets->set_name("targets");
  targets->set_type(v1::GLOBAL_VAR_TYPE_HOST_LIST);
  targets->set_required(true);
  targets->mutable_default_hosts()->add_host_ids(101);
  auto* ip = targets->mutable_default_hosts()->add_hosts();
  ip->set_ip("192.0.2.9");
  auto* token = plan.add_variables();
  token->set_id(4);
  token->set_name("token");
  token->set_type(v1::GLOBAL_VAR_TYPE_PASSWORD);
  token->set_has_default(true);
  return plan;
}

TEST(PlanDetail, StepsAndVariables) {
  EXPECT_EQ(joined(plan_detail_lines(demo_plan(), fixed_time)),
            "plan 1 three steps  (template 9, created by admin, changed by admin at T7)\n"
            "\n"
            "steps:\n"
            "  ID  TYPE          NAME\n"
            "  1   script        set greeting\n"
            "  2   confirmation  confirm\n"
            "\n"
            "variables:\n"
            "  ID  NAME     TYPE       REQUIRED  DEFAULT\n"
            "  1   who      string     no        world\n"
            "  3   targets  host_list  yes       101,0:192.0.2.9\n"
            "  4   token    password   no        (hidden)\n");
}

TEST(PlanDetail, PasswordDefaultIsNeverShown) {
  v1::GlobalVar password;
  password.set_type(v1::GLOBAL_VAR_TYPE_PASSWORD);
  // A jobgw that did send one still does not get it printed.
  password.set_default_value("s3cret");
  password.set_has_default(true);
  EXPECT_EQ(variable_default_text(password), "(hidden)");
  password.set_has_default(false);
  EXPECT_EQ(variable_default_text(password), "-");
  v1::GlobalVar text;
  text.set_type(static_cast<v1::GlobalVarType>(77));
  text.set_default_value("x");
  EXPECT_EQ(variable_default_text(text), "x");
}

TEST(Outputs, VariablesMarkersAndHosts) {
  v1::JobOutputs o;
  o.set_job_instance_id(5);
  o.set_status(v1::JOB_STATUS_SUCCESS);
  o.set_finished(true);
  auto* v = o.add_variables();
  v->set_name("greeting");
  v->set_value("hello, alice");
  auto* lv = o.add_log_variables();
  lv->set_name("greeting");
  lv->set_value("hello, alice");
  o.set_last_step_instance_id(12);
  auto* ok = o.mutable_last_step_hosts()->add_success_hosts();
  ok->set_host_id(101);
  ok->set_ip("192.0.2.1");
  o.mutable_last_step_hosts()->add_non_zero_exit_hosts()->set_host_id(102);
  auto* step = o.add_steps();
  step->set_step_instance_id(10);
  EXPECT_EQ(joined(outputs_lines(o)),
            "job 5 status: success\n"
            "variables:\n"
            "  greeting=hello, alice\n"
            "log variables:\n"
            "  greeting=hello, alice\n"
            "last step 12 hosts:\n"
            "  success: 101 0:192.0.2.1\n"
            "  non-zero exit: #102\n"
            "  other failed: (none)\n"
            "step 10:\n"
            "  variables: (none)\n"
            "  log variables: (none)\n");
  v1::JobOutputs running;
  running.set_job_instance_id(6);
  running.set_status(v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(joined(outputs_lines(running)),
            "job 6 status: running (still running: the outputs may change)\n"
            "variables: (none)\n"
            "log variables: (none)\n"
            "last step: none ran\n");
}

// A plan's job: script step 301 done on two hosts, confirmation 302 waiting, script 303 pending.
v1::JobSnapshot waiting_plan_job() {
  v1::JobSnapshot s;
  s.set_job_instance_id(77);
  s.set_name("three steps");
  s.set_status(v1::JOB_STATUS_WAITING_USER);
  s.set_start_time_ms(1000);
  auto* set = s.add_steps();
  set->set_step_instance_id(301);
  set->set_type(v1::STEP_TYPE_SCRIPT);
  set->set_name("set greeting");
  set->set_status(v1::JOB_STATUS_SUCCESS);
  set->set_total_time_ms(1500);
  for (int i = 1; i <= 2; ++i) {
    auto* h = set->add_hosts();
    h->mutable_host()->set_host_id(100 + i);
    h->mutable_host()->set_ip("192.0.2." + std::to_string(i));
    h->set_status(v1::HOST_STATUS_SUCCESS);
    h->set_total_time_ms(1000);
  }
  auto* confirm = s.add_steps();
  confirm->set_step_instance_id(302);
  confirm->set_type(v1::STEP_TYPE_CONFIRMATION);
  confirm->set_name("confirm");
  confirm->set_status(v1::JOB_STATUS_WAITING_USER);
  confirm->set_start_time_ms(2500);
  auto* print = s.add_steps();
  print->set_step_instance_id(303);
  print->set_type(v1::STEP_TYPE_SCRIPT);
  print->set_name("print greeting");
  print->set_status(v1::JOB_STATUS_PENDING);
  auto* later = print->add_hosts();
  later->mutable_host()->set_host_id(101);
  later->set_status(v1::HOST_STATUS_WAITING);
  return s;
}

TEST(PlanView, CurrentStep) {
  auto s = waiting_plan_job();
  EXPECT_TRUE(shows_steps(s));
  EXPECT_EQ(current_step_index(s), 1);
  s.mutable_steps(1)->set_status(v1::JOB_STATUS_SUCCESS);
  EXPECT_EQ(current_step_index(s), 1);  // the last one that started
  s.mutable_steps(2)->set_status(v1::JOB_STATUS_RUNNING);
  EXPECT_EQ(current_step_index(s), 2);
  v1::JobSnapshot one;
  one.add_steps()->set_type(v1::STEP_TYPE_SCRIPT);
  EXPECT_FALSE(shows_steps(one));
  one.mutable_steps(0)->set_type(v1::STEP_TYPE_CONFIRMATION);
  EXPECT_TRUE(shows_steps(one));
  EXPECT_EQ(current_step_index(v1::JobSnapshot()), -1);
}

TEST(PlanView, PromptCarriesTheConnectionFlags) {
  auto s = waiting_plan_job();
  EXPECT_EQ(confirmation_prompt(77, s.steps(1)),
            "step 302 (confirm) waits for confirmation: jobctl confirm 77 302  /  jobctl operate "
            "77 302 terminate-confirmation");
  EXPECT_EQ(confirmation_prompt(77, s.steps(1), " --scope biz:2"),
            "step 302 (confirm) waits for confirmation: jobctl confirm --scope biz:2 77 302  /  "
            "jobctl operate --scope biz:2 77 302 terminate-confirmation");
}

TEST(PlanView, TableShowsEveryStepAndTheLatestStepsHosts) {
  JobState state;
  state.replace(waiting_plan_job());
  auto lines = table_lines(state, 50, 4000);
  EXPECT_EQ(joined(lines),
            "job 77 three steps  status: waiting_user\n"
            "STEP      TYPE          STATUS                ELAPSED  NAME\n"
            "301       script        success               1.5s     set greeting\n"
            "302       confirmation  waiting_user          1.5s     confirm\n"
            "303       script        pending               -        print greeting\n"
            "step 302 (confirm) waits for confirmation: jobctl confirm 77 302  /  jobctl operate "
            "77 302 terminate-confirmation\n"
            "hosts of step 301 (set greeting):\n"
            "[##############################] 2/2 done\n"
            "2 hosts: 2 success | elapsed 3.0s\n"
            "HOST    ADDRESS                     STATUS              EXIT  ELAPSED\n"
            "101     0:192.0.2.1                 success             0     1.0s\n"
            "102     0:192.0.2.2                 success             0     1.0s\n");
}

TEST(PlanView, PlainLinesNameStepsAndPromptOnce) {
  RendererOptions o;
  o.mode = RenderMode::kPlain;
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  JobState state;
  auto snap = waiting_plan_job();
  snap.set_status(v1::JOB_STATUS_RUNNING);
  snap.mutable_steps(1)->set_status(v1::JOB_STATUS_PENDING);
  v1::StatusEvent first;
  first.set_seq(1);
  first.set_kind(v1::EVENT_KIND_SNAPSHOT);
  *first.mutable_snapshot() = snap;
  v1::StatusEvent waits;
  waits.set_seq(2);
  waits.set_kind(v1::EVENT_KIND_STEP_CHANGED);
  waits.mutable_step()->set_step_instance_id(302);
  waits.mutable_step()->set_old_status(v1::JOB_STATUS_PENDING);
  waits.mutable_step()->set_new_status(v1::JOB_STATUS_WAITING_USER);
  // jobgw's STEP_WAITING_USER follows the STEP_CHANGED: the prompt is not printed twice.
  v1::StatusEvent notice = waits;
  notice.set_seq(3);
  notice.set_kind(v1::EVENT_KIND_STEP_WAITING_USER);
  for (const auto& e : {first, waits, notice}) {
    state.apply(e);
    r.on_event(e, state);
  }
  EXPECT_EQ(out.str(),
            "snapshot job=77 status=running done=2/3\n"
            "step 301 (set greeting) script success\n"
            "step 302 (confirm) confirmation pending\n"
            "step 303 (print greeting) script pending\n"
            "step 302 (confirm) pending -> waiting_user\n"
            "step 302 (confirm) waits for confirmation: jobctl confirm 77 302  /  jobctl operate "
            "77 302 terminate-confirmation\n");
}

TEST(PlanView, WaitingUserEventAloneIsThePrompt) {
  // A stream that resumed after the STEP_CHANGED still gets the prompt, and only once.
  RendererOptions o;
  o.mode = RenderMode::kPlain;
  o.command_flags = " --scope biz:2";
  std::ostringstream out, err;
  WatchRenderer r(o, out, err);
  JobState state;
  auto snap = waiting_plan_job();
  snap.mutable_steps(1)->set_status(v1::JOB_STATUS_RUNNING);
  state.replace(snap);
  v1::StatusEvent notice;
  notice.set_seq(9);
  notice.set_kind(v1::EVENT_KIND_STEP_WAITING_USER);
  notice.mutable_step()->set_step_instance_id(302);
  notice.mutable_step()->set_new_status(v1::JOB_STATUS_WAITING_USER);
  for (int i = 0; i < 2; ++i) {
    state.apply(notice);
    r.on_event(notice, state);
  }
  EXPECT_EQ(out.str(),
            "step 302 (confirm) waits for confirmation: jobctl confirm --scope biz:2 77 302  /  "
            "jobctl operate --scope biz:2 77 302 terminate-confirmation\n");
}

}  // namespace
}  // namespace jobgw::client
