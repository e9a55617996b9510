#include "client/plan_args.h"

#include <cerrno>
#include <cstdlib>
#include <utility>
#include <vector>

#include "client/cli_args.h"

namespace jobgw::client {
namespace {

const std::vector<std::pair<const char*, v1::StepOperation>>& operations() {
  static const std::vector<std::pair<const char*, v1::StepOperation>> kOperations = {
      {"retry-failed", v1::STEP_OPERATION_RETRY_FAILED},
      {"ignore-error", v1::STEP_OPERATION_IGNORE_ERROR},
      {"confirm", v1::STEP_OPERATION_CONFIRM},
      {"retry-all", v1::STEP_OPERATION_RETRY_ALL},
      {"terminate-confirmation", v1::STEP_OPERATION_TERMINATE_CONFIRMATION},
      {"reinitiate-confirmation", v1::STEP_OPERATION_REINITIATE_CONFIRMATION},
      {"next-step", v1::STEP_OPERATION_NEXT_STEP},
      {"skip", v1::STEP_OPERATION_SKIP}};
  return kOperations;
}

// KEY=VALUE split on the first '='; false when there is no '=' or no key.
bool split_assignment(const std::string& text, std::string* key, std::string* value) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  *key = text.substr(0, eq);
  *value = text.substr(eq + 1);
  return true;
}

}  // namespace

std::optional<v1::PlanVariable> parse_var_by_name(const std::string& text, std::string* error) {
  std::string name, value;
  if (!split_assignment(text, &name, &value)) {
    *error = "bad --var '" + text + "' (NAME=VALUE)";
    return std::nullopt;
  }
  v1::PlanVariable var;
  var.set_name(name);
  var.set_value(value);
  return var;
}

std::optional<v1::PlanVariable> parse_var_by_id(const std::string& text, std::string* error) {
  std::string id_text, value;
  if (!split_assignment(text, &id_text, &value)) {
    *error = "bad --var-id '" + text + "' (ID=VALUE, ID a variable id from jobctl plan)";
    return std::nullopt;
  }
  errno = 0;
  char* end = nullptr;
  long long id = std::strtoll(id_text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || id <= 0) {
    *error = "bad --var-id '" + text + "': '" + id_text + "' is not a variable id";
    return std::nullopt;
  }
  v1::PlanVariable var;
  var.set_id(id);
  var.set_value(value);
  return var;
}

std::optional<v1::PlanVariable> parse_hosts_var(const std::string& text, std::string* error) {
  std::string name, hosts;
  if (!split_assignment(text, &name, &hosts) || hosts.empty()) {
    *error = "bad --hosts-var '" + text + "' (NAME=HOSTSPEC,..., e.g. targets=101,0:192.0.2.1)";
    return std::nullopt;
  }
  v1::PlanVariable var;
  var.set_name(name);
  std::string host_error;
  if (!add_host_specs(hosts, var.mutable_hosts(), &host_error)) {
    *error = "--hosts-var " + name + ": " + host_error;
    return std::nullopt;
  }
  return var;
}

std::optional<v1::StepOperation> parse_step_operation(const std::string& text) {
  for (const auto& [name, op] : operations()) {
    if (text == name) return op;
  }
  return std::nullopt;
}

std::string step_operation_text(v1::StepOperation operation) {
  for (const auto& [name, op] : operations()) {
    if (op == operation) return name;
  }
  return std::to_string(static_cast<int>(operation));
}

