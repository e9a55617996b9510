#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jobsim/inventory.h"
#include "jobsim/job_store.h"

namespace jobsim {

namespace var_type {
constexpr int kString = 1, kNamespace = 2, kHostList = 3, kPassword = 4, kAssocArray = 5,
              kIndexedArray = 6;
}

// A global variable of a job plan, with its default.
struct PlanVar {
  int64_t id = 0;
  std::string name;
  int type = var_type::kString;
  bool required = false;
  std::string description;
  std::string value;      // every type but host lists
  nlohmann::json server;  // host lists: a target_server object (null when none)
};

// One step of a job plan: a script (1), a file transfer (2) or a manual confirmation (3).
struct PlanStep {
  int64_t id = 0;
  std::string name;
  int type = kStepScript;
  // Script steps.
  int script_language = 1;
  std::string script_content;  // plain text
  std::string script_param;
  bool is_param_sensitive = false;
  bool script_disabled = false;  // a referenced script that was disabled (execute: 1244014)
  // Script and file steps.
  int timeout = 7200;
  std::string account = "root";
  int64_t account_id = 1;
  nlohmann::json server;  // targets: {"variable": name} or a target_server object
  // File steps: sources as fast_transfer_file's file_source_list (a source's server may name a
  // variable too) and the destination directory.
  nlohmann::json file_source_list = nlohmann::json::array();
  std::string file_target_path;
  int transfer_mode = 2;
  int64_t upload_speed_limit = 0;  // MB/s, 0 unlimited
  int64_t download_speed_limit = 0;
  // Confirmations.
  std::vector<std::string> confirm_users;
  std::string notify_message;
};

struct Plan {
  int64_t id = 0;
  Scope scope;
  int64_t template_id = 0;
  std::string name;
  std::string creator = "admin";
  std::string last_modify_user = "admin";
  int64_t create_time = 0;
  int64_t last_modify_time = 0;
  std::vector<PlanVar> vars;
  std::vector<PlanStep> steps;

  const PlanVar* find_var(const std::string& name) const;
};

// The job plans jobsim offers: the "plans" of an inventory file, or the built-in demo plans.
class PlanCatalog {
 public:
  // The "plans" array of an inventory file (jobsim/README.md); none when absent. Throws
  // std::runtime_error naming the problem.
  static PlanCatalog from_json_text(const std::string& text);
  static PlanCatalog from_file(const std::string& path);
  // The two demo plans of --hosts runs (jobsim/README.md "Built-in plans"); host-list defaults
  // are the first two hosts of `inventory`.
  static PlanCatalog demo(const Inventory& inventory);

  void add(Plan plan);  // throws on a duplicate id
  const Plan* find(int64_t id) const;
  const std::vector<Plan>& plans() const { return plans_; }

 private:
  std::vector<Plan> plans_;
};

// Whether `text` uses ${name}.
bool mentions_var(const std::string& text, const std::string& name);
// Replaces ${name} by the value of a string, namespace or password variable, as JOB does before
// a script runs; other ${...} stay as they are.
std::string substitute_vars(const std::string& text, const std::vector<JobVar>& vars);
// Bash lines declaring the variables (strings quoted, arrays as their bash literals), run
// before a shell step's script.
std::string bash_declarations(const std::vector<JobVar>& vars);
// Single-quotes `s` for bash.
std::string shell_quote(const std::string& s);

}  // namespace jobsim
