#pragma once

#include <chrono>
#include <functional>
#include <utility>

#include "core/base/result.h"
#include "core/job/ip_logs.h"
#include "core/job/job_client.h"
#include "core/job/job_requests.h"

namespace jobgw::core {

// Reads the logs of some hosts of one step: each host's whole log so far (JOB has no "bytes
// since" read). The production one is JobClient's batch_get_job_instance_ip_log.
class LogSource {
 public:
  virtual ~LogSource() = default;
  virtual void read_logs(const IpLogsRequest& request,
                         std::function<void(Result<IpLogs>)> done) = 0;
};

class JobClientLogSource : public LogSource {
 public:
  // `timeout` bounds each read (0: the client's own per-attempt deadlines only), so a read that
  // hangs does not hold the step's next read back for longer than that.
  explicit JobClientLogSource(JobClient& client,
                              std::chrono::milliseconds timeout = std::chrono::milliseconds(0))
      : client_(client), timeout_(timeout) {}

  void read_logs(const IpLogsRequest& request, std::function<void(Result<IpLogs>)> done) override {
    Deadline deadline;
    if (timeout_.count() > 0) deadline = std::chrono::steady_clock::now() + timeout_;
    client_.batch_get_job_instance_ip_log(request, std::move(done), deadline);
  }

 private:
  JobClient& client_;
  const std::chrono::milliseconds timeout_;
};

}  // namespace jobgw::core
