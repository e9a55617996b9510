#include "server/plan_mapping.h"

#include <string>
#include <unordered_map>

#include "core/job/plan_outputs.h"
#include "core/job/sops_vars.h"
#include "server/proto_mapping.h"

namespace jobgw::server {
namespace {

void targets_to_proto(const core::Targets& targets, v1::Targets* out) {
  out->Clear();
  for (std::int64_t id : targets.host_ids) out->add_host_ids(id);
  for (const core::Host& h : targets.hosts) to_proto(h, out->add_hosts());
  for (const std::string& g : targets.dynamic_group_ids) out->add_dynamic_group_ids(g);
  for (const core::TopoNode& n : targets.topo_nodes) {
    v1::TopoNode* node = out->add_topo_nodes();
    node->set_id(n.id);
    node->set_node_type(n.node_type);
  }
}

// Output variables in the order each name first appeared, a later value replacing an earlier.
class OutputList {
 public:
  void set(const std::string& name, const std::string& value) {
    auto [it, added] = index_.emplace(name, vars_.size());
    if (added) {
      vars_.push_back({name, value});
    } else {
      vars_[it->second].second = value;
    }
  }
  void add_logs(const std::vector<core::ScriptLog>& logs) {
    for (const core::ScriptLog& log : logs) {
      for (core::SopsVar& v : core::extract_sops_vars(log.content)) set(v.key, v.value);
    }
  }
  void to_proto(google::protobuf::RepeatedPtrField<v1::OutputVar>* out) const {
    for (const auto& [name, value] : vars_) {
      v1::OutputVar* v = out->Add();
      v->set_name(name);
      v->set_value(value);
    }
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
  std::unordered_map<std::string, std::size_t> index_;
};

void add_variables(const core::StepGlobalVars& step, OutputList* out) {
  for (const core::GlobalVarValue& v : step.vars) out->set(v.name, v.value);
}

}  // namespace

void to_proto(const core::PlanPage& page, v1::ListJobPlansResponse* out) {
  out->Clear();
  out->set_total(page.total);
  out->set_offset(static_cast<std::int32_t>(page.start));
  for (const core::PlanSummary& p : page.plans) {
    v1::JobPlanSummary* s = out->add_plans();
    s->set_job_plan_id(p.id);
    s->set_job_template_id(p.job_template_id);
    s->set_name(p.name);
    s->set_creator(p.creator);
    s->set_create_time_ms(p.create_time);
    s->set_last_modify_user(p.last_modify_user);
    s->set_last_modify_time_ms(p.last_modify_time);
    s->set_need_update(p.need_update);
    to_proto(p.scope, s->mutable_scope());
  }
}

void to_proto(const core::PlanDetail& plan, v1::JobPlan* out) {
  out->Clear();
  out->set_job_plan_id(plan.id);
  out->set_job_template_id(plan.job_template_id);
  out->set_name(plan.name);
  out->set_creator(plan.creator);
  out->set_create_time_ms(plan.create_time);
  out->set_last_modify_user(plan.last_modify_user);
  out->set_last_modify_time_ms(plan.last_modify_time);
  for (const core::PlanVariable& v : plan.variables) {
    v1::GlobalVar* g = out->add_variables();
    g->set_id(v.id);
    g->set_name(v.name);
    g->set_description(v.description);
    g->set_type(static_cast<v1::GlobalVarType>(v.type));
    g->set_required(v.required);
    if (v.type != core::kVarPassword) g->set_default_value(v.value);
    if (v.server) targets_to_proto(*v.server, g->mutable_default_hosts());
    g->set_has_default(!v.value.empty() || v.masked_value || (v.server && !v.server->empty()));
  }
  for (const core::PlanStep& s : plan.steps) {
    v1::PlanStep* p = out->add_steps();
    p->set_id(s.id);
    p->set_name(s.name);
    p->set_type(static_cast<v1::StepType>(s.type));
    if (s.script) {
      p->set_script_language(static_cast<v1::ScriptLanguage>(s.script->script_language));
      p->set_script_content(s.script->script_content);
      if (!s.script->param_sensitive) p->set_script_param(s.script->script_param);
      p->set_param_sensitive(s.script->param_sensitive);
      p->set_timeout_seconds(s.script->timeout_seconds);
      p->set_account(s.script->account.name);
    }
    if (s.file) {
      p->set_file_target_path(s.file->destination_path);
      p->set_timeout_seconds(s.file->timeout_seconds);
      p->set_account(s.file->destination_account.name);
    }
  }
}

const core::StepSnapshot* last_started_step(const core::JobSnapshot& job) {
  for (auto it = job.steps.rbegin(); it != job.steps.rend(); ++it) {
    if (it->status != 0 && it->status != core::job_status::kPending) return &*it;
  }
  return nullptr;
}

void to_proto(const OutputsParts& parts, bool per_step, v1::JobOutputs* out) {
  out->Clear();
  out->set_job_instance_id(parts.job.job_instance_id);
  out->set_status(static_cast<v1::JobStatus>(parts.job.status));
  out->set_finished(parts.job.finished);
  OutputList final_vars;
  if (!parts.vars.steps.empty()) add_variables(parts.vars.steps.back(), &final_vars);
  final_vars.to_proto(out->mutable_variables());
  OutputList log_vars;
  for (const core::StepSnapshot& step : parts.job.steps) {
    auto logs = parts.logs.find(step.step_instance_id);
    if (logs != parts.logs.end()) log_vars.add_logs(logs->second);
    if (!per_step) continue;
    v1::StepOutputs* s = out->add_steps();
    s->set_step_instance_id(step.step_instance_id);
    for (const core::StepGlobalVars& v : parts.vars.steps) {
      if (v.step_instance_id != step.step_instance_id) continue;
      OutputList vars;
      add_variables(v, &vars);
      vars.to_proto(s->mutable_variables());
    }
    if (logs != parts.logs.end()) {
      OutputList step_logs;
      step_logs.add_logs(logs->second);
      step_logs.to_proto(s->mutable_log_variables());
    }
  }
  log_vars.to_proto(out->mutable_log_variables());
  if (const core::StepSnapshot* last = last_started_step(parts.job)) {
    out->set_last_step_instance_id(last->step_instance_id);
    v1::HostOutcomes* outcomes = out->mutable_last_step_hosts();
    const core::StepHostGroups groups = core::group_step_hosts(*last);
    for (const auto& h : groups.success) to_proto(h.host, outcomes->add_success_hosts());
    for (const auto& h : groups.non_zero_exit)
      to_proto(h.host, outcomes->add_non_zero_exit_hosts());
    for (const auto& h : groups.other) to_proto(h.host, outcomes->add_other_failed_hosts());
  }
}

}  // namespace jobgw::server
