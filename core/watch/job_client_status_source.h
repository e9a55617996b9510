#pragma once

#include "core/job/job_client.h"
#include "core/watch/watch_hub.h"

namespace jobgw::core {

// Feeds the WatchHub from JOB: one get_job_instance_status with every host's result, and the
// job list (get_job_instance_list) for the hub's sweeps.
class JobClientStatusSource : public StatusSource {
 public:
  explicit JobClientStatusSource(JobClient& client) : client_(client) {}

  void read_status(const Scope& scope, std::int64_t job_instance_id,
                   std::function<void(Result<JobSnapshot>)> done) override {
    JobStatusRequest request;
    request.scope = scope;
    request.job_instance_id = job_instance_id;
    request.return_ip_result = true;
    client_.get_job_instance_status(request, std::move(done));
  }

  bool can_list() const override { return true; }
  void list_jobs(const JobListRequest& request,
                 std::function<void(Result<JobInstancePage>)> done) override {
    client_.get_job_instance_list(request, std::move(done));
  }

 private:
  JobClient& client_;
};

}  // namespace jobgw::core
