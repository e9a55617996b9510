#pragma once

#include <optional>
#include <string>

#include "jobgw/v1/job_gateway.pb.h"

// What the job-plan commands (plans, plan, run-plan, operate, confirm, outputs) take on the
// command line beyond the flags every command shares: variable values and step operations.
namespace jobgw::client {

// --var NAME=VALUE: a text value by name, split on the first '=' (a value may hold more).
std::optional<v1::PlanVariable> parse_var_by_name(const std::string& text, std::string* error);
// --var-id ID=VALUE: a text value by JOB's variable id.
std::optional<v1::PlanVariable> parse_var_by_id(const std::string& text, std::string* error);
// --hosts-var NAME=HOSTSPEC,...: a host-list variable's hosts (host ids or CLOUD:IP).
std::optional<v1::PlanVariable> parse_hosts_var(const std::string& text, std::string* error);

// OPERATION as `jobctl operate` takes it ("retry-failed", "confirm", ...); nullopt for others.
std::optional<v1::StepOperation> parse_step_operation(const std::string& text);
// Its command-line name ("terminate-confirmation"); the number for one jobctl does not name.
std::string step_operation_text(v1::StepOperation operation);
// "retry-failed, ignore-error, ...": every accepted OPERATION, for usage errors and help.
std::string step_operation_list();

// --help text of a job-plan command; "" for a command that is not one.
std::string plan_usage(const std::string& command);

}  // namespace jobgw::client
