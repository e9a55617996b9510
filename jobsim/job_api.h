#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "jobsim/executor.h"
#include "jobsim/inventory.h"
#include "jobsim/job_store.h"
#include "jobsim/stats.h"

namespace jobsim {

// The six JOB endpoints of docs/JOB_API.md, independent of transport: parameters come in as a
// JSON object (the POST body, or the query string with every value a string) and `data` goes
// out. Business errors are thrown as ApiError.
class JobApi {
 public:
  JobApi(const Inventory& inventory, JobStore& store, Executor& executor)
      : inventory_(inventory), store_(store), executor_(executor) {}

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

 private:
  std::shared_ptr<Job> find_job(const nlohmann::json& p, const Scope& scope);
  // Resolves the request's target_server into the job's hosts, each waiting to start.
  void add_target_hosts(Job& job, const nlohmann::json& p, const Scope& scope) const;

  const Inventory& inventory_;
  JobStore& store_;
  Executor& executor_;
};

}  // namespace jobsim
