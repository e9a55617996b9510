#include "server/plan_validation.h"

#include <utility>

namespace jobgw::server {
namespace {

using core::Error;

Error invalid(const std::string& field, const std::string& reason) {
  return Error::invalid_argument(field + ": " + reason);
}

std::optional<Error> positive(std::int64_t id, const std::string& field, const char* what) {
  if (id > 0) return std::nullopt;
  return invalid(field, std::string("must be a positive ") + what + ", got " + std::to_string(id));
}

std::optional<Error> time_range(std::int64_t start, std::int64_t end, const std::string& field) {
  if (start < 0) return invalid(field + "_start_ms", "must not be negative");
  if (end < 0) return invalid(field + "_end_ms", "must not be negative");
  if (start != 0 && end != 0 && start > end) {
    return invalid(field + "_start_ms", "is after " + field + "_end_ms");
  }
  return std::nullopt;
}

bool known_operation(int op) {
  switch (op) {
    case v1::STEP_OPERATION_RETRY_FAILED:
    case v1::STEP_OPERATION_IGNORE_ERROR:
    case v1::STEP_OPERATION_CONFIRM:
    case v1::STEP_OPERATION_RETRY_ALL:
    case v1::STEP_OPERATION_TERMINATE_CONFIRMATION:
    case v1::STEP_OPERATION_REINITIATE_CONFIRMATION:
    case v1::STEP_OPERATION_NEXT_STEP:
    case v1::STEP_OPERATION_SKIP:
      return true;
    default:
      return false;
  }
}

}  // namespace

core::Result<core::PlanListRequest> to_list_plans(const v1::ListJobPlansRequest& request) {
  core::PlanListRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (request.job_template_id() < 0) return invalid("job_template_id", "must not be negative");
  if (auto e =
          time_range(request.create_time_start_ms(), request.create_time_end_ms(), "create_time")) {
    return *e;
  }
  if (auto e = time_range(request.last_modify_time_start_ms(), request.last_modify_time_end_ms(),
                          "last_modify_time")) {
    return *e;
  }
  if (request.offset() < 0) {
    return invalid("offset", "must not be negative, got " + std::to_string(request.offset()));
  }
  if (request.page_size() < 0 || request.page_size() > kMaxPlanPageSize) {
    return invalid("page_size", "must be 0 (" + std::to_string(kDefaultPlanPageSize) + ") or 1.." +
                                    std::to_string(kMaxPlanPageSize) + ", got " +
                                    std::to_string(request.page_size()));
  }
  out.job_template_id = request.job_template_id();
  out.creator = request.creator();
  out.name = request.name();
  out.create_time_start = request.create_time_start_ms();
  out.create_time_end = request.create_time_end_ms();
  out.last_modify_user = request.last_modify_user();
  out.last_modify_time_start = request.last_modify_time_start_ms();
  out.last_modify_time_end = request.last_modify_time_end_ms();
  out.start = request.offset();
  out.length = request.page_size() == 0 ? kDefaultPlanPageSize : request.page_size();
  out.operator_name = request.operator_();
  return out;
}

core::Result<core::PlanDetailRequest> to_get_plan(const v1::GetJobPlanRequest& request) {
  core::PlanDetailRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = positive(request.job_plan_id(), "job_plan_id", "plan id")) return *e;
  out.job_plan_id = request.job_plan_id();
  out.operator_name = request.operator_();
  return out;
}

core::Result<core::ExecutePlanRequest> to_execute_plan(const v1::ExecuteJobPlanRequest& request,
                                                       const ValidationLimits& limits) {
  core::ExecutePlanRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = positive(request.job_plan_id(), "job_plan_id", "plan id")) return *e;
  out.job_plan_id = request.job_plan_id();
  const std::size_t targets = target_count(request);
  if (targets > limits.max_targets) {
    return invalid("variables", std::to_string(targets) + " targets exceed limits.max_targets (" +
                                    std::to_string(limits.max_targets) + ")");
  }
  for (int i = 0; i < request.variables_size(); ++i) {
    const v1::PlanVariable& v = request.variables(i);
    const std::string field = "variables[" + std::to_string(i) + "]";
    core::PlanVariableValue value;
    if (v.id() < 0) return invalid(field + ".id", "must not be negative");
    if (v.id() == 0 && v.name().empty()) return invalid(field, "name the variable by id or name");
    value.id = v.id();
    value.name = v.name();
    switch (v.value_kind_case()) {
      case v1::PlanVariable::kValue:
        if (v.value().size() > limits.max_param_bytes) {
          return invalid(field + ".value", std::to_string(v.value().size()) +
                                               " bytes exceeds the limit of " +
                                               std::to_string(limits.max_param_bytes) + " bytes");
        }
        value.value = v.value();
        break;
      case v1::PlanVariable::kHosts: {
        auto hosts = to_targets(v.hosts(), field + ".hosts");
        if (!hosts) return hosts.error();
        value.server = std::move(hosts.value());
        break;
      }
      case v1::PlanVariable::VALUE_KIND_NOT_SET:
        return invalid(field, "give a value (text variables) or hosts (host-list variables)");
    }
    out.variables.push_back(std::move(value));
  }
  out.operator_name = request.operator_();
  return out;
}

core::Result<core::OperateStepRequest> to_operate_step(const v1::OperateStepRequest& request) {
  core::OperateStepRequest out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = positive(request.job_instance_id(), "job_instance_id", "job instance id")) {
    return *e;
  }
  if (auto e = positive(request.step_instance_id(), "step_instance_id", "step instance id")) {
    return *e;
  }
  if (!known_operation(request.operation())) {
    return invalid("operation",
                   "must be one of RETRY_FAILED, IGNORE_ERROR, CONFIRM, RETRY_ALL, "
                   "TERMINATE_CONFIRMATION, REINITIATE_CONFIRMATION, NEXT_STEP, "
                   "SKIP; got " +
                       std::to_string(request.operation()));
  }
  out.job_instance_id = request.job_instance_id();
  out.step_instance_id = request.step_instance_id();
  out.operation_code = request.operation();
  out.operator_name = request.operator_();
  return out;
}

core::Result<OutputsQuery> to_outputs(const v1::GetJobOutputsRequest& request) {
  OutputsQuery out;
  auto scope = to_scope(request.scope());
  if (!scope) return scope.error();
  out.scope = std::move(scope.value());
  if (auto e = positive(request.job_instance_id(), "job_instance_id", "job instance id")) {
    return *e;
  }
  out.job_instance_id = request.job_instance_id();
  switch (request.log_hosts()) {
    case v1::LOG_VAR_HOSTS_UNSPECIFIED:
    case v1::LOG_VAR_HOSTS_FIRST:
      break;
    case v1::LOG_VAR_HOSTS_ALL:
      out.all_hosts = true;
      break;
    default:
      return invalid("log_hosts", "must be LOG_VAR_HOSTS_FIRST or LOG_VAR_HOSTS_ALL, got " +
                                      std::to_string(request.log_hosts()));
  }
  out.per_step = request.per_step();
  out.operator_name = request.operator_();
  return out;
}

std::size_t target_count(const v1::ExecuteJobPlanRequest& request) {
  std::size_t n = 0;
  for (const auto& v : request.variables()) {
    if (v.has_hosts()) n += target_count(v.hosts());
  }
  return n;
}

}  // namespace jobgw::server
