#include "jobsim/plan.h"

#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "jobsim/text_util.h"

namespace jobsim {

using nlohmann::json;

namespace {

// 2024-01-01T00:00:00Z: plans without times in the inventory, and the built-in ones.
constexpr int64_t kDefaultTime = 1704067200000;

[[noreturn]] void fail(const std::string& what, const std::string& why) {
  throw std::runtime_error(what + ": " + why);
}

std::string get_string(const json& obj, const char* key, const std::string& what,
                       const std::string& def) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  fail(what, std::string("\"") + key + "\" must be a string");
}

int64_t get_int(const json& obj, const char* key, const std::string& what, int64_t def) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return def;
  if (!it->is_number_integer()) fail(what, std::string("\"") + key + "\" must be an integer");
  return it->get<int64_t>();
}

bool get_flag(const json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_number_integer()) return it->get<int64_t>() != 0;
  fail(what, std::string("\"") + key + "\" must be a boolean or 0/1");
}

// A step's or a variable's hosts: {"variable": name} or a target_server object.
json get_server(const json& obj, const char* key, const std::string& what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return json();
  if (!it->is_object()) fail(what, std::string("\"") + key + "\" must be an object");
  if (it->contains("variable") && !(*it)["variable"].is_string()) {
    fail(what, std::string("\"") + key + ".variable\" must be a string");
  }
  return *it;
}

PlanVar parse_var(const json& v, const std::string& what) {
  if (!v.is_object()) fail(what, "must be an object");
  PlanVar var;
  var.id = get_int(v, "id", what, 0);
  if (var.id <= 0) fail(what, "needs a positive \"id\"");
  var.name = get_string(v, "name", what, "");
  if (var.name.empty()) fail(what, "needs a \"name\"");
  var.type = static_cast<int>(get_int(v, "type", what, var_type::kString));
  if (var.type < 1 || var.type > 6) fail(what, "\"type\" must be 1..6");
  var.required = get_flag(v, "required", what);
  var.description = get_string(v, "description", what, "");
  if (var.type == var_type::kHostList) {
    var.server = get_server(v, "server", what);
  } else {
    var.value = get_string(v, "value", what, "");
  }
  return var;
}

PlanStep parse_step(const json& s, const std::string& what) {
  if (!s.is_object()) fail(what, "must be an object");
  PlanStep step;
  step.id = get_int(s, "id", what, 0);
  if (step.id <= 0) fail(what, "needs a positive \"id\"");
  step.name = get_string(s, "name", what, "step " + std::to_string(step.id));
  step.type = static_cast<int>(get_int(s, "type", what, kStepScript));
  step.timeout = static_cast<int>(get_int(s, "timeout", what, 7200));
  if (step.timeout < 1 || step.timeout > 86400) fail(what, "\"timeout\" must be within 1..86400");
  step.account = get_string(s, "account", what, "root");
  step.account_id = get_int(s, "account_id", what, 1);
  switch (step.type) {
    case kStepScript: {
      step.script_language = static_cast<int>(get_int(s, "script_language", what, 1));
      if (step.script_language < 1 || step.script_language > 5) {
        fail(what, "\"script_language\" must be 1..5");
      }
      step.script_content = get_string(s, "script_content", what, "");
      if (step.script_content.empty()) fail(what, "needs \"script_content\"");
      step.script_param = get_string(s, "script_param", what, "");
      if (!split_words(step.script_param)) fail(what, "unbalanced quotes in \"script_param\"");
      step.is_param_sensitive = get_flag(s, "is_param_sensitive", what);
      step.script_disabled = get_flag(s, "script_disabled", what);
      step.server = get_server(s, "server", what);
      if (step.server.is_null()) fail(what, "needs a target \"server\"");
      break;
    }
    case kStepFile: {
      auto src = s.find("file_source_list");
      if (src == s.end() || !src->is_array() || src->empty()) {
        fail(what, "needs a non-empty \"file_source_list\"");
      }
      for (auto& fs : *src) {
        if (!fs.is_object() || !fs.contains("file_list") || !fs["file_list"].is_array()) {
          fail(what, "every file source needs a \"file_list\" array");
        }
        get_server(fs, "server", what + ": file source");
      }
      step.file_source_list = *src;
      auto dest = s.find("file_destination");
      if (dest == s.end() || !dest->is_object()) fail(what, "needs a \"file_destination\" object");
      step.file_target_path = get_string(*dest, "path", what, "");
      if (step.file_target_path.empty()) fail(what, "needs \"file_destination.path\"");
      step.account = get_string(*dest, "account", what, step.account);
      step.server = get_server(*dest, "server", what);
      if (step.server.is_null()) fail(what, "needs \"file_destination.server\"");
      step.transfer_mode = static_cast<int>(get_int(s, "transfer_mode", what, 2));
      if (step.transfer_mode != 1 && step.transfer_mode != 2) {
        fail(what, "\"transfer_mode\" must be 1 or 2");
      }
      step.upload_speed_limit = get_int(s, "upload_speed_limit", what, 0);
      step.download_speed_limit = get_int(s, "download_speed_limit", what, 0);
      break;
    }
    case kStepConfirm: {
      auto users = s.find("confirm_users");
      if (users != s.end() && !users->is_null()) {
        if (!users->is_array()) fail(what, "\"confirm_users\" must be an array of strings");
        for (auto& u : *users) {
          if (!u.is_string()) fail(what, "\"confirm_users\" must be an array of strings");
          step.confirm_users.push_back(u.get<std::string>());
        }
      }
      step.notify_message = get_string(s, "notify_message", what, "");
      break;
    }
    default:
      fail(what, "\"type\" must be 1 (script), 2 (file) or 3 (confirmation)");
  }
  return step;
}

