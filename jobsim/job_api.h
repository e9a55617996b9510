#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "jobsim/executor.h"
#include "jobsim/inventory.h"
#include "jobsim/job_store.h"
#include "jobsim/plan.h"
#include "jobsim/plan_runner.h"
#include "jobsim/stats.h"

namespace jobsim {

// The JOB endpoints of docs/JOB_API.md and the job plan ones (jobsim/README.md "Job plans"),
// independent of transport: parameters come in as a
// JSON object (the POST body, or the query string with every value a string) and `data` goes
// out. Business errors are thrown as ApiError.
class JobApi {
 public:
  JobApi(const Inventory& inventory, const PlanCatalog& plans, JobStore& store, Executor& executor,
         PlanRunner& plan_runner)
      : inventory_(inventory),
        plans_(plans),
        store_(store),
        executor_(executor),
        plan_runner_(plan_runner) {}

  static bool is_endpoint(const std::string& name);
  static bool is_get(const std::string& name);  // GET with a query string, else POST with JSON

  nlohmann::json call(const std::string& name, const nlohmann::json& params,
                      const std::string& username);

  nlohmann::json fast_execute_script(const nlohmann::json& p, const std::string& username);
  nlohmann::json fast_transfer_file(const nlohmann::json& p, const std::string& username);
  nlohmann::json get_job_instance_status(const nlohmann::json& p);
  nlohmann::json batch_get_job_instance_ip_log(const nlohmann::json& p);
  nlohmann::json get_job_instance_ip_log(const nlohmann::json& p);
  nlohmann::json operate_job_instance(const nlohmann::json& p);
  // Job plans (plan_api.cc).
  nlohmann::json execute_job_plan(const nlohmann::json& p, const std::string& username);
  nlohmann::json get_job_plan_list(const nlohmann::json& p);
  nlohmann::json get_job_plan_detail(const nlohmann::json& p);
  nlohmann::json get_job_instance_global_var_value(const nlohmann::json& p);
  nlohmann::json get_job_instance_list(const nlohmann::json& p);
  nlohmann::json operate_step_instance(const nlohmann::json& p, const std::string& username);

 private:
  std::shared_ptr<Job> find_job(const nlohmann::json& p, const Scope& scope);
  // The job itself (single-step jobs) or the plan step with this id; 1244007 when none.
  static std::shared_ptr<Job> find_step(const std::shared_ptr<Job>& job, int64_t step_id);
  // A plan step's hosts: {"variable": name} of a host-list variable, or a target_server.
  std::vector<Host> plan_hosts(const nlohmann::json& server,
                               const std::map<std::string, nlohmann::json>& host_vars,
                               const Scope& scope, const std::string& field) const;
  // Resolves the request's target_server into the job's hosts, each waiting to start.
  void add_target_hosts(Job& job, const nlohmann::json& p, const Scope& scope) const;

  const Inventory& inventory_;
  const PlanCatalog& plans_;
  JobStore& store_;
  Executor& executor_;
  PlanRunner& plan_runner_;
};

}  // namespace jobsim
