#include "client/plan_commands.h"

#include <algorithm>
#include <cctype>

#include "api/status_names.h"
#include "client/command_output.h"
#include "client/job_state.h"
#include "client/plan_args.h"
#include "client/terminal_style.h"
#include "client/watch_renderer.h"

namespace jobgw::client {
namespace {

// Rows as columns as wide as their widest cell, two spaces apart; the last cell is not padded.
std::vector<std::string> columns(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], display_width(row[i]));
    }
  }
  std::vector<std::string> lines;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - display_width(row[i]) + 2, ' ');
    }
    lines.push_back(line);
  }
  return lines;
}

std::string or_dash(const std::string& text) { return text.empty() ? "-" : text; }

// "host_list" for GLOBAL_VAR_TYPE_HOST_LIST; the number for a type this jobctl does not know.
std::string variable_type_name(int type) {
  if (type == v1::GLOBAL_VAR_TYPE_UNSPECIFIED || !v1::GlobalVarType_IsValid(type)) {
    return std::to_string(type);
  }
  std::string name = v1::GlobalVarType_Name(static_cast<v1::GlobalVarType>(type));
  name = name.substr(std::string("GLOBAL_VAR_TYPE_").size());
  for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return name;
}

std::string step_type_text(int type) {
  return type == v1::STEP_TYPE_UNSPECIFIED ? "-" : api::step_type_name(type);
}

std::string targets_text(const v1::Targets& targets) {
  std::string out;
  for (auto id : targets.host_ids()) out += (out.empty() ? "" : ",") + std::to_string(id);
  for (const auto& h : targets.hosts()) out += (out.empty() ? "" : ",") + host_address(h);
  return out;
}

std::string hosts_text(const google::protobuf::RepeatedPtrField<v1::Host>& hosts) {
  if (hosts.empty()) return "(none)";
  std::string out;
  for (const auto& h : hosts) out += (out.empty() ? "" : ", ") + host_label(h);
  return out;
}

void add_vars(const std::string& title,
              const google::protobuf::RepeatedPtrField<v1::OutputVar>& vars,
              const std::string& indent, std::vector<std::string>* lines) {
  if (vars.empty()) {
    lines->push_back(indent + title + ": (none)");
    return;
  }
  lines->push_back(indent + title + ":");
  for (const auto& v : vars) lines->push_back(indent + "  " + v.name() + "=" + v.value());
}

template <typename T>
int failed(CommandIo& io, const char* rpc, const CallResult<T>& r) {
  return report_rpc_error(io.err, rpc, r);
}

}  // namespace

std::vector<std::string> plan_table_lines(const v1::ListJobPlansResponse& page,
                                          const TimeText& time_text) {
  std::vector<std::vector<std::string>> rows = {
      {"PLAN ID", "NAME", "CREATOR", "CHANGED BY", "LAST CHANGE"}};
  for (const auto& p : page.plans()) {
    rows.push_back({std::to_string(p.job_plan_id()), or_dash(p.name()), or_dash(p.creator()),
                    or_dash(p.last_modify_user()), time_text(p.last_modify_time_ms())});
  }
  auto lines = columns(rows);
  const auto shown = static_cast<std::int64_t>(page.plans_size());
  if (page.total() > shown) {
    lines.push_back("plans " + std::to_string(page.offset() + (shown > 0 ? 1 : 0)) + "-" +
                    std::to_string(page.offset() + shown) + " of " + std::to_string(page.total()) +
                    " (--offset " + std::to_string(page.offset() + shown) + " for the next page)");
  }
  return lines;
}

std::string variable_default_text(const v1::GlobalVar& variable) {
  if (variable.type() == v1::GLOBAL_VAR_TYPE_PASSWORD) {
    return variable.has_default() ? "(hidden)" : "-";
  }
  if (variable.type() == v1::GLOBAL_VAR_TYPE_HOST_LIST) {
    return or_dash(targets_text(variable.default_hosts()));
  }
  return or_dash(variable.default_value());
}

std::vector<std::string> plan_detail_lines(const v1::JobPlan& plan, const TimeText& time_text) {
  std::vector<std::string> lines = {
      "plan " + std::to_string(plan.job_plan_id()) + " " + or_dash(plan.name()) + "  (template " +
      std::to_string(plan.job_template_id()) + ", created by " + or_dash(plan.creator()) +
      ", changed by " + or_dash(plan.last_modify_user()) + " at " +
      time_text(plan.last_modify_time_ms()) + ")"};
  lines.push_back("");
  if (plan.steps().empty()) {
    lines.push_back("steps: (none)");
  } else {
    lines.push_back("steps:");
    std::vector<std::vector<std::string>> rows = {{"ID", "TYPE", "NAME"}};
    for (const auto& s : plan.steps()) {
      rows.push_back({std::to_string(s.id()), step_type_text(s.type()), or_dash(s.name())});
    }
    for (const auto& l : columns(rows)) lines.push_back("  " + l);
  }
  lines.push_back("");
  if (plan.variables().empty()) {
    lines.push_back("variables: (none)");
  } else {
    lines.push_back("variables:");
    std::vector<std::vector<std::string>> rows = {{"ID", "NAME", "TYPE", "REQUIRED", "DEFAULT"}};
    for (const auto& v : plan.variables()) {
      rows.push_back({std::to_string(v.id()), or_dash(v.name()), variable_type_name(v.type()),
                      v.required() ? "yes" : "no", variable_default_text(v)});
    }
    for (const auto& l : columns(rows)) lines.push_back("  " + l);
  }
  return lines;
}