Plan parse_plan(const json& p, const std::string& what) {
  if (!p.is_object()) fail(what, "must be an object");
  Plan plan;
  plan.id = get_int(p, "id", what, 0);
  if (plan.id <= 0) fail(what, "needs a positive \"id\"");
  plan.name = get_string(p, "name", what, "");
  if (plan.name.empty()) fail(what, "needs a \"name\"");
  plan.scope.type = get_string(p, "bk_scope_type", what, get_string(p, "scope_type", what, "biz"));
  plan.scope.id = get_string(p, "bk_scope_id", what, get_string(p, "scope_id", what, "1"));
  if (plan.scope.type != "biz" && plan.scope.type != "biz_set") {
    fail(what, "bk_scope_type must be \"biz\" or \"biz_set\"");
  }
  plan.template_id = get_int(p, "job_template_id", what, 0);
  plan.creator = get_string(p, "creator", what, "admin");
  plan.last_modify_user = get_string(p, "last_modify_user", what, plan.creator);
  plan.create_time = get_int(p, "create_time", what, kDefaultTime);
  plan.last_modify_time = get_int(p, "last_modify_time", what, plan.create_time);
  std::set<int64_t> var_ids;
  std::set<std::string> var_names;
  if (p.contains("global_vars") && !p["global_vars"].is_null()) {
    if (!p["global_vars"].is_array()) fail(what, "\"global_vars\" must be an array");
    size_t i = 0;
    for (auto& v : p["global_vars"]) {
      PlanVar var = parse_var(v, what + ".global_vars[" + std::to_string(i++) + "]");
      if (!var_ids.insert(var.id).second || !var_names.insert(var.name).second) {
        fail(what, "duplicate variable id or name (\"" + var.name + "\")");
      }
      plan.vars.push_back(std::move(var));
    }
  }
  std::set<int64_t> step_ids;
  if (p.contains("steps") && !p["steps"].is_null()) {
    if (!p["steps"].is_array()) fail(what, "\"steps\" must be an array");
    size_t i = 0;
    for (auto& s : p["steps"]) {
      PlanStep step = parse_step(s, what + ".steps[" + std::to_string(i++) + "]");
      if (!step_ids.insert(step.id).second) {
        fail(what, "duplicate step id " + std::to_string(step.id));
      }
      plan.steps.push_back(std::move(step));
    }
  }
  return plan;
}

bool string_like(int type) {
  return type == var_type::kString || type == var_type::kNamespace || type == var_type::kPassword;
}

}  // namespace

const PlanVar* Plan::find_var(const std::string& var_name) const {
  for (auto& v : vars) {
    if (v.name == var_name) return &v;
  }
  return nullptr;
}

PlanCatalog PlanCatalog::from_json_text(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    throw std::runtime_error("inventory must be a JSON object");
  }
  PlanCatalog catalog;
  if (!doc.contains("plans") || doc["plans"].is_null()) return catalog;
  if (!doc["plans"].is_array()) throw std::runtime_error("plans must be an array");
  size_t i = 0;
  for (auto& p : doc["plans"]) catalog.add(parse_plan(p, "plans[" + std::to_string(i++) + "]"));
  return catalog;
}

PlanCatalog PlanCatalog::from_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read inventory file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return from_json_text(ss.str());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

void PlanCatalog::add(Plan plan) {
  if (find(plan.id)) throw std::runtime_error("duplicate plan id " + std::to_string(plan.id));
  plans_.push_back(std::move(plan));
}

