#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "server/grpc_call.h"
#include "server/ip_log_hosts.h"
#include "server/ip_log_pages.h"
#include "server/job_gateway_service.h"
#include "server/proto_mapping.h"
#include "server/service_calls.h"

// GetIpLogs: resolve the step and hosts from the job's status when the caller left them out,
// ask JOB for one page of hosts, and look named hosts JOB answered nothing for up in the step.
namespace jobgw::server {

std::optional<CallStatus> complete_ip_logs_request(const core::JobSnapshot& job, IpLogsPlan* plan) {
  core::IpLogsRequest& request = plan->request;
  const core::StepSnapshot* step = nullptr;
  if (request.step_instance_id == 0) {
    if (job.steps.empty()) {
      return CallStatus(
          StatusCode::kNotFound,
          "step_instance_id: job " + std::to_string(request.job_instance_id) + " has no steps yet");
    }
    step = &job.steps.front();
    request.step_instance_id = step->step_instance_id;
  } else {
    auto it = std::find_if(job.steps.begin(), job.steps.end(), [&](const core::StepSnapshot& s) {
      return s.step_instance_id == request.step_instance_id;
    });
    if (it == job.steps.end()) {
      return CallStatus(StatusCode::kNotFound,
                        "step_instance_id: step " + std::to_string(request.step_instance_id) +
                            " is not a step of job " + std::to_string(request.job_instance_id));
    }
    step = &*it;
  }
  plan->step_type = step->type;
  plan->step = *step;
  if (!request.host_ids.empty() || !request.hosts.empty()) return std::nullopt;

  // JOB ignores ip_list whenever host_id_list is present, so mixing the two would silently lose
  // the hosts named by IP: use ids only when every host has one.
  const bool all_have_ids =
      std::all_of(step->hosts.begin(), step->hosts.end(),
                  [](const core::HostResult& h) { return h.host.host_id > 0; });
  for (const auto& result : step->hosts) {
    if (all_have_ids) {
      request.host_ids.push_back(result.host.host_id);
    } else if (core::ip_family(result.host.ip) == core::IpFamily::kV4) {
      core::Host host;
      host.cloud_id = result.host.cloud_id;
      host.ip = result.host.ip;
      request.hosts.push_back(std::move(host));
    } else if (result.host.host_id > 0) {
      request.host_ids.push_back(result.host.host_id);
    }
  }
  return std::nullopt;
}

std::vector<core::Host> ip_logs_hosts(const core::IpLogsRequest& request) {
  std::vector<core::Host> hosts;
  hosts.reserve(request.host_ids.size() + request.hosts.size());
  for (std::int64_t id : request.host_ids) {
    core::Host host;
    host.host_id = id;
    hosts.push_back(std::move(host));
  }
  hosts.insert(hosts.end(), request.hosts.begin(), request.hosts.end());
  return hosts;
}

void JobGatewayService::get_ip_logs(const CallInput& input, const v1::GetIpLogsRequest& request,
                                    v1::GetIpLogsResponse* response, Call::Respond respond) {
  auto call = std::make_shared<Call>(
      services(), call_spec("GetIpLogs", request.scope(), request.job_instance_id()),
      std::move(respond));
  auto validated = call->begin(
      input.presented, [&request] { return to_ip_logs(request); }, core::Operation::kRead,
      request.operator_());
  if (!validated) return;
  auto page_bytes = log_page_bytes(request, options_.log_page_max_bytes);
  if (!page_bytes) {
    call->fail(page_bytes.error());
    return;
  }
  IpLogsPlan plan;
  plan.request = std::move(*validated);
  plan.page_token = request.page_token();
  plan.page_bytes = page_bytes.value();
  // One deadline for both JOB calls: the caller waits for the pair, not for each.
  const core::Deadline deadline = input.job_deadline(options_.job_call_timeout);
  plan.named_hosts = !plan.request.host_ids.empty() || !plan.request.hosts.empty();
  if (plan.request.step_instance_id != 0 && plan.named_hosts) {
    fetch_ip_logs(call, std::move(plan), deadline, response);
    return;
  }
  // The step's host list and the job's first step never change once JOB created the job, so a
  // cached snapshot is as good as a fresh one here; the freshness bound just keeps it simple.
  if (auto cached = hub_.cached(plan.request.scope, plan.request.job_instance_id,
                                options_.status_fresh_for)) {
    plan_ip_logs(call, std::move(plan), *cached, deadline, response);
    return;
  }
  core::JobStatusRequest status;
  status.scope = plan.request.scope;
  status.job_instance_id = plan.request.job_instance_id;
  status.return_ip_result = true;
  status.operator_name = plan.request.operator_name;
  auto shared_plan = std::make_shared<IpLogsPlan>(std::move(plan));
  job_.get_job_instance_status(
      status,
      [this, call, shared_plan, deadline, response](core::Result<core::JobSnapshot> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        plan_ip_logs(call, std::move(*shared_plan), result.value(), deadline, response);
      },
      deadline);
}

void JobGatewayService::plan_ip_logs(const std::shared_ptr<Call>& call, IpLogsPlan plan,
                                     const core::JobSnapshot& job, core::Deadline deadline,
                                     v1::GetIpLogsResponse* response) {
  if (auto failed = complete_ip_logs_request(job, &plan)) {
    call->finish(*failed, failed->message);
    return;
  }
  fetch_ip_logs(call, std::move(plan), deadline, response);
}

// One page: the host list is fixed by now, so the token can be checked against it, and JOB is
// asked only for the hosts this page may hold.
void JobGatewayService::fetch_ip_logs(const std::shared_ptr<Call>& call, IpLogsPlan plan,
                                      core::Deadline deadline, v1::GetIpLogsResponse* response) {
  auto pager = core::LogPager::start(plan.request.scope, plan.request.job_instance_id,
                                     plan.request.step_instance_id, ip_logs_hosts(plan.request),
                                     plan.page_token, {options_.log_page_hosts, plan.page_bytes});
  if (!pager) {
    call->fail(pager.error());
    return;
  }
  if (pager->chunk().empty()) {
    // A step without hosts (yet) has no logs; asking JOB would only earn "host list empty".
    response->set_log_type(plan.step_type == core::kStepFile ? v1::LOG_TYPE_FILE
                                                             : v1::LOG_TYPE_SCRIPT);
    call->finish_ok();
    return;
  }
  // The plan keeps scope, job, step and operator for confirm_hosts; its host lists are done.
  core::IpLogsRequest page_request = plan.request;
  page_request.host_ids.clear();
  page_request.hosts = pager->chunk();
  plan.request.host_ids.clear();
  plan.request.hosts.clear();
  auto shared_pager = std::make_shared<core::LogPager>(std::move(pager.value()));
  auto shared_plan = std::make_shared<IpLogsPlan>(std::move(plan));
  job_.batch_get_job_instance_ip_log(
      page_request,
      [this, call, response, shared_pager, shared_plan,
       deadline](core::Result<core::IpLogs> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        // JOB answers nothing for a host its step does not have; a named host without a log
        // is looked up in the step's status (usually every host has one: no status read).
        NamedHosts missing;
        if (shared_plan->named_hosts) missing = without_logs(shared_pager->chunk(), *result);
        core::LogPage page = shared_pager->fill(std::move(result.value()), proto_log_page_sizer());
        to_proto(page.logs, response);
        response->set_next_page_token(page.next_page_token);
        spdlog::debug("rpc=GetIpLogs job_instance_id={} hosts={}..{} of {} asked={} last={}",
                      call->spec().job_instance_id, shared_pager->offset(),
                      shared_pager->offset() + page.hosts_covered, shared_pager->total_hosts(),
                      shared_pager->chunk().size(), page.next_page_token.empty());
        if (missing.empty()) {
          call->finish_ok();
          return;
        }
        confirm_hosts(call, *shared_plan, std::move(missing), deadline);
      },
      deadline);
}

void JobGatewayService::confirm_hosts(const std::shared_ptr<Call>& call, const IpLogsPlan& plan,
                                      NamedHosts missing, core::Deadline deadline) {
  const core::IpLogsRequest& request = plan.request;
  auto judge = [call, missing = std::move(missing), step_id = request.step_instance_id,
                job_id = request.job_instance_id](const core::StepSnapshot* step) {
    const NamedHosts unknown = step != nullptr ? not_in_step(missing, *step) : NamedHosts{};
    if (unknown.empty()) {
      call->finish_ok();
      return;
    }
    const std::string why = not_hosts_message(unknown, step_id, job_id);
    call->finish(CallStatus(StatusCode::kNotFound, why), why);
  };
  auto step_of = [step_id = request.step_instance_id](const core::JobSnapshot& job) {
    auto it = std::find_if(job.steps.begin(), job.steps.end(), [&](const core::StepSnapshot& s) {
      return s.step_instance_id == step_id;
    });
    return it == job.steps.end() ? nullptr : &*it;
  };
  if (plan.step) {
    judge(&*plan.step);
    return;
  }
  if (auto cached =
          hub_.cached(request.scope, request.job_instance_id, options_.status_fresh_for)) {
    judge(step_of(*cached));
    return;
  }
  core::JobStatusRequest status;
  status.scope = request.scope;
  status.job_instance_id = request.job_instance_id;
  status.return_ip_result = true;
  status.operator_name = request.operator_name;
  job_.get_job_instance_status(
      status,
      [call, judge, step_of](core::Result<core::JobSnapshot> result) {
        if (!result) {
          call->fail(result.error());
          return;
        }
        judge(step_of(result.value()));
      },
      deadline);
}

}  // namespace jobgw::server
