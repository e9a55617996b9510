#include "jobsim/job_api.h"

#include <spdlog/spdlog.h>

#include <set>

#include "jobsim/api_error.h"
#include "jobsim/params.h"
#include "jobsim/sandbox.h"
#include "jobsim/target_resolver.h"
#include "jobsim/text_util.h"

namespace jobsim {

using nlohmann::json;

namespace {

const char* kEndpoints[] = {"fast_execute_script",     "fast_transfer_file",
                            "get_job_instance_status", "batch_get_job_instance_ip_log",
                            "get_job_instance_ip_log", "operate_job_instance",
                            "execute_job_plan",        "get_job_plan_list",
                            "get_job_plan_detail",     "get_job_instance_global_var_value",
                            "get_job_instance_list",   "operate_step_instance"};

int read_timeout(const json& p) {
  auto t = opt_int(p, "timeout");
  if (!t) return 7200;
  if (*t < 1 || *t > 86400) throw illegal_param("timeout", "must be within 1..86400");
  return static_cast<int>(*t);
}

void check_account(const json& p) {
  auto id = opt_int(p, "account_id");
  auto alias = opt_string(p, "account_alias");
  if (id) {
    if (*id <= 0) throw illegal_param("account_id", "must be positive");
    return;
  }
  if (!alias || alias->empty()) throw missing_param("account_id or account_alias");
}

std::string read_task_name(const json& p, const std::string& fallback) {
  auto name = opt_string(p, "task_name");
  if (!name || name->empty()) return fallback;
  if (name->size() > 512) throw illegal_param("task_name", "at most 512 characters");
  return *name;
}

json host_ref(const Host& h) {
  return {{"bk_host_id", h.host_id}, {"ip", h.ip}, {"bk_cloud_id", h.cloud_id}};
}

json file_log_json(const FileLog& l) {
  json j;
  j["mode"] = l.mode;
  j["src_ip"] = host_ref(l.src);
  j["src_path"] = l.src_path;
  if (l.mode == 1) {
    j["dest_ip"] = host_ref(l.dest);
    j["dest_path"] = l.dest_path;
  }
  j["status"] = l.status;
  j["log_content"] = l.log;
  j["size"] = format_size(l.size);
  j["speed"] = format_speed(l.speed);
  int pct = l.size == 0 ? (l.status == file_status::kSuccess ? 100 : 0)
                        : static_cast<int>(std::min<uint64_t>(100, l.done * 100 / l.size));
  j["process"] = std::to_string(pct) + "%";
  return j;
}

int64_t total(int64_t start, int64_t end) { return (start > 0 && end >= start) ? end - start : 0; }

}  // namespace

bool JobApi::is_endpoint(const std::string& name) {
  for (const char* e : kEndpoints) {
    if (name == e) return true;
  }
  return false;
}

bool JobApi::is_get(const std::string& name) {
  return name == "get_job_instance_status" || name == "get_job_instance_ip_log" ||
         name == "get_job_plan_list" || name == "get_job_plan_detail" ||
         name == "get_job_instance_global_var_value" || name == "get_job_instance_list";
}

json JobApi::call(const std::string& name, const json& params, const std::string& username) {
  if (!params.is_object())
    throw ApiError(code::kIllegalParam, "Illegal parameter: the request must be a JSON object");
  if (name == "fast_execute_script") return fast_execute_script(params, username);
  if (name == "fast_transfer_file") return fast_transfer_file(params, username);
  if (name == "get_job_instance_status") return get_job_instance_status(params);
  if (name == "batch_get_job_instance_ip_log") return batch_get_job_instance_ip_log(params);
  if (name == "get_job_instance_ip_log") return get_job_instance_ip_log(params);
  if (name == "operate_job_instance") return operate_job_instance(params);
  if (name == "execute_job_plan") return execute_job_plan(params, username);
  if (name == "get_job_plan_list") return get_job_plan_list(params);
  if (name == "get_job_plan_detail") return get_job_plan_detail(params);
  if (name == "get_job_instance_global_var_value") return get_job_instance_global_var_value(params);
  if (name == "get_job_instance_list") return get_job_instance_list(params);
  if (name == "operate_step_instance") return operate_step_instance(params, username);
  throw ApiError(code::kBadRequest, "Unknown API " + name);
}

json JobApi::fast_execute_script(const json& p, const std::string& username) {
  Scope scope = read_scope(p);
  auto job = std::make_shared<Job>();
  job->step_type = kStepScript;
  job->scope = scope;
  job->username = username;
  if (present(p, "script_version_id") ||
      (present(p, "script_id") && !present(p, "script_content"))) {
    throw illegal_param(present(p, "script_version_id") ? "script_version_id" : "script_id",
                        "jobsim has no script library; send script_content");
  }
  auto content_b64 = opt_string(p, "script_content");
  if (!content_b64 || content_b64->empty()) throw missing_param("script_content");
  auto content = base64_decode(*content_b64);
  if (!content) throw illegal_param("script_content", "not valid Base64");
  auto language = opt_int(p, "script_language");
  if (!language) throw missing_param("script_language");
  if (*language < 1 || *language > 5) {
    throw illegal_param("script_language",
                        "must be 1 shell, 2 bat, 3 perl, 4 python or 5 powershell");
  }
  job->script.language = static_cast<int>(*language);
  job->script.content = *content;
  if (auto param_b64 = opt_string(p, "script_param"); param_b64 && !param_b64->empty()) {
    auto param = base64_decode(*param_b64);
    if (!param) throw illegal_param("script_param", "not valid Base64");
    auto words = split_words(*param);
    if (!words) throw illegal_param("script_param", "unbalanced quotes");
    job->script.args = *words;
  }
  if (auto s = opt_int(p, "is_param_sensitive"); s && *s != 0 && *s != 1) {
    throw illegal_param("is_param_sensitive", "must be 0 or 1");
  }
  job->timeout_s = read_timeout(p);
  check_account(p);
  job->name =
      read_task_name(p, "API Quick execution script" + std::to_string(store_.clock().now_ms()));
  job->callback_url = read_callback(p);
  add_target_hosts(*job, p, scope);
  store_.add(job);
  spdlog::info("event=job_created job={} step={} type=script hosts={} language={} user={}", job->id,
               job->step_id, job->hosts.size(), job->script.language, username);
  executor_.start(job);
  return {{"job_instance_id", job->id},
          {"job_instance_name", job->name},
          {"step_instance_id", job->step_id}};
}

json JobApi::fast_transfer_file(const json& p, const std::string& username) {
  Scope scope = read_scope(p);
  auto job = std::make_shared<Job>();
  job->step_type = kStepFile;
  job->scope = scope;
  job->username = username;
  auto target_path = opt_string(p, "file_target_path");
  if (!target_path || target_path->empty()) throw missing_param("file_target_path");
  auto norm_target = Sandboxes::normalize(*target_path);
  if (!norm_target) {
    throw illegal_param("file_target_path", "must be an absolute path that stays on the host (\"" +
                                                *target_path + "\")");
  }
  job->transfer.target_path = *norm_target;
  if (!present(p, "file_source_list")) throw missing_param("file_source_list");
  if (!p["file_source_list"].is_array())
    throw illegal_param("file_source_list", "must be an array");
  if (p["file_source_list"].empty()) throw missing_param("file_source_list");
  for (auto& src : p["file_source_list"]) {
    if (!src.is_object()) throw illegal_param("file_source_list", "entries must be objects");
    auto type = opt_int(src, "file_type");
    if (type && *type != 1) {
      throw illegal_param("file_type", "jobsim supports server files (file_type 1) only");
    }
    if (!present(src, "file_list")) throw missing_param("file_source_list.file_list");
    if (!src["file_list"].is_array())
      throw illegal_param("file_source_list.file_list", "must be an array");
    if (src["file_list"].empty()) throw missing_param("file_source_list.file_list");
    FileSource fs;
    for (auto& f : src["file_list"]) {
      if (!f.is_string()) throw illegal_param("file_source_list.file_list", "must hold strings");
      auto norm = Sandboxes::normalize(f.get<std::string>());
      if (!norm || *norm == "/") {
        throw illegal_param(
            "file_source_list.file_list",
            "must be absolute paths that stay on the host (\"" + f.get<std::string>() + "\")");
      }
      fs.files.push_back(*norm);
    }
    if (!present(src, "account")) throw missing_param("file_source_list.account");
    const json& account = src["account"];
    if (!account.is_object() || (!present(account, "id") && !present(account, "alias"))) {
      throw illegal_param("file_source_list.account", "must be {\"id\": ..} or {\"alias\": ..}");
    }
    fs.hosts = resolve_targets(inventory_, scope, present(src, "server") ? src["server"] : json(),
                               "file_source_list.server");
    job->transfer.sources.push_back(fs);
  }
  job->timeout_s = read_timeout(p);
  check_account(p);
  for (const char* key : {"download_speed_limit", "upload_speed_limit"}) {
    if (auto v = opt_int(p, key)) {
      if (*v < 1) throw illegal_param(key, "must be a positive number of MB/s");
      double bps = static_cast<double>(*v) * 1024 * 1024;
      (std::string(key) == "upload_speed_limit" ? job->transfer.upload_limit
                                                : job->transfer.download_limit) = bps;
    }
  }
  if (auto mode = opt_int(p, "transfer_mode")) {
    if (*mode != 1 && *mode != 2)
      throw illegal_param("transfer_mode", "must be 1 (strict) or 2 (forced)");
    job->transfer.mode = static_cast<int>(*mode);
  }
  job->name =
      read_task_name(p, "API Quick transfer file" + std::to_string(store_.clock().now_ms()));
  job->callback_url = read_callback(p);
  add_target_hosts(*job, p, scope);
  store_.add(job);
  spdlog::info("event=job_created job={} step={} type=file hosts={} sources={} user={}", job->id,
               job->step_id, job->hosts.size(), job->transfer.sources.size(), username);
  executor_.start(job);
  return {{"job_instance_id", job->id},
          {"job_instance_name", job->name},
          {"step_instance_id", job->step_id}};
}

void JobApi::add_target_hosts(Job& job, const json& p, const Scope& scope) const {
  const json targets = present(p, "target_server") ? p["target_server"] : json();
  for (auto& h : resolve_targets(inventory_, scope, targets, "target_server")) {
    HostResult r;
    r.host = h;
    job.hosts.push_back(r);
  }
}

std::shared_ptr<Job> JobApi::find_job(const json& p, const Scope& scope) {
  int64_t id = req_int(p, "job_instance_id");
  auto job = store_.find(id);
  if (!job || !inventory_.includes(scope, job->scope)) {
    throw ApiError(code::kJobNotFound, "Job instance " + std::to_string(id) + " does not exist");
  }
  return job;
}

namespace {

json step_json(const Job& s, bool ip_result) {
  json step = {{"step_instance_id", s.step_id},
               {"type", s.step_type},
               {"name", s.name},
               {"status", s.step_status},
               {"execute_count", s.execute_count},
               {"create_time", s.create_ms},
               {"start_time", s.start_ms},
               {"end_time", s.end_ms},
               {"total_time", total(s.start_ms, s.end_ms)}};
  if (ip_result) {
    json list = json::array();
    for (auto& h : s.hosts) {
      list.push_back({{"bk_host_id", h.host.host_id},
                      {"ip", h.host.ip},
                      {"bk_cloud_id", h.host.cloud_id},
                      {"status", h.status},
                      {"tag", h.tag},
                      {"exit_code", h.exit_code},
                      {"error_code", h.error_code},
                      {"start_time", h.start_ms},
                      {"end_time", h.end_ms},
                      {"total_time", total(h.start_ms, h.end_ms)}});
    }
    step["step_ip_result_list"] = std::move(list);
  }
  return step;
}

}  // namespace

json JobApi::get_job_instance_status(const json& p) {
  Scope scope = read_scope(p);
  auto job = find_job(p, scope);
  bool ip_result = opt_bool(p, "return_ip_result", false);
  std::lock_guard<std::mutex> lock(job->mu);
  json ji = {{"job_instance_id", job->id},
             {"bk_scope_type", job->scope.type},
             {"bk_scope_id", job->scope.id},
             {"name", job->name},
             {"status", job->status},
             {"create_time", job->create_ms},
             {"start_time", job->start_ms},
             {"end_time", job->end_ms},
             {"total_time", total(job->start_ms, job->end_ms)}};
  json steps = json::array();
  if (job->is_plan()) {
    for (auto& s : job->steps) {
      std::lock_guard<std::mutex> step_lock(s->mu);
      steps.push_back(step_json(*s, ip_result));
    }
  } else {
    steps.push_back(step_json(*job, ip_result));
  }
  return {{"finished", job->finished},
          {"job_instance", std::move(ji)},
          {"step_instance_list", std::move(steps)}};
}

std::shared_ptr<Job> JobApi::find_step(const std::shared_ptr<Job>& job, int64_t step_id) {
  if (!job->is_plan() && step_id == job->step_id) return job;
  for (auto& s : job->steps) {
    if (s->step_id == step_id) return s;
  }
  throw ApiError(code::kStepNotFound,
                 "Step instance " + std::to_string(step_id) + " does not exist");
}

namespace {

// Hosts named by host_id_list / ip_list (host ids win); nullopt when neither is given.
std::vector<Host> requested_hosts(const Inventory& inv, const json& p) {
  std::vector<Host> out;
  if (present(p, "host_id_list") && p["host_id_list"].is_array() && !p["host_id_list"].empty()) {
    for (auto& v : p["host_id_list"]) {
      if (!v.is_number_integer()) throw illegal_param("host_id_list", "must hold integers");
      if (const Host* h = inv.find(v.get<int64_t>())) {
        out.push_back(*h);
      } else {
        Host unknown;
        unknown.host_id = v.get<int64_t>();
        out.push_back(unknown);
      }
    }
    return out;
  }
  if (present(p, "ip_list") && p["ip_list"].is_array() && !p["ip_list"].empty()) {
    for (auto& v : p["ip_list"]) {
      if (!v.is_object() || !v.contains("ip") || !v["ip"].is_string()) {
        throw illegal_param("ip_list", "each entry needs an \"ip\" string");
      }
      int64_t cloud = 0;
      if (v.contains("bk_cloud_id")) {
        if (!v["bk_cloud_id"].is_number_integer())
          throw illegal_param("ip_list.bk_cloud_id", "must be an integer");
        cloud = v["bk_cloud_id"].get<int64_t>();
      }
      if (const Host* h = inv.find_ip(cloud, v["ip"].get<std::string>())) out.push_back(*h);
    }
    return out;
  }
  throw ApiError(code::kHostListEmpty, "Host list is empty: give host_id_list or ip_list");
}

}  // namespace

json JobApi::batch_get_job_instance_ip_log(const json& p) {
  Scope scope = read_scope(p);
  auto job = find_step(find_job(p, scope), req_int(p, "step_instance_id"));
  int64_t step_id = job->step_id;
  std::vector<Host> hosts = requested_hosts(inventory_, p);
  std::lock_guard<std::mutex> lock(job->mu);
  json data = {{"job_instance_id", job->id}, {"step_instance_id", job->step_id}};
  std::set<int64_t> seen;
  if (job->step_type == kStepScript) {
    data["log_type"] = 1;
    json logs = json::array();
    for (auto& h : hosts) {
      if (!seen.insert(h.host_id).second) continue;
      auto it = job->index_of.find(h.host_id);
      if (it == job->index_of.end()) continue;
      const HostResult& r = job->hosts[it->second];
      logs.push_back({{"bk_host_id", r.host.host_id},
                      {"ip", r.host.ip},
                      {"bk_cloud_id", r.host.cloud_id},
                      {"log_content", r.log}});
    }
    data["script_task_logs"] = std::move(logs);
  } else {
    data["log_type"] = 2;
    json logs = json::array();
    for (auto& h : hosts) {
      if (!seen.insert(h.host_id).second) continue;
      auto it = job->index_of.find(h.host_id);
      auto up = job->uploads.find(h.host_id);
      if (it == job->index_of.end() && up == job->uploads.end()) continue;
      json file_logs = json::array();
      const Host* host = nullptr;
      if (up != job->uploads.end()) {
        for (auto& l : up->second) file_logs.push_back(file_log_json(l));
        if (!up->second.empty()) host = &up->second.front().src;
      }
      if (it != job->index_of.end()) {
        host = &job->hosts[it->second].host;
        for (auto& l : job->hosts[it->second].file_logs) file_logs.push_back(file_log_json(l));
      }
      logs.push_back({{"bk_host_id", host->host_id},
                      {"ip", host->ip},
                      {"bk_cloud_id", host->cloud_id},
                      {"file_logs", std::move(file_logs)}});
    }
    data["file_task_logs"] = std::move(logs);
  }
  return data;
}

json JobApi::get_job_instance_ip_log(const json& p) {
  Scope scope = read_scope(p);
  auto job = find_step(find_job(p, scope), req_int(p, "step_instance_id"));
  int64_t step_id = job->step_id;
  const Host* host = nullptr;
  if (auto id = opt_int(p, "bk_host_id")) {
    host = inventory_.find(*id);
    if (!host)
      throw ApiError(code::kHostsInvalid, "Host " + std::to_string(*id) + " does not exist");
  } else {
    auto ip = opt_string(p, "ip");
    if (!ip || ip->empty()) throw missing_param("bk_host_id or bk_cloud_id + ip");
    int64_t cloud = opt_int(p, "bk_cloud_id").value_or(0);
    host = inventory_.find_ip(cloud, *ip);
    if (!host)
      throw ApiError(code::kHostsInvalid,
                     "Host " + std::to_string(cloud) + ":" + *ip + " does not exist");
  }
  std::lock_guard<std::mutex> lock(job->mu);
  auto it = job->index_of.find(host->host_id);
  auto up = job->uploads.find(host->host_id);
  if (it == job->index_of.end() && up == job->uploads.end()) {
    throw ApiError(code::kHostsInvalid, "Host " + std::to_string(host->host_id) +
                                            " is not part of step " + std::to_string(step_id));
  }
  json data = {{"bk_host_id", host->host_id}, {"ip", host->ip}, {"bk_cloud_id", host->cloud_id}};
  if (job->step_type == kStepScript) {
    data["log_type"] = 1;
    data["log_content"] = job->hosts[it->second].log;
  } else {
    data["log_type"] = 2;
    json file_logs = json::array();
    if (up != job->uploads.end()) {
      for (auto& l : up->second) file_logs.push_back(file_log_json(l));
    }
    if (it != job->index_of.end()) {
      for (auto& l : job->hosts[it->second].file_logs) file_logs.push_back(file_log_json(l));
    }
    data["file_logs"] = std::move(file_logs);
  }
  return data;
}

json JobApi::operate_job_instance(const json& p) {
  Scope scope = read_scope(p);
  auto job = find_job(p, scope);
  int64_t op = req_int(p, "operation_code");
  if (op == 2 && job->is_plan()) {
    plan_runner_.start_created(job);
    return {{"job_instance_id", job->id}};
  }
  if (op != 1) {
    throw illegal_param("operation_code",
                        "jobsim supports 1 (terminate), and 2 (start) for job plans");
  }
  int64_t err = 0;
  std::string why;
  if (!store_.begin_terminate(job, &err, &why)) throw ApiError(err, why);
  spdlog::info("event=job_terminate job={}", job->id);
  if (job->is_plan()) {
    plan_runner_.terminate(job);
  } else {
    executor_.terminate(job);
  }
  return {{"job_instance_id", job->id}};
}

}  // namespace jobsim