std::vector<std::string> outputs_lines(const v1::JobOutputs& outputs) {
  std::vector<std::string> lines = {
      "job " + std::to_string(outputs.job_instance_id()) +
      " status: " + api::job_status_name(outputs.status()) +
      (outputs.finished() ? "" : " (still running: the outputs may change)")};
  add_vars("variables", outputs.variables(), "", &lines);
  add_vars("log variables", outputs.log_variables(), "", &lines);
  if (outputs.last_step_instance_id() == 0) {
    lines.push_back("last step: none ran");
  } else {
    const auto& h = outputs.last_step_hosts();
    lines.push_back("last step " + std::to_string(outputs.last_step_instance_id()) + " hosts:");
    lines.push_back("  success: " + hosts_text(h.success_hosts()));
    lines.push_back("  non-zero exit: " + hosts_text(h.non_zero_exit_hosts()));
    lines.push_back("  other failed: " + hosts_text(h.other_failed_hosts()));
  }
  for (const auto& s : outputs.steps()) {
    lines.push_back("step " + std::to_string(s.step_instance_id()) + ":");
    add_vars("variables", s.variables(), "  ", &lines);
    add_vars("log variables", s.log_variables(), "  ", &lines);
  }
  return lines;
}

int run_plans(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::ListJobPlansRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_name(c.plan_name_filter);
  req.set_creator(c.creator);
  req.set_page_size(c.page_size);
  req.set_offset(c.offset);
  req.set_operator_(c.global.operator_name);
  auto r = client.list_job_plans(req);
  if (!r.ok()) return failed(io, "ListJobPlans", r);
  if (c.output == OutputMode::kJson) {
    io.out << to_json(r.response) << "\n";
    return kExitOk;
  }
  if (r.response.plans().empty()) {
    io.out << "no plans" << (c.offset > 0 ? " from --offset " + std::to_string(c.offset) : "")
           << "\n";
    return kExitOk;
  }
  for (const auto& line : plan_table_lines(r.response, local_time_text)) io.out << line << "\n";
  return kExitOk;
}

int run_plan(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::GetJobPlanRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_plan_id(c.plan_id);
  req.set_operator_(c.global.operator_name);
  auto r = client.get_job_plan(req);
  if (!r.ok()) return failed(io, "GetJobPlan", r);
  if (c.output == OutputMode::kJson) {
    io.out << to_json(r.response) << "\n";
    return kExitOk;
  }
  for (const auto& line : plan_detail_lines(r.response, local_time_text)) io.out << line << "\n";
  return kExitOk;
}

int run_run_plan(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::ExecuteJobPlanRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_plan_id(c.plan_id);
  for (const auto& v : c.plan_variables) *req.add_variables() = v;
  req.set_operator_(c.global.operator_name);
  req.set_request_id(submit_request_id(c, io));
  auto r = client.execute_job_plan(req);
  if (!r.ok()) {
    // --json printed no id yet: a rerun needs it.
    if (c.output == OutputMode::kJson && c.request_id.empty() && !req.request_id().empty()) {
      io.err << "request id: " << req.request_id() << " (rerun with --request-id to reuse)\n";
    }
    return failed(io, "ExecuteJobPlan", r);
  }
  return follow_submitted(client, c, r.response, req.request_id(), io);
}

int run_operate(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::OperateStepRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_instance_id(c.job_id);
  req.set_step_instance_id(c.step_id);
  req.set_operation(c.name == "confirm" ? v1::STEP_OPERATION_CONFIRM : c.step_operation);
  req.set_operator_(c.global.operator_name);
  auto r = client.operate_step(req);
  if (!r.ok()) return failed(io, "OperateStep", r);
  io.out << "job " << r.response.job_instance_id() << " step " << r.response.step_instance_id()
         << ": " << step_operation_text(req.operation()) << " accepted\n";
  return kExitOk;
}

int run_outputs(const CliCommand& c, GatewayClient& client, CommandIo& io) {
  v1::GetJobOutputsRequest req;
  *req.mutable_scope() = c.global.scope;
  req.set_job_instance_id(c.job_id);
  req.set_log_hosts(c.all_hosts ? v1::LOG_VAR_HOSTS_ALL : v1::LOG_VAR_HOSTS_FIRST);
  req.set_per_step(c.per_step);
  req.set_operator_(c.global.operator_name);
  auto r = client.get_job_outputs(req);
  if (!r.ok()) return failed(io, "GetJobOutputs", r);
  if (c.output == OutputMode::kJson) {
    io.out << to_json(r.response) << "\n";
    return kExitOk;
  }
  for (const auto& line : outputs_lines(r.response)) io.out << line << "\n";
  return kExitOk;
}

}  // namespace jobgw::client
