// The job plan endpoints of JobApi (jobsim/README.md "Job plans").
#include <spdlog/spdlog.h>

#include "jobsim/api_error.h"
#include "jobsim/job_api.h"
#include "jobsim/params.h"
#include "jobsim/sandbox.h"
#include "jobsim/target_resolver.h"
#include "jobsim/text_util.h"

namespace jobsim {

using nlohmann::json;

namespace {

constexpr int64_t kMaxListSpanMs = 30LL * 24 * 3600 * 1000;

// Whether a target_server names no host at all.
bool names_no_host(const json& server) {
  if (!server.is_object()) return true;
  for (const char* key : {"host_id_list", "ip_list", "dynamic_group_list", "topo_node_list"}) {
    auto it = server.find(key);
    if (it != server.end() && it->is_array() && !it->empty()) return false;
  }
  return true;
}

std::pair<int64_t, int64_t> paging(const json& p) {
  int64_t start = opt_int(p, "start").value_or(0);
  int64_t length = opt_int(p, "length").value_or(20);
  if (start < 0) throw illegal_param("start", "must not be negative");
  if (length <= 0) throw illegal_param("length", "must be positive");
  return {start, length};
}

std::string opt_filter(const json& p, const char* key) { return opt_string(p, key).value_or(""); }

json page(const json& items, int64_t start, int64_t length) {
  json out = json::array();
  for (int64_t i = start; i < static_cast<int64_t>(items.size()) && i < start + length; ++i) {
    out.push_back(items[static_cast<size_t>(i)]);
  }
  return {{"start", start}, {"length", length}, {"total", items.size()}, {"data", std::move(out)}};
}

json account_json(const PlanStep& s) {
  return {{"id", s.account_id}, {"name", s.account}, {"alias", s.account}};
}

int64_t total(int64_t start, int64_t end) { return (start > 0 && end >= start) ? end - start : 0; }

}  // namespace

std::vector<Host> JobApi::plan_hosts(const json& server,
                                     const std::map<std::string, json>& host_vars,
                                     const Scope& scope, const std::string& field) const {
  if (server.is_object() && server.contains("variable")) {
    const std::string name = server["variable"].get<std::string>();
    auto it = host_vars.find(name);
    if (it == host_vars.end()) {
      throw ApiError(code::kHostVarMissing,
                     "Host variable \"" + name + "\" does not exist in the job plan");
    }
    if (names_no_host(it->second)) {
      throw ApiError(code::kHostVarEmpty, "Host variable \"" + name + "\" has no hosts");
    }
    try {
      return resolve_targets(inventory_, scope, it->second, "global_var " + name);
    } catch (const ApiError& e) {
      if (e.code() != code::kHostListEmpty) throw;
      throw ApiError(code::kHostVarEmpty, "Host variable \"" + name + "\" has no hosts");
    }
  }
  return resolve_targets(inventory_, scope, server, field);
}

json JobApi::execute_job_plan(const json& p, const std::string& username) {
  Scope scope = read_scope(p);
  auto plan_id = opt_int(p, "job_plan_id");
  if (!plan_id) throw missing_param("job_plan_id");
  if (*plan_id <= 0) throw illegal_param("job_plan_id", "must be positive");
  const Plan* plan = plans_.find(*plan_id);
  if (!plan || !inventory_.includes(scope, plan->scope)) {
    throw ApiError(code::kPlanNotFound, "Job plan " + std::to_string(*plan_id) + " does not exist");
  }
  if (plan->steps.empty()) {
    throw ApiError(code::kPlanNoSteps, "Job plan " + std::to_string(*plan_id) + " has no steps");
  }
  std::string callback = read_callback(p);
  bool start = opt_bool(p, "start_task", true);

  std::vector<JobVar> vars;
  std::map<std::string, json> host_vars;
  for (auto& v : plan->vars) {
    vars.push_back({v.id, v.name, v.type, v.value});
    if (v.type == var_type::kHostList) host_vars[v.name] = v.server;
  }
  if (present(p, "global_var_list")) {
    const json& list = p["global_var_list"];
    if (!list.is_array()) throw illegal_param("global_var_list", "must be an array");
    for (auto& item : list) {
      if (!item.is_object()) throw illegal_param("global_var_list", "items must be objects");
      auto id = opt_int(item, "id");
      auto name = opt_string(item, "name");
      if (!id && (!name || name->empty())) {
        throw illegal_param("global_var_list", "every item needs an id or a name");
      }
      JobVar* var = nullptr;
      for (auto& v : vars) {
        if (id ? v.id == *id : v.name == *name) var = &v;
      }
      if (!var) continue;  // unknown variables are ignored, as JOB does
      if (var->type == var_type::kHostList) {
        if (present(item, "server")) {
          if (!item["server"].is_object())
            throw illegal_param("global_var_list.server", "must be an object");
          host_vars[var->name] = item["server"];
        }
      } else if (auto value = opt_string(item, "value")) {
        var->value = *value;
      }
    }
  }

  auto job = std::make_shared<Job>();
  job->plan_id = plan->id;
  job->template_id = plan->template_id;
  job->scope = scope;
  job->name = plan->name;
  job->username = username;
  job->callback_url = callback;
  job->vars = vars;
  job->vars_in = vars;  // the values the job started with
  for (auto& ps : plan->steps) {
    const std::string field = "step " + std::to_string(ps.id);
    if (ps.type == kStepScript && ps.script_disabled) {
      throw ApiError(code::kScriptDisabled, "The script of step \"" + ps.name + "\" is disabled");
    }
    auto step = std::make_shared<Job>();
    step->parent = job;
    step->step_type = ps.type;
    step->scope = scope;
    step->name = ps.name;
    step->username = username;
    step->timeout_s = ps.timeout;
    if (ps.type == kStepScript) {
      step->script.language = ps.script_language;
      step->script_template = ps.script_content;
      step->param_template = ps.script_param;
    } else if (ps.type == kStepFile) {
      auto target = Sandboxes::normalize(ps.file_target_path);
      if (!target) throw illegal_param(field + " file_destination.path", "not an absolute path");
      step->transfer.target_path = *target;
      step->transfer.mode = ps.transfer_mode;
      step->transfer.upload_limit = static_cast<double>(ps.upload_speed_limit) * 1024 * 1024;
      step->transfer.download_limit = static_cast<double>(ps.download_speed_limit) * 1024 * 1024;
      for (auto& src : ps.file_source_list) {
        FileSource fs;
        for (auto& f : src["file_list"]) {
          auto norm = f.is_string() ? Sandboxes::normalize(f.get<std::string>()) : std::nullopt;
          if (!norm || *norm == "/") throw illegal_param(field + " file_list", "bad path");
          fs.files.push_back(*norm);
        }
        fs.hosts = plan_hosts(src.contains("server") ? src["server"] : json(), host_vars, scope,
                              field + " file_source_list.server");
        step->transfer.sources.push_back(fs);
      }
    } else {
      step->confirm_users = ps.confirm_users;
      step->notify_message = ps.notify_message;
    }
    if (ps.type != kStepConfirm) {
      for (auto& h : plan_hosts(ps.server, host_vars, scope, field + " server")) {
        HostResult r;
        r.host = h;
        step->hosts.push_back(r);
      }
    }
    job->steps.push_back(step);
  }
  store_.add(job);
  spdlog::info("event=job_created job={} type=plan plan={} steps={} user={} start={}", job->id,
               plan->id, job->steps.size(), username, start);
  if (start) plan_runner_.start(job);
  return {{"job_instance_id", job->id}, {"job_instance_name", job->name}};
}

json JobApi::get_job_plan_list(const json& p) {
  Scope scope = read_scope(p);
  auto template_id = opt_int(p, "job_template_id");
  std::string creator = opt_filter(p, "creator");
  std::string name = opt_filter(p, "name");
  std::string modifier = opt_filter(p, "last_modify_user");
  auto create_start = opt_int(p, "create_time_start");
  auto create_end = opt_int(p, "create_time_end");
  auto modify_start = opt_int(p, "last_modify_time_start");
  auto modify_end = opt_int(p, "last_modify_time_end");
  auto [start, length] = paging(p);
  json items = json::array();
  for (auto& plan : plans_.plans()) {
    if (!inventory_.includes(scope, plan.scope)) continue;
    if (template_id && *template_id > 0 && plan.template_id != *template_id) continue;
    if (!creator.empty() && plan.creator != creator) continue;
    if (!name.empty() && plan.name.find(name) == std::string::npos) continue;
    if (!modifier.empty() && plan.last_modify_user != modifier) continue;
    if (create_start && plan.create_time < *create_start) continue;
    if (create_end && plan.create_time > *create_end) continue;
    if (modify_start && plan.last_modify_time < *modify_start) continue;
    if (modify_end && plan.last_modify_time > *modify_end) continue;
    items.push_back({{"bk_scope_type", plan.scope.type},
                     {"bk_scope_id", plan.scope.id},
                     {"id", plan.id},
                     {"job_template_id", plan.template_id},
                     {"name", plan.name},
                     {"creator", plan.creator},
                     {"create_time", plan.create_time},
                     {"last_modify_user", plan.last_modify_user},
                     {"last_modify_time", plan.last_modify_time},
                     {"need_update", false}});
  }
  return page(items, start, length);
}

json JobApi::get_job_plan_detail(const json& p) {
  Scope scope = read_scope(p);
  int64_t plan_id = req_int(p, "job_plan_id");
  const Plan* plan = plans_.find(plan_id);
  if (!plan || !inventory_.includes(scope, plan->scope)) {
    throw ApiError(code::kPlanNotFound, "Job plan " + std::to_string(plan_id) + " does not exist");
  }
  json vars = json::array();
  for (auto& v : plan->vars) {
    bool used = false;
    for (auto& s : plan->steps) {
      used = used || mentions_var(s.script_content, v.name) ||
             mentions_var(s.script_param, v.name) ||
             (s.server.is_object() && s.server.value("variable", "") == v.name);
      for (auto& src : s.file_source_list) {
        used = used || (src.contains("server") && src["server"].is_object() &&
                        src["server"].value("variable", "") == v.name);
      }
    }
    json j = {{"id", v.id},
              {"name", v.name},
              {"description", v.description},
              {"type", v.type},
              {"required", v.required ? 1 : 0},
              {"used", used ? 1 : 0}};
    if (v.type == var_type::kHostList) {
      j["server"] = v.server.is_null() ? json::object() : v.server;
    } else {
      // JOB never shows a password's value.
      j["value"] = v.type == var_type::kPassword ? "******" : v.value;
    }
    vars.push_back(std::move(j));
  }
  json steps = json::array();
  for (auto& s : plan->steps) {
    json j = {{"id", s.id}, {"name", s.name}, {"type", s.type}};
    if (s.type == kStepScript) {
      j["script_info"] = {{"script_type", s.script_disabled ? 2 : 1},
                          {"script_id", ""},
                          {"script_version_id", 0},
                          {"script_content", base64_encode(s.script_content)},
                          {"script_language", s.script_language},
                          {"script_param", base64_encode(s.script_param)},
                          {"script_timeout", s.timeout},
                          {"is_param_sensitive", s.is_param_sensitive ? 1 : 0},
                          {"account", account_json(s)},
                          {"server", s.server}};
    } else if (s.type == kStepFile) {
      json sources = json::array();
      for (auto& src : s.file_source_list) {
        json one = src;
        if (!one.contains("file_type")) one["file_type"] = 1;
        sources.push_back(std::move(one));
      }
      j["file_info"] = {{"file_source_list", std::move(sources)},
                        {"file_destination",
                         {{"path", s.file_target_path},
                          {"account", {{"id", s.account_id}, {"name", s.account}}},
                          {"server", s.server}}},
                        {"timeout", s.timeout},
                        {"transfer_mode", s.transfer_mode},
                        {"upload_speed_limit", s.upload_speed_limit},
                        {"download_speed_limit", s.download_speed_limit}};
    } else {
      j["approval_info"] = {{"approval_user", {{"user_list", s.confirm_users}}},
                            {"approval_message", s.notify_message}};
    }
    steps.push_back(std::move(j));
  }
  return {{"bk_scope_type", plan->scope.type},
          {"bk_scope_id", plan->scope.id},
          {"id", plan->id},
          {"job_template_id", plan->template_id},
          {"name", plan->name},
          {"creator", plan->creator},
          {"create_time", plan->create_time},
          {"last_modify_user", plan->last_modify_user},
          {"last_modify_time", plan->last_modify_time},
          {"global_var_list", std::move(vars)},
          {"step_list", std::move(steps)}};
}

json JobApi::get_job_instance_global_var_value(const json& p) {
  Scope scope = read_scope(p);
  auto job = find_job(p, scope);
  json list = json::array();
  std::lock_guard<std::mutex> lock(job->mu);
  // A step that has not run yet shows the values it would start with.
  std::vector<JobVar> state = job->vars_in;
  for (auto& s : job->steps) {
    std::lock_guard<std::mutex> step_lock(s->mu);
    if (s->ran) state = s->vars_out;
    if (s->step_type != kStepScript) continue;
    json vars = json::array();
    for (auto& v : state) {
      if (v.type == var_type::kString) {
        vars.push_back({{"name", v.name}, {"value", v.value}, {"type", v.type}});
      }
    }
    list.push_back({{"step_instance_id", s->step_id}, {"global_var_list", std::move(vars)}});
  }
  return {{"job_instance_id", job->id}, {"step_instance_var_list", std::move(list)}};
}

json JobApi::get_job_instance_list(const json& p) {
  Scope scope = read_scope(p);
  auto from = opt_int(p, "create_time_start");
  auto to = opt_int(p, "create_time_end");
  if (!from || !to) {
    throw ApiError(code::kIllegalParam,
                   "Illegal parameter: create_time_start and create_time_end are required");
  }
  if (*to < *from || *to - *from > kMaxListSpanMs) {
    throw ApiError(code::kIllegalParam,
                   "Illegal parameter: create_time_end - create_time_start must be 0..30 days");
  }
  auto job_id = opt_int(p, "job_instance_id");
  auto cron_id = opt_int(p, "job_cron_id");
  std::string op = opt_filter(p, "operator");
  std::string name = opt_filter(p, "name");
  std::string ip = opt_filter(p, "ip");
  auto launch_mode = opt_int(p, "launch_mode");
  auto type = opt_int(p, "type");
  auto status = opt_int(p, "status");
  auto [start, length] = paging(p);
  auto jobs = store_.all();
  json items = json::array();
  // Newest first, as JOB lists them.
  for (auto it = jobs.rbegin(); it != jobs.rend(); ++it) {
    const auto& job = *it;
    if (!inventory_.includes(scope, job->scope)) continue;
    std::lock_guard<std::mutex> lock(job->mu);
    if (job->create_ms < *from || job->create_ms > *to) continue;
    const int job_type = job->is_plan() ? 0 : job->step_type;
    if (job_id) {
      if (job->id != *job_id) continue;
    } else {
      // Every jobsim job is launched through the API (2) and none by a cron.
      if (cron_id && *cron_id > 0) continue;
      if (!op.empty() && job->username != op) continue;
      if (!name.empty() && job->name.find(name) == std::string::npos) continue;
      if (launch_mode && *launch_mode != 2) continue;
      if (type && *type != job_type) continue;
      if (status && *status != job->status) continue;
      if (!ip.empty()) {
        bool found = false;
        auto look = [&](const Job& s) {
          for (auto& h : s.hosts) found = found || h.host.ip == ip;
        };
        if (job->is_plan()) {
          for (auto& s : job->steps) {
            std::lock_guard<std::mutex> step_lock(s->mu);
            look(*s);
          }
        } else {
          look(*job);
        }
        if (!found) continue;
      }
    }
    items.push_back({{"job_instance_id", job->id},
                     {"job_plan_id", job->plan_id},
                     {"job_template_id", job->template_id},
                     {"name", job->name},
                     {"operator", job->username},
                     {"launch_mode", 2},
                     {"status", job->status},
                     {"type", job_type},
                     {"create_time", job->create_ms},
                     {"start_time", job->start_ms},
                     {"end_time", job->end_ms},
                     {"total_time", total(job->start_ms, job->end_ms)},
                     {"bk_scope_type", job->scope.type},
                     {"bk_scope_id", job->scope.id}});
  }
  return page(items, start, length);
}

json JobApi::operate_step_instance(const json& p, const std::string& username) {
  Scope scope = read_scope(p);
  auto job = find_job(p, scope);
  int64_t step_id = req_int(p, "step_instance_id");
  int64_t op = req_int(p, "operation_code");
  if (!job->is_plan()) {
    find_step(job, step_id);
    throw ApiError(code::kIllegalParamReason,
                   "jobsim runs step operations on job plan instances only");
  }
  plan_runner_.operate_step(job, step_id, op, username);
  return {{"job_instance_id", job->id}, {"step_instance_id", step_id}};
}

}  // namespace jobsim
