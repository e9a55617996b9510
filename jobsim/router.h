#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "jobsim/auth.h"
#include "jobsim/executor.h"
#include "jobsim/faults.h"
#include "jobsim/inventory.h"
#include "jobsim/job_api.h"
#include "jobsim/job_store.h"
#include "jobsim/stats.h"

namespace jobsim {

struct HttpIn {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

struct HttpOut {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t delay_ms = 0;  // answer after this long (latency fault)
  bool reset = false;    // drop the connection with a TCP reset instead of answering
};

// Maps an HTTP request to the JOB API (apigw and esb paths), the /jobsim admin endpoints and
// fault injection. Never throws: every failure becomes an HTTP answer.
class Router {
 public:
  Router(JobApi& api, Stats& stats, FaultInjector& faults, AuthConfig auth, JobStore& store,
         Executor& executor, const Inventory& inventory, std::string executor_name)
      : api_(api),
        stats_(stats),
        faults_(faults),
        auth_(std::move(auth)),
        store_(store),
        executor_(executor),
        inventory_(inventory),
        executor_name_(std::move(executor_name)) {}

  HttpOut handle(const HttpIn& in);

 private:
  HttpOut handle_api(const HttpIn& in, const std::string& name, const std::string& mode,
                     const std::string& query);
  HttpOut call_api(const HttpIn& in, const std::string& name, const std::string& mode,
                   const std::string& query, const std::string& request_id);
  HttpOut handle_admin(const HttpIn& in, const std::string& path, const std::string& query);

  JobApi& api_;
  Stats& stats_;
  FaultInjector& faults_;
  AuthConfig auth_;
  JobStore& store_;
  Executor& executor_;
  const Inventory& inventory_;
  std::string executor_name_;
};

}  // namespace jobsim
