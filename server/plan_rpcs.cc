#include <memory>
#include <mutex>
#include <utility>

#include "core/job/plan_variables.h"
#include "core/submit/request_fingerprint.h"
#include "server/grpc_call.h"
#include "server/job_gateway_service.h"
#include "server/plan_mapping.h"
#include "server/plan_validation.h"
#include "server/service_calls.h"
#include "server/step_operation_rules.h"

// The job-plan RPCs: ListJobPlans, GetJobPlan, ExecuteJobPlan, OperateStep, GetJobOutputs.
namespace jobgw::server {
namespace {

constexpr int kScriptStep = 1;

// GetJobOutputs' reads after the status: the variables, and one log read per script step, in
// parallel; the last to complete answers.
struct OutputsRead {
  std::shared_ptr<Call> call;
  v1::JobOutputs* response = nullptr;
  bool per_step = false;
  std::mutex mu;
  OutputsParts parts;
  std::size_t pending = 0;
  std::optional<core::Error> error;

  void done_one() {
    bool last;
    {
      std::lock_guard<std::mutex> lock(mu);
      last = --pending == 0;
    }
    if (!last) return;
    if (error) {
      call->fail(*error);
      return;
    }
    to_proto(parts, per_step, response);
    call->finish_ok();
  }
};

// The log reads GetJobOutputs makes: each script step that has hosts, its first host (or all).
std::vector<core::IpLogsRequest> log_reads(const core::JobSnapshot& job, const OutputsQuery& q) {
  std::vector<core::IpLogsRequest> reads;
  for (const core::StepSnapshot& step : job.steps) {
    if (step.type != kScriptStep || step.hosts.empty()) continue;
    core::IpLogsRequest r;
    r.scope = q.scope;
    r.job_instance_id = job.job_instance_id;
    r.step_instance_id = step.step_instance_id;
    r.operator_name = q.operator_name;
    const std::size_t n = q.all_hosts ? step.hosts.size() : 1;
    for (std::size_t i = 0; i < n; ++i) {
      const core::Host& h = step.hosts[i].host;
      if (h.host_id > 0) {
        r.host_ids.push_back(h.host_id);
      } else {
        r.hosts.push_back(h);
      }
    }
    reads.push_back(std::move(r));
  }
  return reads;
}

}  // namespace

void JobGatewayService::list_job_plans(const CallInput& input,
                                       const v1::ListJobPlansRequest& request,
                                       v1::ListJobPlansResponse* response, Call::Respond respond) {
  auto call = std::make_shared<Call>(services(), call_spec("ListJobPlans", request.scope(), 0),
                                     std::move(respond));
  auto domain = call->begin(
      input.presented, [&request] { return to_list_plans(request); }, core::Operation::kRead,
      request.operator_());
  if (!domain) return;
  job_.get_job_plan_list(
      *domain,
      [call, response](core::Result<core::PlanPage> page) {
        if (!page) {
          call->fail(page.error());
          return;
        }
        to_proto(page.value(), response);
        call->finish_ok();
      },
      input.job_deadline(options_.job_call_timeout));
}

void JobGatewayService::get_job_plan(const CallInput& input, const v1::GetJobPlanRequest& request,
                                     v1::JobPlan* response, Call::Respond respond) {
  auto call = std::make_shared<Call>(services(), call_spec("GetJobPlan", request.scope(), 0),
                                     std::move(respond));
  auto domain = call->begin(
      input.presented, [&request] { return to_get_plan(request); }, core::Operation::kRead,
      request.operator_());
  if (!domain) return;
  job_.get_job_plan_detail(
      *domain,
      [call, response](core::Result<core::PlanDetail> plan) {
        if (!plan) {
          call->fail(plan.error());
          return;
        }
        to_proto(plan.value(), response);
        call->finish_ok();
      },
      input.job_deadline(options_.job_call_timeout));
}

void JobGatewayService::execute_job_plan(const CallInput& input,
                                         const v1::ExecuteJobPlanRequest& request,
                                         v1::JobRef* response, Call::Respond respond) {
  CallSpec spec = call_spec("ExecuteJobPlan", request.scope(), 0);
  spec.request_id = request.request_id();
  spec.audit = audit_record(spec, target_count(request), {});
  spec.audit->detail = "job_plan_id=" + std::to_string(request.job_plan_id());
  auto call = std::make_shared<Call>(services(), std::move(spec), std::move(respond));
  auto validated = call->begin(
      input.presented,
      [this, &request]() -> core::Result<core::ExecutePlanRequest> {
        auto out = to_execute_plan(request, limits_);
        if (!out) return out;
        if (auto bad = check_request_id(request.request_id())) return *bad;
        return out;
      },
      core::Operation::kExecute, request.operator_(), /*submit=*/true);
  if (!validated) return;
  auto given = std::make_shared<core::ExecutePlanRequest>(std::move(*validated));
  const core::Deadline deadline = input.job_deadline(options_.job_call_timeout);
  core::PlanDetailRequest plan_request{given->scope, given->job_plan_id, given->operator_name};
  // Variables are checked against the plan before anything reaches JOB: JOB itself ignores names
  // it does not know and runs the plan with its defaults.
  plans_.get(plan_request, deadline,
             [this, call, given, deadline, response](core::Result<core::PlanDetail> plan) {
               if (!plan) {
                 call->fail(plan.error());
                 return;
               }
               auto resolved = core::resolve_plan_variables(plan.value(), given->variables);
               if (!resolved) {
                 call->fail(resolved.error());
                 return;
               }
               submit_validated<core::ExecutePlanRequest>(
                   call, given, deadline,
                   [this, resolved = std::make_shared<std::vector<core::PlanVariableValue>>(
                              std::move(resolved.value()))](
                       const core::ExecutePlanRequest& r, core::IdempotentSubmitter::SendDone done,
                       core::Deadline d) {
                     core::ExecutePlanRequest to_job = r;
                     to_job.variables = *resolved;
                     job_.execute_job_plan(to_job, std::move(done), d);
                   },
                   response);
             });
}

void JobGatewayService::operate_step(const CallInput& input, const v1::OperateStepRequest& request,
                                     v1::OperateStepResponse* response, Call::Respond respond) {
  CallSpec spec = call_spec("OperateStep", request.scope(), request.job_instance_id());
  spec.audit = audit_record(spec, 0, {});
  spec.audit->detail = "step_instance_id=" + std::to_string(request.step_instance_id()) +
                       " operation=" + step_operation_name(request.operation());
  auto call = std::make_shared<Call>(services(), std::move(spec), std::move(respond));
  auto domain = call->begin(
      input.presented, [&request] { return to_operate_step(request); }, core::Operation::kOperate,
      request.operator_());
  if (!domain) return;
  auto operate = std::make_shared<core::OperateStepRequest>(std::move(*domain));
  const core::Deadline deadline = input.job_deadline(options_.job_call_timeout);
  // The step's state first, from JOB itself: a cached snapshot could let a confirmation that
  // was just answered be confirmed twice, or refuse a retry of a step that just failed.
  core::JobStatusRequest status{operate->scope, operate->job_instance_id, true,
                                operate->operator_name};
  job_.get_job_instance_status(
      status,
      [this, call, operate, deadline, response](core::Result<core::JobSnapshot> job) {
        if (!job) {
          call->fail(job.error());
          return;
        }
        const core::StepSnapshot* step = nullptr;
        for (const auto& s : job.value().steps) {
          if (s.step_instance_id == operate->step_instance_id) step = &s;
        }
        if (step == nullptr) {
          call->finish(CallStatus(StatusCode::kNotFound,
                                  "step_instance_id: job " +
                                      std::to_string(operate->job_instance_id) + " has no step " +
                                      std::to_string(operate->step_instance_id)));
          return;
        }
        if (auto refusal = step_operation_refusal(operate->operation_code, *step)) {
          call->finish(CallStatus(StatusCode::kFailedPrecondition, *refusal));
          return;
        }
        job_.operate_step_instance(
            *operate,
            [this, call, operate, response](core::Result<core::StepRef> done) {
              if (!done) {
                call->fail(done.error());
                return;
              }
              response->set_job_instance_id(operate->job_instance_id);
              response->set_step_instance_id(operate->step_instance_id);
              // A retry or a confirmation sets the job going again, maybe after the hub saw it
              // end: its watch goes on (seqs continuing) and reads it now. The answer waits
              // until every replica knows, so a stream the caller resumes anywhere continues.
              hub_.reopen(operate->scope, operate->job_instance_id, callback_wired(),
                          [call, operate] {
                            call->finish_ok(step_operation_name(operate->operation_code));
                          });
            },
            deadline);
      },
      deadline);
}

void JobGatewayService::get_job_outputs(const CallInput& input,
                                        const v1::GetJobOutputsRequest& request,
                                        v1::JobOutputs* response, Call::Respond respond) {
  auto call = std::make_shared<Call>(
      services(), call_spec("GetJobOutputs", request.scope(), request.job_instance_id()),
      std::move(respond));
  auto query = call->begin(
      input.presented, [&request] { return to_outputs(request); }, core::Operation::kRead,
      request.operator_());
  if (!query) return;
  const core::Deadline deadline = input.job_deadline(options_.job_call_timeout);
  core::JobStatusRequest status{query->scope, query->job_instance_id, true, query->operator_name};
  job_.get_job_instance_status(
      status,
      [this, call, query = *query, deadline, response](core::Result<core::JobSnapshot> job) {
        if (!job) {
          call->fail(job.error());
          return;
        }
        auto read = std::make_shared<OutputsRead>();
        read->call = call;
        read->response = response;
        read->per_step = query.per_step;
        read->parts.job = std::move(job.value());
        auto reads = log_reads(read->parts.job, query);
        read->pending = 1 + reads.size();
        core::GlobalVarValuesRequest vars{query.scope, query.job_instance_id, query.operator_name};
        job_.get_job_instance_global_var_value(
            vars,
            [read](core::Result<core::JobGlobalVars> result) {
              {
                std::lock_guard<std::mutex> lock(read->mu);
                if (result) {
                  read->parts.vars = std::move(result.value());
                } else if (!read->error) {
                  read->error = result.error();
                }
              }
              read->done_one();
            },
            deadline);
        for (core::IpLogsRequest& r : reads) {
          const std::int64_t step = r.step_instance_id;
          job_.batch_get_job_instance_ip_log(
              r,
              [read, step](core::Result<core::IpLogs> logs) {
                {
                  std::lock_guard<std::mutex> lock(read->mu);
                  if (logs) {
                    read->parts.logs[step] = std::move(logs.value().script_logs);
                  } else if (!read->error) {
                    read->error = logs.error();
                  }
                }
                read->done_one();
              },
              deadline);
        }
      },
      deadline);
}

// The gRPC face.

grpc::ServerUnaryReactor* JobGatewayService::ListJobPlans(grpc::CallbackServerContext* context,
                                                          const v1::ListJobPlansRequest* request,
                                                          v1::ListJobPlansResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  list_job_plans(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetJobPlan(grpc::CallbackServerContext* context,
                                                        const v1::GetJobPlanRequest* request,
                                                        v1::JobPlan* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  get_job_plan(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::ExecuteJobPlan(
    grpc::CallbackServerContext* context, const v1::ExecuteJobPlanRequest* request,
    v1::JobRef* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  execute_job_plan(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::OperateStep(grpc::CallbackServerContext* context,
                                                         const v1::OperateStepRequest* request,
                                                         v1::OperateStepResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  operate_step(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

grpc::ServerUnaryReactor* JobGatewayService::GetJobOutputs(grpc::CallbackServerContext* context,
                                                           const v1::GetJobOutputsRequest* request,
                                                           v1::JobOutputs* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  get_job_outputs(input_of(*context), *request, response, unary_respond(context, reactor));
  return reactor;
}

}  // namespace jobgw::server