const Plan* PlanCatalog::find(int64_t id) const {
  for (auto& p : plans_) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

PlanCatalog PlanCatalog::demo(const Inventory& inventory) {
  json hosts = json::array();
  for (auto& h : inventory.hosts()) {
    if (hosts.size() == 2) break;
    if (h.scope == Scope{}) hosts.push_back(h.host_id);
  }
  json targets = {{"host_id_list", hosts}};
  PlanCatalog catalog;

  Plan three;
  three.id = 1;
  three.template_id = 1;
  three.name = "three steps";
  three.create_time = three.last_modify_time = kDefaultTime;
  three.vars = {
      {1, "who", var_type::kString, false, "who step 1 greets", "world", json()},
      {2, "greeting", var_type::kString, false, "set by step 1, printed by step 3", "", json()},
      {3, "targets", var_type::kHostList, true, "the hosts of steps 1 and 3", "", targets},
      {4, "token", var_type::kPassword, false, "a password (masked when read back)", "s3cret",
       json()},
  };
  PlanStep set;
  set.id = 1;
  set.name = "set greeting";
  set.script_content =
      "greeting=\"hello, ${who}\"\n"
      "echo \"greeting set to: $greeting\"\n";
  set.timeout = 60;
  set.server = {{"variable", "targets"}};
  PlanStep confirm;
  confirm.id = 2;
  confirm.name = "confirm";
  confirm.type = kStepConfirm;
  confirm.notify_message = "Print the greeting?";
  PlanStep print;
  print.id = 3;
  print.name = "print greeting";
  print.script_content =
      "echo \"greeting: ${greeting}\"\n"
      "echo \"<SOPS_VAR>greeting:${greeting}</SOPS_VAR>\"\n";
  print.timeout = 60;
  print.server = {{"variable", "targets"}};
  three.steps = {set, confirm, print};
  catalog.add(three);

  Plan may_fail;
  may_fail.id = 2;
  may_fail.template_id = 2;
  may_fail.name = "may fail";
  may_fail.create_time = kDefaultTime;
  may_fail.last_modify_time = kDefaultTime + 86400000;
  may_fail.vars = {
      {1, "fail_first", var_type::kString, false,
       "\"true\": step 1 fails on each host the first time it runs in a job", "true", json()},
      {2, "targets", var_type::kHostList, true, "the hosts of both steps", "", targets},
      {3, "result", var_type::kString, false, "set by step 2", "", json()},
  };
  PlanStep first;
  first.id = 1;
  first.name = "may fail";
  first.script_content =
      "marker=\"tmp/may_fail.$JOB_INSTANCE_ID\"\n"
      "if [ \"${fail_first}\" = \"true\" ] && [ ! -e \"$marker\" ]; then\n"
      "  mkdir -p tmp && touch \"$marker\"\n"
      "  echo \"first try on host $JOB_HOST_ID: failing (a retry succeeds)\"\n"
      "  exit 1\n"
      "fi\n"
      "echo \"host $JOB_HOST_ID: ok\"\n";
  first.timeout = 60;
  first.server = {{"variable", "targets"}};
  PlanStep after;
  after.id = 2;
  after.name = "after";
  after.script_content =
      "result=\"done on $JOB_HOST_ID\"\n"
      "echo \"<SOPS_VAR>result:$result</SOPS_VAR>\"\n";
  after.timeout = 60;
  after.server = {{"variable", "targets"}};
  may_fail.steps = {first, after};
  catalog.add(may_fail);
  return catalog;
}

bool mentions_var(const std::string& text, const std::string& name) {
  return text.find("${" + name + "}") != std::string::npos;
}

std::string substitute_vars(const std::string& text, const std::vector<JobVar>& vars) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find("${", pos);
    if (open == std::string::npos) break;
    size_t close = text.find('}', open + 2);
    if (close == std::string::npos) break;
    std::string name = text.substr(open + 2, close - open - 2);
    const JobVar* found = nullptr;
    for (auto& v : vars) {
      if (v.name == name && string_like(v.type)) found = &v;
    }
    out.append(text, pos, open - pos);
    if (found) {
      out += found->value;
    } else {
      out.append(text, open, close + 1 - open);
    }
    pos = close + 1;
  }
  out.append(text, pos, std::string::npos);
  return out;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string bash_declarations(const std::vector<JobVar>& vars) {
  std::string out;
  for (auto& v : vars) {
    // Names that are not shell identifiers cannot be declared.
    bool ident = !v.name.empty() && !std::isdigit(static_cast<unsigned char>(v.name[0]));
    for (char c : v.name)
      ident = ident && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
    if (!ident) continue;
    if (string_like(v.type)) {
      out += v.name + "=" + shell_quote(v.value) + "\n";
    } else if (v.type == var_type::kAssocArray && !v.value.empty()) {
      out += "declare -A " + v.name + "=" + v.value + "\n";
    } else if (v.type == var_type::kIndexedArray && !v.value.empty()) {
      out += v.name + "=" + v.value + "\n";
    }
  }
  return out;
}

}  // namespace jobsim