std::string step_operation_list() {
  std::string out;
  for (const auto& [name, op] : operations()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

std::string plan_usage(const std::string& command) {
  if (command == "plans") {
    return "Usage: jobctl plans [--name TEXT] [--creator USER] [--page-size N] [--offset N]\n"
           "       [--json]\n"
           "Lists the scope's job plans: id, name, creator and last change.\n\n"
           "  --name TEXT          only plans whose name contains TEXT\n"
           "  --creator USER       only plans USER created\n"
           "  --page-size N        plans per page, 1..1000 (default JOB's 20)\n"
           "  --offset N           index of the page's first plan (default 0)\n"
           "  --json               the ListJobPlans response as JSON\n";
  }
  if (command == "plan") {
    return "Usage: jobctl plan PLAN_ID [--json]\n"
           "Prints a plan's steps (id, type, name) and global variables (id, name, type,\n"
           "required, default; a password's default is shown as (hidden)). Run it with\n"
           "jobctl run-plan PLAN_ID --var NAME=VALUE, --var-id ID=VALUE or\n"
           "--hosts-var NAME=HOSTSPEC,...\n\n"
           "  --json               the JobPlan as JSON\n";
  }
  if (command == "run-plan") {
    return "Usage: jobctl run-plan PLAN_ID [--var NAME=VALUE]... [--var-id ID=VALUE]...\n"
           "       [--hosts-var NAME=HOSTSPEC,...]... [--watch [--logs]] [options]\n"
           "Runs a job plan and prints 'job ID'. Variables not\n"
           "given keep the plan's defaults; jobgw refuses unknown names and required\n"
           "variables left empty before JOB sees them.\n\n"
           "  --var NAME=VALUE     a text variable's value, by name (repeatable)\n"
           "  --var-id ID=VALUE    a variable's value by its id (see jobctl plan)\n"
           "  --hosts-var NAME=HOSTSPEC,...\n"
           "                       a host-list variable's hosts: host ids or CLOUD:IP\n"
           "  --request-id ID      idempotency key: jobgw answers a repeated ID with the first\n"
           "                       run's job (default: a new jobctl-<16 hex>, printed on\n"
           "                       stderr, or as request_id with --json)\n"
           "  --no-request-id      send none: no deduplication\n"
           "  --watch              follow the job to its end: every step's status, the\n"
           "                       current step's hosts, and a prompt line when a step waits\n"
           "                       for confirmation; exit 0 on success, 1 otherwise\n"
           "  --logs               with --watch: print each step's output when the job ends\n"
           "  --plain | --json     watch output: plain lines / one JSON object per line\n"
           "                       (default: live table on a terminal, plain lines otherwise)\n";
  }
  if (command == "operate") {
    return "Usage: jobctl operate JOB_ID STEP_ID OPERATION\n"
           "Operates one step of a running job (STEP_ID: a step instance id, as the watch\n"
           "shows it). OPERATION is one of:\n"
           "  retry-failed            run the failed hosts of a failed step again\n"
           "  ignore-error            ignore a failed step's error and go on\n"
           "  confirm                 confirm a step that waits for confirmation\n"
           "  retry-all               run every host of a failed step again\n"
           "  terminate-confirmation  refuse a waiting confirmation: the job ends\n"
           "  reinitiate-confirmation ask again for a refused confirmation\n"
           "  next-step               go on after a terminated step\n"
           "  skip                    skip a step that is being terminated\n"
           "A state the operation does not fit is refused (exit 3) naming the state.\n";
  }
  if (command == "confirm") {
    return "Usage: jobctl confirm JOB_ID STEP_ID\n"
           "Confirms a step that waits for confirmation: jobctl operate JOB_ID STEP_ID confirm.\n";
  }
  if (command == "outputs") {
    return "Usage: jobctl outputs JOB_ID [--all-hosts] [--per-step] [--json]\n"
           "Prints a job's outputs: its string variables after the last script step, the\n"
           "variables its scripts printed as <SOPS_VAR>key:value</SOPS_VAR>, and the last\n"
           "step's hosts by outcome.\n\n"
           "  --all-hosts          search every host's log for <SOPS_VAR> markers (default:\n"
           "                       the first host of each step, as bk-sops does)\n"
           "  --per-step           also each step's variables and markers\n"
           "  --json               the JobOutputs message as JSON\n";
  }
  return "";
}

}  // namespace jobgw::client
